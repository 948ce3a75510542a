/**
 * `resolveSecret`: the process-wide secret provider (environment values, or Key Vault references read with
 * DefaultAzureCredential and cached). One implementation: it delegates to src/source/secrets.ts.
 */
import { createSecretProvider } from './secret-provider.js';
import type { Secret } from './types.js';

const provider = createSecretProvider();

export function resolveSecret(secret: Secret): Promise<string> {
  return provider.resolve(secret);
}
