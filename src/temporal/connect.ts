/**
 * Connections to Temporal from the typed config: plaintext for the local dev server, TLS or mTLS for a
 * self-hosted cluster, an API key (which implies TLS) for Temporal Cloud.
 */
import { readFile } from 'node:fs/promises';
import type { Secret, TemporalConfig } from '../config/index.js';

/** Turns a configured secret into its value (environment or Key Vault). */
export type SecretResolver = (secret: Secret) => Promise<string>;

export interface TemporalConnectionSettings {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/** What both the client (`Connection.connect`) and the worker (`NativeConnection.connect`) take. */
export async function temporalConnectionSettings(
  config: TemporalConfig,
  resolveSecret: SecretResolver,
): Promise<TemporalConnectionSettings> {
  const settings: TemporalConnectionSettings = { address: config.address };
  if (config.tls || config.apiKey) {
    const tls: NonNullable<TemporalConnectionSettings['tls']> = {};
    if (config.tls?.serverName) tls.serverNameOverride = config.tls.serverName;
    if (config.tls?.caFile) tls.serverRootCACertificate = await readFile(config.tls.caFile);
    if (config.tls?.certFile && config.tls.keyFile) {
      tls.clientCertPair = { crt: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) };
    }
    settings.tls = tls;
  }
  if (config.apiKey) settings.apiKey = await resolveSecret(config.apiKey);
  return settings;
}
