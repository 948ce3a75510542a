/**
 * One table as the activities see it: its config, the source's current discovery, its capture strategy, its
 * place in the lake, and the PHI plan (columns dropped or hashed before anything is written).
 *
 * Discovery is refreshed on every planning and extraction (a few catalog queries), so added or widened
 * columns flow into a new schema version without a worker restart. No state is kept between windows in the
 * worker: updated_at's overlap de-duplication asks the lake which positions it already holds, so any worker of
 * the task queue, after any restart, drops the same rows.
 */
import { createHmac } from 'node:crypto';
import type { TableConfig } from '../config/types.js';
import { TableLayout, type TableRef as LakeTableRef } from '../lake/layout.js';
import type { LakeTable } from '../lake/commit.js';
import type { LakeColumn, LakeValue } from '../domain/values.js';
import { registerSchema, type SchemaDoc } from '../lake/schema-registry.js';
import { committedPositions } from '../lake/committed-positions.js';
import {
  contentHashOf,
  createStrategy,
  discoverTable,
  type CaptureStrategy,
  type SeenEvents,
  type TableDiscovery,
} from '../source/index.js';
import { ConfigError } from '../config/config-error.js';
import { keyColumnPhiProblems } from '../config/phi-key-rule.js';
import type { TableRef } from '../domain/table.js';
import { type ActivityDeps } from './dependencies.js';
import { findTable } from '../config/tables.js';

/** How one source column lands: as is, dropped, or HMAC-hashed (hex string). */
type ColumnPlan = { kind: 'keep' } | { kind: 'drop' } | { kind: 'hash' };

export interface TableContext {
  readonly ref: TableRef;
  readonly config: TableConfig;
  readonly lake: LakeTable;
  readonly discovery: TableDiscovery;
  readonly strategy: CaptureStrategy;
  /** Key columns (config `key`, else the source's primary key / unique index). */
  readonly keyColumns: readonly string[];
  /** Registers (or finds) the lake schema for these source columns after the PHI plan. */
  schemaFor(columns: readonly LakeColumn[]): Promise<SchemaDoc>;
  /** Maps a row of `columns` (source order) to the schema's column order, applying the PHI plan. */
  projector(columns: readonly LakeColumn[], schema: SchemaDoc): (values: readonly LakeValue[]) => LakeValue[];
}

function configError(message: string): Error {
  return new ConfigError([
    { path: 'tables', message, fix: 'correct the tables section of the configuration and restart the worker' },
  ]);
}

/**
 * updated_at's overlap index over the lake's committed positions (loaded by the read's `prepare`): the content
 * hashes of the range's events (the hash covers the key, so the key need not be read) and the highest position.
 */
function lakeSeenEvents(lake: LakeTable): SeenEvents {
  let hashes = new Set<string>();
  let highest: string | null = null;
  return {
    async prepare(low, highExclusive) {
      const r = await committedPositions({ lake, low, highExclusive });
      hashes = new Set([...r.positions].map(contentHashOf).filter((h): h is string => h !== undefined));
      highest = r.highest;
    },
    has: (_key, contentHash) => hashes.has(contentHash),
    highestPosition: () => highest,
  };
}

/** Builds the context of a table (fresh discovery). */
export async function tableContext(deps: ActivityDeps, ref: TableRef): Promise<TableContext> {
  const config = findTable(deps.config, ref.id);
  if (!config) throw configError(`table ${ref.id} is not in the configuration this worker loaded`);
  const discovery = await discoverTable(deps.source, config.schema, config.table, {
    strategy: config.capture.strategy,
  });
  const lakeRef: LakeTableRef = { db: deps.config.source.database, schema: config.schema, table: config.table };
  const layout = new TableLayout(deps.config.sink.prefix, lakeRef);
  const lake: LakeTable = { store: deps.store, layout, ...(deps.stateStore ? { stateStore: deps.stateStore } : {}) };
  const strategy = createStrategy(deps.source, discovery, config, { seen: lakeSeenEvents(lake) });
  const keyColumns = config.key && config.key.length > 0 ? config.key : discovery.key;

  const plans = new Map<string, ColumnPlan>();
  for (const rule of config.phi)
    for (const c of rule.columns)
      plans.set(c.toLowerCase(), rule.action === 'keep' ? { kind: 'keep' } : { kind: rule.action });
  const planOf = (name: string): ColumnPlan => plans.get(name.toLowerCase()) ?? { kind: 'keep' };
  if ([...plans.values()].some((p) => p.kind === 'hash') && !deps.phiHashKey)
    throw configError(`table ${ref.id} hashes PHI columns but privacy.hashKey is not set`);
  // The same rule config check applies to the configured key; the worker also sees the source's key.
  const keyProblems = keyColumnPhiProblems(keyColumns, config.phi);
  if (keyProblems.length > 0)
    throw new ConfigError(
      keyProblems.map((p) => ({ path: `tables[${config.name}].phi`, message: p.message, fix: p.fix })),
    );

  const landed = (columns: readonly LakeColumn[]): LakeColumn[] =>
    columns
      .filter((c) => planOf(c.name).kind !== 'drop')
      .map((c) =>
        planOf(c.name).kind === 'hash' ? { name: c.name, type: { kind: 'string' }, nullable: c.nullable } : c,
      );

  const hash = (v: LakeValue): LakeValue => {
    if (v === null) return null;
    const text =
      typeof v === 'object' && !(v instanceof Uint8Array)
        ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))
        : v instanceof Uint8Array
          ? Buffer.from(v).toString('hex')
          : String(v);
    return createHmac('sha256', deps.phiHashKey ?? '')
      .update(text)
      .digest('hex');
  };

  return {
    ref,
    config,
    lake,
    discovery,
    strategy,
    keyColumns,
    schemaFor: async (columns) => {
      const r = await registerSchema(deps.store, layout, { columns: landed(columns), keyColumns });
      return r.doc;
    },
    projector: (columns, schema) => {
      const index = new Map(columns.map((c, i) => [c.name.toLowerCase(), i]));
      const steps = schema.columns.map((c) => {
        const i = index.get(c.name.toLowerCase());
        const hashed = planOf(c.name).kind === 'hash';
        return { i, hashed };
      });
      return (values) =>
        steps.map(({ i, hashed }) => {
          const v = i === undefined ? null : (values[i] ?? null);
          return hashed ? hash(v) : v;
        });
    },
  };
}
