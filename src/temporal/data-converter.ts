/**
 * The data converter Tidemark's client and workers share: with payload keys configured, every payload is
 * sealed by the AES-GCM codec, and failures' messages and stack traces travel inside an encoded attribute
 * (failure-converter.ts), so the Temporal server stores neither in plaintext. Client and workers must agree: a
 * worker without the keys cannot read what a client with them sent, and fails the task with a message naming
 * the key id.
 */
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type PayloadKey } from './payload-codec.js';

/** For `Worker.create`, `bundleWorkflowCode` and clients: the module exporting `failureConverter`. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

export function tidemarkDataConverter(keys: readonly PayloadKey[] | undefined): DataConverter {
  return {
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(keys && keys.length > 0 ? { payloadCodecs: [new AesGcmPayloadCodec(keys)] } : {}),
  };
}
