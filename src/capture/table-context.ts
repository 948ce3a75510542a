/**
 * One table as the capture engine sees it: its config, the source's current discovery, its capture strategy,
 * its place in the lake, and the PHI plan (columns dropped or hashed before anything is written: phi-plan.ts).
 *
 * Discovery is refreshed on every planning and extraction (a few catalog queries), so added or widened
 * columns flow into a new schema version without a worker restart. No state is kept between windows in the
 * worker: updated_at's overlap de-duplication asks the lake which positions it already holds, so any worker of
 * the task queue, after any restart, drops the same rows.
 */
import type { TableConfig } from '../config/types.js';
import { TableLayout, type TableRef as LakeTableRef } from '../lake/layout.js';
import type { LakeTable } from '../lake/lake-table.js';
import type { LakeColumn, LakeValue } from '../domain/values.js';
import { registerSchema, type SchemaDoc } from '../lake/schema-registry.js';
import { committedPositions } from '../lake/committed-positions.js';
import {
  contentHashOf,
  createStrategy,
  discoverTable,
  readableDiscovery,
  type CaptureStrategy,
  type SeenEvents,
  type TableDiscovery,
} from '../source/index.js';
import { ConfigError } from '../config/config-error.js';
import type { TableRef } from '../domain/table.js';
import type { CaptureDeps } from './deps.js';
import { findTable } from '../config/tables.js';
import { phiPlan } from './phi-plan.js';

/**
 * A table's config and its place in the lake, without the source: what the steps after the read need (validate,
 * commit, advance). Building it queries nothing.
 */
export interface TableLakeContext {
  readonly ref: TableRef;
  readonly config: TableConfig;
  readonly lake: LakeTable;
}

export interface TableContext extends TableLakeContext {
  /** The source's discovery without the dropped PHI columns the read need not select (source/read-columns.ts). */
  readonly discovery: TableDiscovery;
  readonly strategy: CaptureStrategy;
  /** Key columns (config `key`, else the source's primary key / unique index). */
  readonly keyColumns: readonly string[];
  /** Registers (or finds) the lake schema for these source columns after the PHI plan. */
  schemaFor(columns: readonly LakeColumn[]): Promise<SchemaDoc>;
  /** Maps a row of `columns` (source order) to the schema's column order, applying the PHI plan. */
  projector(columns: readonly LakeColumn[], schema: SchemaDoc): (values: readonly LakeValue[]) => LakeValue[];
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

/**
 * The table's config and lake, without asking the source anything. The steps after a window's read use it: each
 * of them built the full context before, i.e. ran the source's catalog queries (about ten) for nothing, which on
 * a loaded source cost seconds per step (docs/performance.md, "The window's fixed cost").
 */
export function tableLakeContext(
  deps: Pick<CaptureDeps, 'config' | 'store' | 'stateStore'>,
  ref: TableRef,
): TableLakeContext {
  const config = findTable(deps.config, ref.id);
  if (!config)
    throw new ConfigError([
      {
        path: 'tables',
        message: `table ${ref.id} is not in the configuration this worker loaded`,
        fix: 'correct the tables section of the configuration and restart the worker',
      },
    ]);
  const lakeRef: LakeTableRef = { db: deps.config.source.database, schema: config.schema, table: config.table };
  const layout = new TableLayout(deps.config.sink.prefix, lakeRef);
  const lake: LakeTable = { store: deps.store, layout, ...(deps.stateStore ? { stateStore: deps.stateStore } : {}) };
  return { ref, config, lake };
}

/** Builds the context of a table (fresh discovery). */
export async function tableContext(deps: CaptureDeps, ref: TableRef): Promise<TableContext> {
  const { config, lake } = tableLakeContext(deps, ref);
  const { layout } = lake;
  // Dropped PHI columns are never selected: every read of the table (windows, chunks, verify) goes through
  // this discovery, without them (source/read-columns.ts).
  const discovery = readableDiscovery(
    await discoverTable(deps.source, config.schema, config.table, { strategy: config.capture.strategy }),
    config,
  );
  const strategy = createStrategy(deps.source, discovery, config, { seen: lakeSeenEvents(lake) });
  const keyColumns = config.key && config.key.length > 0 ? config.key : discovery.key;
  const phi = phiPlan(ref.id, config, keyColumns, deps.phiHashKey);
  return {
    ref,
    config,
    lake,
    discovery,
    strategy,
    keyColumns,
    schemaFor: async (columns) =>
      (await registerSchema(deps.store, layout, { columns: phi.landed(columns), keyColumns })).doc,
    projector: (columns, schema) => phi.projector(columns, schema),
  };
}
