/**
 * Recording operator actions in the audit ledger (src/lake/operator-audit.ts says where and why): who ran the
 * verb, the config it ran with (a changed config is recorded first), a `requested` entry before the verb does
 * anything and an `outcome` entry after. `runOperatorVerb` calls this for the verbs that change something.
 *
 * Fail closed: if the `requested` entry cannot be written, the action is not performed (exit 1, the storage
 * problem named). An outcome that cannot be written is reported on stderr; the action has happened by then.
 */
import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { TokenCredential } from '@azure/identity';
import { maskSecrets, type TidemarkConfig } from '../../config/index.js';
import { resolveSecret } from '../../config/secrets.js';
import { tableId } from '../../config/tables.js';
import { AzureBlobStore } from '../../lake/blob-store.js';
import { BlobStoreError, ContainerNotFoundError } from '../../lake/errors.js';
import {
  changedSections,
  lastRecordedConfig,
  newOperatorActionId,
  OPERATOR_AUDIT_FORMAT,
  operatorAuditRoot,
  writeOperatorAuditEntry,
  type AuditedConfig,
  type AuditValue,
  type OperatorAction,
  type OperatorAuditEntry,
  type OperatorIdentity,
} from '../../lake/operator-audit.js';
import { maskSecretsInText } from '../../util/logger.js';
import { EXIT } from '../command.js';

/** The ledger of a config: the data container's store and the lake prefix. */
export interface OperatorLedger {
  readonly store: AzureBlobStore;
  readonly prefix: string;
  readonly who: OperatorIdentity;
}

/** The storage scope whose token names the Entra principal the lake is written as. */
const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** Opens the ledger of `config` and finds out who is acting. */
export async function openOperatorLedger(config: TidemarkConfig): Promise<OperatorLedger> {
  const sink = config.sink;
  const scope = sink.encryptionScope ? { encryptionScope: sink.encryptionScope } : {};
  if (sink.auth === 'connectionString') {
    const store = new AzureBlobStore({
      container: sink.container,
      connectionString: await resolveSecret(sink.connectionString),
      ...scope,
    });
    return { store, prefix: sink.prefix, who: { ...osIdentity(), storageAuth: 'connectionString' } };
  }
  const { DefaultAzureCredential } = await import('@azure/identity');
  const credential = new DefaultAzureCredential();
  const store = new AzureBlobStore({ container: sink.container, accountUrl: sink.accountUrl, credential, ...scope });
  const entra = await entraPrincipal(credential);
  return {
    store,
    prefix: sink.prefix,
    who: { ...osIdentity(), storageAuth: 'defaultAzureCredential', ...(entra ? { entra } : {}) },
  };
}

function osIdentity(): { osUser: string; host: string } {
  let osUser: string;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = process.env.USER ?? process.env.USERNAME ?? 'unknown'; // no passwd entry (some containers)
  }
  return { osUser, host: hostname() };
}

/**
 * The principal the credential signs in as, from the claims of its storage token (the token itself is never
 * kept). Undefined when no token can be had: the write that follows then fails and says why.
 */
async function entraPrincipal(credential: TokenCredential): Promise<OperatorIdentity['entra']> {
  try {
    const token = await credential.getToken(STORAGE_SCOPE);
    return token ? principalOfToken(token.token) : undefined;
  } catch {
    return undefined;
  }
}

/** The identifying claims of a JWT access token (not verified: it is our own, fresh from Entra ID). */
export function principalOfToken(jwt: string): OperatorIdentity['entra'] {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const text = (key: string): string | undefined => (typeof claims[key] === 'string' ? claims[key] : undefined);
  const objectId = text('oid');
  const tenantId = text('tid');
  const name = text('upn') ?? text('preferred_username') ?? text('unique_name');
  const appId = text('appid') ?? text('azp');
  const principal = {
    ...(objectId ? { objectId } : {}),
    ...(tenantId ? { tenantId } : {}),
    ...(name ? { name } : {}),
    ...(appId ? { appId } : {}),
  };
  return Object.keys(principal).length > 0 ? principal : undefined;
}

/** JSON with keys sorted, so equal configs digest equally whatever order the file wrote them in. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Digests of the config's sections and tables. Secrets are masked first, so a digest never depends on (and can
 * never be used to guess) a password or key; a rotated secret is not a config change.
 */
