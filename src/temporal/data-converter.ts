/**
 * The data converter Tidemark's client and workers share: with payload keys configured, every payload is
 * sealed by the AES-GCM codec, and failures' messages and stack traces travel inside an encoded attribute
 * (failure-converter.ts), so the Temporal server stores neither in plaintext. Client and workers must agree: a
 * worker without the keys cannot read what a client with them sent, and fails the task with a message naming
 * the key id.
 */
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { TemporalConfig } from '../config/index.js';
import type { SecretResolver } from './connect.js';
import { AesGcmPayloadCodec, PayloadKeyError, parsePayloadKeys, type PayloadKey } from './payload-codec.js';

/** For `Worker.create`, `bundleWorkflowCode` and clients: the module exporting `failureConverter`. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

export function tidemarkDataConverter(keys: readonly PayloadKey[] | undefined): DataConverter {
  return {
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(keys && keys.length > 0 ? { payloadCodecs: [new AesGcmPayloadCodec(keys)] } : {}),
  };
}

/** The configured payload keys (resolved from the environment or Key Vault), or undefined when none are. */
export async function configuredPayloadKeys(
  config: TemporalConfig,
  resolveSecret: SecretResolver,
): Promise<PayloadKey[] | undefined> {
  if (!config.payloadKeys) return undefined;
  try {
    return parsePayloadKeys(await resolveSecret(config.payloadKeys));
  } catch (err) {
    if (err instanceof PayloadKeyError) throw new PayloadKeyError(`temporal.payloadKeys: ${err.message}`);
    throw err;
  }
}

/** The data converter for a configured client or worker. */
export async function configuredDataConverter(
  config: TemporalConfig,
  resolveSecret: SecretResolver,
): Promise<DataConverter> {
  return tidemarkDataConverter(await configuredPayloadKeys(config, resolveSecret));
}
