/**
 * The operator audit ledger: one immutable JSON object per event of an operator action (start, pause, resume,
 * backfill, sweep, reconcile, schedule change, config change), under `<prefix>/_audit/operator/` in the data
 * container, next to the tables' per-commit ledgers (`<table>/_audit/<seq>.json`, audit-ledger.ts).
 *
 * Why the data container and not `sink.stateContainer`: entries are created once (`If-None-Match: *`) and never
 * rewritten, so the data container's time-based immutability policy (7 years, deploy/azure/main.bicep) accepts
 * them and then protects them from being changed or deleted even by an account administrator — which is what an
 * audit trail needs. The state container has no immutability policy on purpose (it holds the one object that is
 * replaced, the watermark), so a ledger there could be edited by anyone who can write the lake.
 *
 * An action writes two entries: `requested` before anything is done (if it cannot be written, the action is not
 * performed) and `outcome` after (ok, attention or failed, with the exit code and the error's first line), so an
 * action whose process died midway shows as requested without an outcome. A changed config is recorded as its
 * own `config-change` entry before the action that first runs with it. Entries carry who (OS user, host, the
 * Entra principal when the storage credential names one), when, the tables, the verb's flags and the config's
 * section digests — never a secret (secrets are masked before digesting) and never a row value.
 */
import { randomBytes } from 'node:crypto';
import type { BlobStore } from './blob-store.js';

export const OPERATOR_AUDIT_FORMAT = 'tidemark.operator-audit/1';

/** The operator actions recorded. */
export type OperatorAction =
  'start' | 'pause' | 'resume' | 'backfill' | 'sweep' | 'reconcile' | 'compact' | 'schedule-change' | 'config-change';

/** Which event of an action an entry records. */
export type OperatorAuditPhase = 'requested' | 'outcome' | 'observed';

/** Who ran an action: the identity Tidemark ran as. */
export interface OperatorIdentity {
  /** The operating-system user that ran the command. */
  readonly osUser: string;
  readonly host: string;
  /** How the lake was written: the Entra principal below, or a connection string (account key / SAS holder). */
  readonly storageAuth: 'defaultAzureCredential' | 'connectionString';
  /** The Entra principal of the storage credential, from its access token's claims, when it names one. */
  readonly entra?: {
    readonly objectId?: string;
    readonly tenantId?: string;
    /** User principal name, or the application id of a service principal / managed identity. */
    readonly name?: string;
    readonly appId?: string;
  };
}

/** The config an action ran with: its file and digests (SHA-256 of the secret-masked, resolved sections). */
export interface AuditedConfig {
  readonly file: string;
  readonly digest: string;
  /** Per section (`source`, `sink`, `temporal`, …) and per table (`tables/<id>`). */
  readonly sections: Readonly<Record<string, string>>;
}

/** A flag value as recorded: operator input only, never a row value. */
export type AuditValue = string | number | boolean;

/** One entry of the ledger. */
export interface OperatorAuditEntry {
  readonly format: typeof OPERATOR_AUDIT_FORMAT;
  /** Shared by an action's `requested` and `outcome` entries. */
  readonly id: string;
  readonly action: OperatorAction;
  readonly phase: OperatorAuditPhase;
  /** When this entry was written (ISO 8601, UTC). */
  readonly at: string;
  /** When the action was requested (the `requested` entry's `at`): what the ledger is ordered by. */
  readonly requestedAt: string;
  readonly who: OperatorIdentity;
  /** Table ids (`db.schema.table`) the action concerns. */
  readonly tables: readonly string[];
  /** The verb's own flags as given (e.g. `from`, `to`, `now`, `reason`). */
  readonly what: Readonly<Record<string, AuditValue>>;
  readonly config?: AuditedConfig;
  /** Config changes: the sections whose digest differs from the previous recorded config. */
  readonly changed?: readonly string[];
  /** `outcome` entries. */
  readonly outcome?: {
    readonly status: 'ok' | 'attention' | 'failed';
    readonly exitCode: number;
    /** The first line of the error (masked), when the action failed. */
    readonly error?: string;
  };
}

