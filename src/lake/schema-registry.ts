/**
 * Versioned schema documents of a table (`_schemas/<version>.json`, immutable, created with `If-None-Match: *`).
 *
 * Evolution rules (compared by column name):
 * - same columns and types → the current version;
 * - added columns (at the end or anywhere, always nullable in the lake) and safe widenings create a new version
 *   automatically: uint8→int16→int32→int64; longer string/binary (or unbounded); decimal with larger precision
 *   and the same scale; time/timestamp/timestamptz with more fractional digits; NOT NULL → NULL;
 * - anything else — a dropped or renamed column, a narrowing, any other type change, a change of the key
 *   columns — throws {@link IncompatibleSchemaChangeError}, and the caller lands nothing of the window.
 * A column that becomes NOT NULL at the source stays nullable in the lake (older rows may hold NULLs): no change.
 */
import type { BlobStore } from './blob-store.js';
import { BlobAlreadyExistsError, IncompatibleSchemaChangeError, LakeIntegrityError } from './errors.js';
import {
  HUNDRED_NS_SUFFIX,
  STORAGE_LAYOUT,
  formatLakeType,
  hasHundredNsCompanion,
  lakeTypeProblem,
  storedDifferentlyInLayout1,
} from './lake-types.js';
import { type LakeColumn, type LakeType } from '../domain/values.js';
import type { TableLayout } from './layout.js';

export const SCHEMA_FORMAT = 'tidemark.schema/1';

/** One schema version as stored. */
export interface SchemaDoc {
  readonly format: typeof SCHEMA_FORMAT;
  readonly table: string;
  readonly version: number;
  /** The table's own columns, in row order (event columns are not listed: they are fixed, see lake-types). */
  readonly columns: readonly LakeColumn[];
  /** Columns that identify a row (the source's primary key or unique index). */
  readonly keyColumns: readonly string[];
  readonly previousVersion: number | null;
  /** Human-readable changes from the previous version. */
  readonly changes: readonly string[];
  readonly createdAt: string;
  /**
   * How the data files of this version store their values ({@link STORAGE_LAYOUT}, lake-types.ts). Absent in
   * versions written by earlier releases: layout 1, which this release reads only for tables whose columns are
   * stored alike in both layouts (see {@link EarlierStorageLayoutError}).
   */
  readonly storage?: number;
}

/**
 * A schema version written by an earlier release (storage layout 1) with a column this release stores
 * differently: datetime2(7) / datetimeoffset(7) as Parquet TIMESTAMP(NANOS), time as TIME(NANOS), uuid as UUID.
 * Refused rather than read: one table would mix two physical layouts for the same column, which neither the
 * Delta log nor Spark could declare, and a nanosecond file can hold no value past 2262. Non-retryable: the table
 * stops with this message (docs/operations.md, "Lakes written by an earlier release").
 */
export class EarlierStorageLayoutError extends IncompatibleSchemaChangeError {
  constructor(table: string, version: number, columns: readonly string[]) {
    super(table, version, [
      `schema version ${version} was written by an earlier Tidemark release that stored ${columns.join(', ')} ` +
        'with nanosecond / UUID Parquet types; this release stores them as microsecond timestamps with a ' +
        '__100ns companion column, time as text and uuid as text (docs/type-mapping.md) and does not read the ' +
        'earlier layout. Land the table again under a new sink prefix (a fresh initial load), or keep the ' +
        'earlier release for this table; the existing lake stays readable with the earlier release',
    ]);
  }
}

/** Refuses a layout-1 schema version with columns stored differently in layout 2. */
export function checkStorageLayout(doc: SchemaDoc): void {
  if ((doc.storage ?? 1) >= STORAGE_LAYOUT) return;
  const changed = doc.columns.filter((c) => storedDifferentlyInLayout1(c.type));
  if (changed.length)
    throw new EarlierStorageLayoutError(
      doc.table,
      doc.version,
      changed.map((c) => `${c.name} (${formatLakeType(c.type)})`),
    );
}

/** The schema the source currently reports. */
export interface SchemaProposal {
  readonly columns: readonly LakeColumn[];
  readonly keyColumns: readonly string[];
}

