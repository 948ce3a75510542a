/**
 * One interface for secrets: a config {@link Secret} is either a value interpolated from the environment, or a
 * reference to an Azure Key Vault secret read at connect time. Callers never see which; tests pass a fake
 * provider of the same type. Secret values are never logged or put in errors.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { Secret } from './types.js';

/** Resolves a secret to its value. */
export interface SecretProvider {
  resolve(secret: Secret): Promise<string>;
}

/** A Key Vault client as far as this module uses it (so tests can fake it). */
export interface KeyVaultReader {
  getSecret(name: string, options?: { version?: string }): Promise<{ value?: string | undefined }>;
}

/** Thrown when a secret cannot be read; names the vault and secret, never a value. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`Secret ${where} could not be read: ${reason}.`);
  }
}

/**
 * The production provider: environment values pass through; Key Vault references are read with
 * `DefaultAzureCredential` (managed identity in Azure), one client per vault, values cached for `cacheMs`.
 */
export function createSecretProvider(
  options: {
    credential?: TokenCredential;
    /** For tests: builds the vault client. */
    vaultClient?: (vaultUrl: string) => KeyVaultReader;
    cacheMs?: number;
  } = {},
): SecretProvider {
  const clients = new Map<string, KeyVaultReader>();
  const cache = new Map<string, { value: string; at: number }>();
  const cacheMs = options.cacheMs ?? 5 * 60_000;
  let credential = options.credential;
  const clientFor = (vaultUrl: string): KeyVaultReader => {
    let c = clients.get(vaultUrl);
    if (!c) {
      if (options.vaultClient) c = options.vaultClient(vaultUrl);
      else {
        credential ??= new DefaultAzureCredential();
        c = new SecretClient(vaultUrl, credential);
      }
      clients.set(vaultUrl, c);
    }
    return c;
  };
  return {
    async resolve(secret) {
      if (secret.kind === 'value') return secret.value;
      const where = `'${secret.secretName}' in ${secret.vaultUrl}`;
      const key = `${secret.vaultUrl}|${secret.secretName}|${secret.version ?? ''}`;
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < cacheMs) return hit.value;
      let got: { value?: string | undefined };
      try {
        got = await clientFor(secret.vaultUrl).getSecret(
          secret.secretName,
          secret.version ? { version: secret.version } : undefined,
        );
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        throw new SecretUnavailableError(
          where,
          status === 403
            ? 'access denied: grant the worker identity "get" on secrets (Key Vault Secrets User)'
            : status === 404
              ? 'no such secret or version'
              : `Key Vault request failed${status ? ` (HTTP ${status})` : ''}`,
        );
      }
      if (got.value === undefined || got.value === '') throw new SecretUnavailableError(where, 'the secret is empty');
      cache.set(key, { value: got.value, at: Date.now() });
      return got.value;
    },
  };
}