export function auditedConfig(config: TidemarkConfig, file: string): AuditedConfig {
  const masked = maskSecrets(config) as unknown as Record<string, unknown>;
  const sections: Record<string, string> = {};
  for (const [name, value] of Object.entries(masked)) {
    if (name === 'tables' || value === undefined) continue;
    sections[name] = sha256(stableJson(value));
  }
  const maskedTables = (masked.tables ?? []) as unknown[];
  config.tables.forEach((table, i) => {
    sections[`tables/${tableId(config, table)}`] = sha256(stableJson(maskedTables[i]));
  });
  return { file, digest: sha256(stableJson(sections)), sections };
}

/** What one audited action needs to know. */
export interface AuditedActionInput {
  readonly config: TidemarkConfig;
  readonly configFile: string;
  readonly action: OperatorAction;
  readonly tables: readonly string[];
  readonly what: Readonly<Record<string, AuditValue>>;
}

/** An action whose request is recorded; `finish` records its outcome. */
export interface AuditedAction {
  finish(exitCode: number, error?: unknown): Promise<void>;
}

/**
 * Records the request of an action (and a config change before it). Throws a `BlobStoreError` saying the action
 * was not performed when the ledger cannot be written.
 */
export async function beginOperatorAction(
  input: AuditedActionInput,
  stderr: NodeJS.WritableStream,
): Promise<AuditedAction> {
  const where = (l: OperatorLedger | undefined) =>
    l ? `${l.store.location}/${operatorAuditRoot(l.prefix)}` : `container "${input.config.sink.container}"`;
  let open: OperatorLedger | undefined;
  let requested: OperatorAuditEntry;
  try {
    open ??= await openOperatorLedger(input.config);
    const config = auditedConfig(input.config, input.configFile);
    const previous = await withContainer(open, () => lastRecordedConfig(open!.store, open!.prefix));
    const base = { format: OPERATOR_AUDIT_FORMAT, who: open.who, tables: input.tables } as const;
    if (previous !== undefined && previous.digest !== config.digest) {
      const at = new Date().toISOString();
      await writeOperatorAuditEntry(open.store, open.prefix, {
        ...base,
        id: newOperatorActionId(),
        action: 'config-change',
        phase: 'observed',
        at,
        requestedAt: at,
        what: {},
        config,
        changed: changedSections(previous, config),
      });
    }
    const at = new Date().toISOString();
    requested = {
      ...base,
      id: newOperatorActionId(),
      action: input.action,
      phase: 'requested',
      at,
      requestedAt: at,
      what: input.what,
      config,
    };
    await writeOperatorAuditEntry(open.store, open.prefix, requested);
  } catch (err) {
    const detail = maskSecretsInText(err instanceof Error ? err.message : String(err));
    throw new BlobStoreError(
      `cannot record ${input.action} in the audit ledger (${where(open)}), so it was not performed: ${detail}. ` +
        'Operator actions are recorded before they are carried out; make the storage writable for this identity ' +
        '(check `sink` in the config, the network and the role), then run the command again.',
      'put',
      operatorAuditRoot(open?.prefix ?? input.config.sink.prefix),
      false,
    );
  }
  const ledgerOpen = open;
  return {
    async finish(exitCode, error) {
      const status = exitCode === EXIT.ok ? 'ok' : exitCode === EXIT.attention ? 'attention' : 'failed';
      const message = error === undefined ? undefined : firstLine(error);
      try {
        await writeOperatorAuditEntry(ledgerOpen.store, ledgerOpen.prefix, {
          ...requested,
          phase: 'outcome',
          at: new Date().toISOString(),
          outcome: { status, exitCode, ...(message ? { error: message } : {}) },
        });
      } catch (err) {
        stderr.write(
          `tidemark: ${input.action} ended (exit ${exitCode}) but its outcome could not be recorded in the audit ` +
            `ledger: ${maskSecretsInText(err instanceof Error ? err.message : String(err))}\n`,
        );
      }
    },
  };
}

/** An error's first line, masked and capped: what the ledger keeps of a failure. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : 'unknown error';
  return maskSecretsInText(text.split('\n')[0] ?? '').slice(0, 500);
}

/** Runs `work`; a missing container is created first (as the worker does for local stacks), then tried again. */
async function withContainer<T>(ledger: OperatorLedger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof ContainerNotFoundError)) throw err;
    await ledger.store.ensureContainer();
    return await work();
  }
}
