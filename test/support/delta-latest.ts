/**
 * The latest state of a lake table (last event per key by position, tombstones dropped) as two independent
 * readers compute it — delta-rs over the table's `_delta_log/` and DuckDB through the manifests — every value
 * as the same exact text (test/support/deltalake.ts's conventions: timestamps in epoch microseconds, binary in
 * hex, a 7-digit timestamp's `__100ns` digit beside it), keyed by the key's text.
 */
import type { LakeTable } from '../../src/lake/lake-table.js';
import { LakeReader } from '../../src/lake/reader.js';
import { latestSchema, type SchemaDoc } from '../../src/lake/schema-registry.js';
import { storedColumns, storedKeyNames } from '../../src/lake/lake-types.js';
import { quoteIdent } from '../../src/lake/parquet-writer.js';
import type { LakeColumn } from '../../src/domain/values.js';
import { readDeltaFromAzurite, type DeltaRsView } from './deltalake.js';

export type LatestState = Map<string, Record<string, unknown>>;

/** DuckDB text of a stored column, as the delta-rs script prints the same value. */
function textSql(c: LakeColumn): string {
  const q = quoteIdent(c.name);
  switch (c.type.kind) {
    case 'timestamp':
      return `epoch_us(${q})::VARCHAR`;
    case 'timestamptz':
      return `CASE WHEN ${q} IS NULL THEN NULL ELSE {'utc': epoch_us(${q}.utc)::VARCHAR, 'offset_minutes': ${q}.offset_minutes::VARCHAR} END`;
    case 'binary':
      return `lower(hex(${q}))`;
    case 'boolean':
      return `CASE WHEN ${q} IS NULL THEN NULL WHEN ${q} THEN 'true' ELSE 'false' END`;
    default:
      return `${q}::VARCHAR`;
  }
}

const keyOf = (row: Record<string, unknown>, keys: readonly string[]) => JSON.stringify(keys.map((k) => row[k]));

/** The manifests' latest state (DuckDB), and the highest committed sequence it was read at. */
export async function latestViaManifests(
  lake: LakeTable,
): Promise<{ latest: LatestState; sequence: number; schema: SchemaDoc }> {
  const schema = await latestSchema(lake.store, lake.layout);
  if (!schema) throw new Error(`${lake.layout.id} has no schema`);
  const reader = await LakeReader.open({ lake });
  try {
    const cols = storedColumns(schema.columns);
    const rows = await reader.query(
      `SELECT ${cols.map((c) => `${textSql(c)} AS ${quoteIdent(c.name)}`).join(', ')} FROM latest`,
    );
    const keys = storedKeyNames(schema.columns, schema.keyColumns);
    const latest: LatestState = new Map(rows.map((r) => [keyOf(r, keys), r]));
    return { latest, sequence: Math.max(0, ...reader.manifests.map((m) => m.sequence)), schema };
  } finally {
    await reader.close();
  }
}

/** delta-rs's latest state of the table at `version`: last row per key by `_pos`, tombstones dropped. */
export function latestViaDelta(view: DeltaRsView, schema: SchemaDoc): LatestState {
  const keys = storedKeyNames(schema.columns, schema.keyColumns);
  const names = storedColumns(schema.columns).map((c) => c.name);
  const last = new Map<string, Record<string, unknown>>();
  const rows = [...(view.rows ?? [])].sort((a, b) => String(a._pos).localeCompare(String(b._pos)));
  for (const r of rows) last.set(keyOf(r, keys), r);
  const latest: LatestState = new Map();
  for (const [k, r] of last) if (r._op !== 'd') latest.set(k, Object.fromEntries(names.map((n) => [n, r[n] ?? null])));
  return latest;
}

/**
 * The Delta version that reflects manifest `sequence` (the highest one: a compaction right after the window's
 * version holds the same rows in fewer files), from the log's history; -1 if it is not published yet. Until the
 * first compaction it is `sequence` itself (docs/raw-layer.md, "Mapping").
 */
function versionOfSequence(view: DeltaRsView, sequence: number): number {
  let found = -1;
  for (const h of view.history ?? []) {
    const t = h.tidemark as { sequence?: number; compaction?: { afterSequence?: number } } | undefined;
    const reflects = t?.compaction ? t.compaction.afterSequence : t?.sequence;
    if (reflects === sequence && h.version > found) found = h.version;
  }
  return found;
}

/**
 * Reads a lake table with delta-rs at the version that reflects the manifests' sequence (waiting briefly for the
 * publication that follows each commit) and returns both latest states.
 */
export async function latestStates(
  connectionString: string,
  container: string,
  lake: LakeTable,
): Promise<{ manifests: LatestState; delta: LatestState; version: number; sequence: number }> {
  const { latest, sequence, schema } = await latestViaManifests(lake);
  const head = () =>
    readDeltaFromAzurite(connectionString, container, lake.layout.root, { rows: false, history: true });
  let version = versionOfSequence(head(), sequence);
  for (let i = 0; i < 20 && version < 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    version = versionOfSequence(head(), sequence);
  }
  const view = readDeltaFromAzurite(connectionString, container, lake.layout.root, { version: Math.max(version, 0) });
  return { manifests: latest, delta: latestViaDelta(view, schema), version: view.version, sequence };
}