const INT_RANK: Partial<Record<LakeType['kind'], number>> = { uint8: 1, int16: 2, int32: 3, int64: 4 };

/** Why `to` is not a safe widening of `from`, or undefined if it is one (or equal). */
export function wideningProblem(from: LakeType, to: LakeType): string | undefined {
  const fromRank = INT_RANK[from.kind];
  const toRank = INT_RANK[to.kind];
  if (fromRank !== undefined && toRank !== undefined)
    return toRank >= fromRank ? undefined : `narrowing ${from.kind}→${to.kind}`;
  if (from.kind !== to.kind) return `type change ${formatLakeType(from)}→${formatLakeType(to)}`;
  switch (from.kind) {
    case 'decimal': {
      const t = to as typeof from;
      if (t.scale !== from.scale) return `decimal scale change ${formatLakeType(from)}→${formatLakeType(to)}`;
      return t.precision >= from.precision ? undefined : `narrowing ${formatLakeType(from)}→${formatLakeType(to)}`;
    }
    case 'string':
    case 'binary': {
      const t = to as typeof from;
      if (t.maxLength === undefined) return undefined;
      if (from.maxLength === undefined || t.maxLength < from.maxLength)
        return `narrowing ${formatLakeType(from)}→${formatLakeType(to)}`;
      return undefined;
    }
    case 'time':
    case 'timestamp':
    case 'timestamptz': {
      const t = to as typeof from;
      return t.fractionalDigits >= from.fractionalDigits
        ? undefined
        : `narrowing ${formatLakeType(from)}→${formatLakeType(to)}`;
    }
    default:
      return undefined;
  }
}

function sameType(a: LakeType, b: LakeType): boolean {
  return formatLakeType(a) === formatLakeType(b);
}

/** The outcome of comparing a proposal with the current version. */
export interface SchemaDiff {
  readonly changes: readonly string[];
  readonly problems: readonly string[];
  /** The columns the new version would have (current order, additions at the end). */
  readonly columns: readonly LakeColumn[];
}

/** Compares a proposal with the current schema (pure). */
export function diffSchema(current: SchemaDoc, proposal: SchemaProposal): SchemaDiff {
  const problems: string[] = [];
  const changes: string[] = [];
  if (current.keyColumns.join('\u0000') !== proposal.keyColumns.join('\u0000'))
    problems.push(`key columns changed (${current.keyColumns.join(', ')} → ${proposal.keyColumns.join(', ')})`);
  const proposed = new Map(proposal.columns.map((c) => [c.name, c]));
  const columns: LakeColumn[] = [];
  for (const col of current.columns) {
    const next = proposed.get(col.name);
    if (!next) {
      problems.push(`column ${col.name} was dropped or renamed`);
      continue;
    }
    const problem = wideningProblem(col.type, next.type);
    if (problem) problems.push(`column ${col.name}: ${problem}`);
    const widened = !problem && !sameType(col.type, next.type);
    if (widened) changes.push(`widened ${col.name} ${formatLakeType(col.type)}→${formatLakeType(next.type)}`);
    const nullable = col.nullable || next.nullable;
    if (nullable !== col.nullable) changes.push(`${col.name} became nullable`);
    columns.push({ name: col.name, type: widened ? next.type : col.type, nullable });
  }
  const known = new Set(current.columns.map((c) => c.name));
  for (const col of proposal.columns) {
    if (known.has(col.name)) continue;
    changes.push(`added ${col.name} ${formatLakeType(col.type)}`);
    columns.push({ name: col.name, type: col.type, nullable: true });
  }
  return { changes, problems, columns };
}

