/**
 * The one secret provider: turns a configured {@link Secret} into its value at connect time. Values from the
 * environment are already in the config; Key Vault references are read with `DefaultAzureCredential`
 * (managed identity in production) and cached for the life of the process. A failure names the vault and
 * secret and what to check, never a value.
 */
import type { KeyVaultSecretRef, Secret } from './types.js';

/** Raised when a secret cannot be read; not retried by the pipeline (an operator must fix access). */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
  constructor(
    readonly vaultUrl: string,
    readonly secretName: string,
    reason: string,
  ) {
    super(
      `Could not read secret "${secretName}" from Key Vault ${vaultUrl}: ${reason}. Check that the identity running Tidemark has the "Key Vault Secrets User" role (or a get-secret access policy) on the vault and that the secret exists and is enabled.`,
    );
  }
}

const cache = new Map<string, Promise<string>>();

export function resolveSecret(secret: Secret): Promise<string> {
  if (secret.kind === 'value') return Promise.resolve(secret.value);
  const key = `${secret.vaultUrl}|${secret.secretName}|${secret.version ?? ''}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = readKeyVaultSecret(secret);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

async function readKeyVaultSecret(ref: KeyVaultSecretRef): Promise<string> {
  const [{ SecretClient }, { DefaultAzureCredential }] = await Promise.all([
    import('@azure/keyvault-secrets'),
    import('@azure/identity'),
  ]);
  try {
    const client = new SecretClient(ref.vaultUrl, new DefaultAzureCredential());
    const secret = await client.getSecret(ref.secretName, ref.version ? { version: ref.version } : {});
    if (secret.value === undefined) throw new Error('the secret has no value');
    return secret.value;
  } catch (err) {
    throw new SecretUnavailableError(
      ref.vaultUrl,
      ref.secretName,
      (err as Error).message.split('\n')[0] ?? 'unknown error',
    );
  }
}
