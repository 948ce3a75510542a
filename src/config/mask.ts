/**
 * Secret masking, and the printable form of a resolved config.
 *
 * Masking walks the whole config and replaces every {@link Secret} value, whatever field holds it, so a
 * secret field added later is masked without touching this file. Connection strings keep their
 * non-secret parts (endpoint, account name) so an operator can see where data goes; every other part
 * (AccountKey, SharedAccessSignature, anything unknown) is masked: an allow-list, not a deny-list.
 */
import { Document, isScalar, isSeq, visit } from 'yaml';
import { maskSecretsInText } from '../util/logger.js';
import { isRecord } from './reader.js';
import { type Secret, type TidemarkConfig } from './types.js';

/** What replaces a secret in masked output (the same marker the logger uses). */
export const MASK = '[redacted]';

const CONNECTION_STRING_PUBLIC_KEYS = new Set(
  [
    'DefaultEndpointsProtocol',
    'AccountName',
    'BlobEndpoint',
    'QueueEndpoint',
    'TableEndpoint',
    'FileEndpoint',
    'EndpointSuffix',
    'UseDevelopmentStorage',
    'DevelopmentStorageProxyUri',
  ].map((k) => k.toLowerCase()),
);

/** A connection string with every part but the endpoint and account name masked. */
export function maskConnectionString(text: string): string {
  return text
    .split(';')
    .map((part) => {
      const eq = part.indexOf('=');
      if (part.trim() === '') return part;
      if (eq <= 0) return MASK;
      const key = part.slice(0, eq);
      return CONNECTION_STRING_PUBLIC_KEYS.has(key.trim().toLowerCase()) ? maskSecretsInText(part) : `${key}=${MASK}`;
    })
    .join(';');
}

function isSecretValue(value: unknown): value is Extract<Secret, { kind: 'value' }> {
  return isRecord(value) && value.kind === 'value' && typeof value.value === 'string' && Array.isArray(value.fromEnv);
}

function isKeyVaultRef(value: unknown): value is Extract<Secret, { kind: 'keyVault' }> {
  return isRecord(value) && value.kind === 'keyVault' && typeof value.secretName === 'string';
}

function isDuration(value: unknown): value is { ms: number; text: string } {
  return (
    isRecord(value) && Object.keys(value).length === 2 && typeof value.ms === 'number' && typeof value.text === 'string'
  );
}

function mapTree(
  node: unknown,
  key: string | undefined,
  leaf: (value: unknown, key: string | undefined) => unknown,
): unknown {
  const replaced = leaf(node, key);
  if (replaced !== node) return replaced;
  if (Array.isArray(node)) return node.map((item) => mapTree(item, key, leaf));
  if (isRecord(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mapTree(v, k, leaf)]));
  }
  return node;
}

/**
 * The config with every secret masked: secret values are replaced by {@link MASK} (connection strings
 * keep their endpoint and account name), and any credential left in free text is masked too. Key Vault
 * references are kept: they name a secret, they are not one.
 */
export function maskSecrets(config: TidemarkConfig): TidemarkConfig {
  return mapTree(config, undefined, (value, key) => {
    if (isSecretValue(value)) {
      const masked = key === 'connectionString' ? maskConnectionString(value.value) : MASK;
      return { ...value, value: masked };
    }
    if (typeof value === 'string') return maskSecretsInText(value);
    return value;
  }) as TidemarkConfig;
}

/**
 * The resolved config as YAML for a terminal, secrets masked: durations as text, secrets as
 * `[redacted] (from ${NAME})`, Key Vault references as written.
 */
export function renderConfig(config: TidemarkConfig): string {
  const display = mapTree(maskSecrets(config), undefined, (value) => {
    if (isDuration(value)) return value.text;
    if (isSecretValue(value)) {
      const from = value.fromEnv.length > 0 ? ` (from ${value.fromEnv.map((n) => `\${${n}}`).join(', ')})` : '';
      return `${value.value}${from}`;
    }
    if (isKeyVaultRef(value)) {
      const { kind: _kind, ...ref } = value;
      return { keyVault: ref };
    }
    return value;
  });
  const doc = new Document(display);
  // Short lists of names (key columns, PHI columns) read best on one line, as the example writes them.
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