function checkProposal(table: string, proposal: SchemaProposal): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const c of proposal.columns) {
    if (c.name.startsWith('_'))
      problems.push(`column ${c.name}: names starting with "_" are reserved for event columns`);
    if (names.has(c.name.toLowerCase())) problems.push(`column ${c.name} appears twice (names are case-insensitive)`);
    names.add(c.name.toLowerCase());
    const p = lakeTypeProblem(c.type);
    if (p) problems.push(`column ${c.name}: ${p}`);
  }
  for (const c of proposal.columns)
    if (hasHundredNsCompanion(c.type) && names.has(`${c.name}${HUNDRED_NS_SUFFIX}`.toLowerCase()))
      problems.push(
        `column ${c.name}${HUNDRED_NS_SUFFIX} has the name of the companion column of ${c.name} (${formatLakeType(c.type)})`,
      );
  if (proposal.keyColumns.length === 0) problems.push('no key columns');
  for (const k of proposal.keyColumns)
    if (!proposal.columns.some((c) => c.name === k)) problems.push(`key column ${k} is not a column`);
  if (problems.length) throw new IncompatibleSchemaChangeError(table, 0, problems);
}

/** Reads and parses one schema version. */
export async function readSchema(
  store: BlobStore,
  layout: TableLayout,
  version: number,
): Promise<SchemaDoc | undefined> {
  const got = await store.get(layout.schemaPath(version));
  if (!got) return undefined;
  const doc = JSON.parse(got.body.toString('utf8')) as SchemaDoc;
  if (doc.format !== SCHEMA_FORMAT || doc.version !== version)
    throw new LakeIntegrityError(
      `Schema document is not a ${SCHEMA_FORMAT} version ${version}`,
      layout.id,
      layout.schemaPath(version),
    );
  checkStorageLayout(doc);
  return doc;
}

/** The latest schema version of a table, or undefined if none was registered. */
export async function latestSchema(store: BlobStore, layout: TableLayout): Promise<SchemaDoc | undefined> {
  let latest: number | undefined;
  for await (const item of store.list(layout.schemasPrefix)) {
    const v = layout.versionOfSchema(item.path);
    if (v !== undefined && (latest === undefined || v > latest)) latest = v;
  }
  return latest === undefined ? undefined : readSchema(store, layout, latest);
}

/** Result of {@link registerSchema}. */
export interface RegisterSchemaOutput {
  readonly version: number;
  /** True if this call created the version. */
  readonly created: boolean;
  readonly changes: readonly string[];
}

/**
 * Returns the schema version to write a window with: the current one if the proposal matches it, a new one if
 * the proposal only adds columns or widens types. Throws {@link IncompatibleSchemaChangeError} otherwise.
 * Safe under concurrency: two registrars of the same change agree on one version.
 */
export async function registerSchema(
  store: BlobStore,
  layout: TableLayout,
  proposal: SchemaProposal,
  now: () => Date = () => new Date(),
): Promise<RegisterSchemaOutput & { readonly doc: SchemaDoc }> {
  checkProposal(layout.id, proposal);
  for (let round = 0; round < 5; round++) {
    const current = await latestSchema(store, layout);
    let doc: SchemaDoc;
    if (!current) {
      doc = {
        format: SCHEMA_FORMAT,
        table: layout.id,
        version: 1,
        columns: proposal.columns,
        keyColumns: proposal.keyColumns,
        previousVersion: null,
        changes: ['initial'],
        createdAt: now().toISOString(),
        storage: STORAGE_LAYOUT,
      };
    } else {
      const diff = diffSchema(current, proposal);
      if (diff.problems.length) throw new IncompatibleSchemaChangeError(layout.id, current.version, diff.problems);
      if (diff.changes.length === 0) return { version: current.version, created: false, changes: [], doc: current };
      doc = {
        format: SCHEMA_FORMAT,
        table: layout.id,
        version: current.version + 1,
        columns: diff.columns,
        keyColumns: current.keyColumns,
        previousVersion: current.version,
        changes: diff.changes,
        createdAt: now().toISOString(),
        storage: STORAGE_LAYOUT,
      };
    }
    try {
      await store.putIfAbsent(layout.schemaPath(doc.version), `${JSON.stringify(doc, null, 2)}\n`, {
        contentType: 'application/json',
      });
      return { version: doc.version, created: true, changes: doc.changes, doc };
    } catch (err) {
      if (!(err instanceof BlobAlreadyExistsError)) throw err;
      // Someone registered a version concurrently: compare against it in the next round.
    }
  }
  throw new LakeIntegrityError('Schema registration kept racing with other writers', layout.id, layout.schemasPrefix);
}