/** Where the ledger lives under the lake prefix. */
export function operatorAuditRoot(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return `${p === '' ? '' : `${p}/`}_audit/operator/`;
}

const PHASE_ORDER: Record<OperatorAuditPhase, string> = { observed: '0', requested: '1', outcome: '2' };

/**
 * An entry's path: the request time (compact ISO, so names sort in time order), the action id, then the phase,
 * so an action's entries list together and in order.
 */
export function operatorAuditPath(prefix: string, entry: Pick<OperatorAuditEntry, 'requestedAt' | 'id' | 'phase'>) {
  const time = compactTime(entry.requestedAt);
  return `${operatorAuditRoot(prefix)}${time}-${entry.id}-${PHASE_ORDER[entry.phase]}-${entry.phase}.json`;
}

/** `2026-12-06T17:42:01.123Z` → `20261206T174201123Z`: sorts as the time does. */
const compactTime = (iso: string): string => iso.replace(/[-:.]/g, '');

/** A new action id: random, so two operators acting in the same millisecond never collide. */
export function newOperatorActionId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Creates `entry` (`If-None-Match: *`). An entry is never rewritten: a second write of the same path throws the
 * store's `BlobAlreadyExistsError`, which is a bug (ids are random), not something to swallow.
 */
export async function writeOperatorAuditEntry(
  store: BlobStore,
  prefix: string,
  entry: OperatorAuditEntry,
): Promise<string> {
  const path = operatorAuditPath(prefix, entry);
  await store.putIfAbsent(path, `${JSON.stringify(entry)}\n`, { contentType: 'application/json' });
  return path;
}

/** Which entries to list. */
export interface OperatorAuditFilter {
  /** Only entries of actions requested at or after this time. */
  readonly since?: Date;
  /** Only entries that concern this table id (case-insensitive). */
  readonly table?: string;
}

/** The ledger's entries, oldest first. */
export async function listOperatorAudit(
  store: BlobStore,
  prefix: string,
  filter: OperatorAuditFilter = {},
): Promise<OperatorAuditEntry[]> {
  const out: OperatorAuditEntry[] = [];
  const table = filter.table?.toLowerCase();
  const root = operatorAuditRoot(prefix);
  // Names start with the request time, so `since` is applied before reading anything.
  const from = filter.since ? compactTime(filter.since.toISOString()) : '';
  for await (const item of store.list(root)) {
    if (!item.path.endsWith('.json') || item.path.slice(root.length) < from) continue;
    const entry = await readEntry(store, item.path);
    if (entry === undefined) continue;
    if (table !== undefined && !entry.tables.some((t) => t.toLowerCase() === table)) continue;
    out.push(entry);
  }
  return out;
}

async function readEntry(store: BlobStore, path: string): Promise<OperatorAuditEntry | undefined> {
  const content = await store.get(path);
  if (!content) return undefined;
  const entry = JSON.parse(content.body.toString('utf8')) as OperatorAuditEntry;
  return entry.format === OPERATOR_AUDIT_FORMAT ? entry : undefined;
}

/**
 * The config recorded by the most recent `requested` entry: what a config change is measured against. Lists the
 * names and reads one entry.
 */
export async function lastRecordedConfig(store: BlobStore, prefix: string): Promise<AuditedConfig | undefined> {
  let last: string | undefined;
  for await (const item of store.list(operatorAuditRoot(prefix))) {
    if (item.path.endsWith('-requested.json')) last = item.path;
  }
  return last === undefined ? undefined : (await readEntry(store, last))?.config;
}

/** The sections whose digests differ between two recorded configs (added and removed ones too), sorted. */
export function changedSections(before: AuditedConfig, after: AuditedConfig): string[] {
  const names = new Set([...Object.keys(before.sections), ...Object.keys(after.sections)]);
  return [...names].filter((n) => before.sections[n] !== after.sections[n]).sort();
}
