/**
 * Discovery: what the source knows about one table — columns and their exact types, the row key (primary key
 * or a unique index), identity, rowversion and computed columns, indexes that lead with a given column, CDC
 * status and capture instances, Change Tracking status and retention, snapshot isolation. Read-only catalog
 * queries; sections the login cannot see (or that do not exist, e.g. the `cdc` schema before CDC is enabled)
 * come back as "not enabled" rather than failing the whole discovery.
 *
 * Discovery needs no more than the table's strategy: the CDC sections are read only for a CDC table, and only
 * through what SQL Server shows a least-privilege reader (`sys.sp_cdc_help_change_data_capture` lists the
 * instances the caller may read; the `cdc` schema's tables, which need more, are only asked — tolerantly — which
 * instances exist that it may not read); the Change Tracking sections only for a CT table. So a login with
 * SELECT on one table discovers that table.
 */
import sql from 'mssql';
import type { CaptureStrategyName } from '../domain/table.js';
import type { SourceConnection } from './connection.js';
import { SourceError, TableNotFoundError } from './errors.js';
import { granteeOf, PERMISSION_SQL_NUMBERS, type SourcePrincipal } from './permissions.js';
import { nstring, quoteTable } from './sql-text.js';
import { sqlErrorInfo } from './transient.js';
import { mapColumn, type ColumnReader, type SqlColumnType } from './type-mapping.js';

/** One column of the table. */
export interface DiscoveredColumn {
  readonly name: string;
  /** 1-based column_id. */
  readonly ordinal: number;
  readonly type: SqlColumnType;
  /** `decimal(18,2)`, `nvarchar(max)`, … */
  readonly sqlType: string;
  readonly nullable: boolean;
  readonly identity: boolean;
  readonly computed: boolean;
  readonly rowversion: boolean;
}

/** An index and its key columns in key order. */
export interface DiscoveredIndex {
  readonly name: string;
  readonly unique: boolean;
  readonly primaryKey: boolean;
  readonly columns: readonly string[];
}

/** A CDC capture instance of the table. */
export interface CaptureInstance {
  readonly name: string;
  /** 20 lowercase hex digits; null while the low endpoint is not yet set. */
  readonly startLsn: string | null;
  readonly createDate: Date;
  readonly supportsNetChanges: boolean;
  /** Captured columns in change-table order. */
  readonly columns: readonly string[];
  readonly roleName: string | null;
}

/** A capture instance as `cdc.change_tables` lists it (whether or not the login may read it). */
export interface CaptureInstanceAccess {
  readonly name: string;
  /** The gating role; null when the instance has none. */
  readonly roleName: string | null;
}

/** Everything discovery found about one table. */
export interface TableDiscovery {
  readonly schema: string;
  readonly table: string;
  readonly objectId: number;
  /** Who the extractor is on the source (what a GRANT in an error message names). */
  readonly principal: SourcePrincipal;
  readonly columns: readonly DiscoveredColumn[];
  /** The row key: PK columns, else the first usable unique index's; empty when the table has neither. */
  readonly key: readonly string[];
  readonly keySource: 'primary_key' | 'unique_index' | 'none';
  readonly indexes: readonly DiscoveredIndex[];
  readonly identityColumn: string | null;
  readonly rowversionColumn: string | null;
  readonly computedColumns: readonly string[];
  readonly database: {
    readonly name: string;
    readonly snapshotIsolation: boolean;
    readonly readCommittedSnapshot: boolean;
    readonly cdcEnabled: boolean;
    readonly changeTracking: { readonly retentionMinutes: number; readonly autoCleanup: boolean } | null;
  };
  readonly cdc: {
    readonly tracked: boolean;
    /** The capture instances this login may read (SELECT on their captured columns, gating role), oldest first. */
    readonly instances: readonly CaptureInstance[];
    /**
     * Instances of the table this login may not read; null when that cannot be told (the login cannot read
     * `cdc.change_tables`, which only db_owner, db_datareader or an explicit GRANT allow).
     */
    readonly unreadable: readonly CaptureInstanceAccess[] | null;
  };
  readonly changeTracking: { readonly enabled: boolean; readonly trackColumnsUpdated: boolean };
}

function sqlTypeText(t: SqlColumnType): string {
  switch (t.typeName) {
    case 'decimal':
    case 'numeric':
      return `${t.typeName}(${t.precision},${t.scale})`;
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'binary':
    case 'varbinary':
      return `${t.typeName}(${t.maxLength === -1 ? 'max' : t.maxLength})`;
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return `${t.typeName}(${t.scale})`;
    case 'timestamp':
      return 'rowversion';
    default:
      return t.typeName;
  }
}

interface ColumnRow {
  name: string;
  column_id: number;
  type_name: string;
  max_length: number;
  precision: number;
  scale: number;
  is_nullable: boolean;
  is_identity: boolean;
  is_computed: boolean;
}

/** Options of {@link discoverTable}. */
export interface DiscoveryOptions {
  /** Read only the capture sections this strategy needs (CDC, Change Tracking); all of them when absent. */
  readonly strategy?: CaptureStrategyName;
}

/** Discovers one table. Throws {@link TableNotFoundError} when it does not exist or is not visible. */
export async function discoverTable(
  conn: SourceConnection,
  schema: string,
  table: string,
  options: DiscoveryOptions = {},
): Promise<TableDiscovery> {
  const name = `${schema}.${table}`;
  const principal = await conn.principal().catch((): SourcePrincipal => ({ user: null, login: null }));
  const ids = await conn.query<{ object_id: number | null }>(
    'discovery.object',
    `SELECT OBJECT_ID(${nstring(quoteTable(schema, table))}) AS object_id`,
  );
  const objectId = ids[0]?.object_id ?? null;
  if (objectId === null)
    throw new TableNotFoundError(
      name,
      'the table does not exist or is not visible to this login',
      `GRANT SELECT ON ${quoteTable(schema, table)} TO ${granteeOf(principal)};`,
    );
  const columns = await discoverColumns(conn, objectId);
  const indexes = await discoverIndexes(conn, objectId);
  const nullable = new Set(columns.filter((c) => c.nullable).map((c) => c.name));
  const pk = indexes.find((i) => i.primaryKey);
  const uq = indexes.find((i) => i.unique && i.columns.every((c) => !nullable.has(c)));
  const db = await discoverDatabase(conn);
  const wants = (s: CaptureStrategyName) => options.strategy === undefined || options.strategy === s;
  const cdc: TableDiscovery['cdc'] =
    db.cdcEnabled && wants('cdc')
      ? await discoverCdc(conn, schema, table, objectId)
      : { tracked: false, instances: [], unreadable: [] };
  const ct = wants('change_tracking') ? await discoverChangeTracking(conn, objectId) : undefined;
  return {
    schema,
    table,
    objectId,
    principal,
    columns,
    key: pk?.columns ?? uq?.columns ?? [],
    keySource: pk ? 'primary_key' : uq ? 'unique_index' : 'none',
    indexes,
    identityColumn: columns.find((c) => c.identity)?.name ?? null,
    rowversionColumn: columns.find((c) => c.rowversion)?.name ?? null,
    computedColumns: columns.filter((c) => c.computed).map((c) => c.name),
    database: { ...db, changeTracking: ct?.database ?? null },
    cdc,
    changeTracking: ct?.table ?? { enabled: false, trackColumnsUpdated: false },
  };
}

async function discoverColumns(conn: SourceConnection, objectId: number): Promise<DiscoveredColumn[]> {
  const colRows = await conn.query<ColumnRow>(
    'discovery.columns',
    `SELECT c.name, c.column_id, t.name AS type_name, c.max_length, c.precision, c.scale,
            c.is_nullable, c.is_identity, c.is_computed
       FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.system_type_id
      WHERE c.object_id = @id ORDER BY c.column_id`,
    [{ name: 'id', type: sql.Int, value: objectId }],
  );
  return colRows.map((r) => {
    const nChars = r.type_name === 'nchar' || r.type_name === 'nvarchar';
    const type: SqlColumnType = {
      typeName: r.type_name === 'rowversion' ? 'timestamp' : r.type_name,
      maxLength: r.max_length === -1 ? -1 : nChars ? r.max_length / 2 : r.max_length,
      precision: r.precision,
      scale: r.scale,
    };
    return {
      name: r.name,
      ordinal: r.column_id,
      type,
      sqlType: sqlTypeText(type),
      nullable: r.is_nullable,
      identity: r.is_identity,
      computed: r.is_computed,
      rowversion: type.typeName === 'timestamp',
    };
  });
}

/** The table's usable (unfiltered, enabled) indexes with their key columns in order. */
async function discoverIndexes(conn: SourceConnection, objectId: number): Promise<DiscoveredIndex[]> {
  const idxRows = await conn.query<{
    name: string;
    index_id: number;
    is_unique: boolean;
    is_primary_key: boolean;
    has_filter: boolean;
    is_disabled: boolean;
    column_name: string;
    key_ordinal: number;
  }>(
    'discovery.indexes',
    `SELECT i.name, i.index_id, i.is_unique, i.is_primary_key, i.has_filter, i.is_disabled,
            c.name AS column_name, ic.key_ordinal
       FROM sys.indexes i
       JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE i.object_id = @id AND ic.key_ordinal > 0
      ORDER BY i.index_id, ic.key_ordinal`,
    [{ name: 'id', type: sql.Int, value: objectId }],
  );
  const byId = new Map<number, { i: DiscoveredIndex & { columns: string[] }; usable: boolean }>();
  for (const r of idxRows) {
    let e = byId.get(r.index_id);
    if (!e) {
      e = {
        i: { name: r.name, unique: r.is_unique, primaryKey: r.is_primary_key, columns: [] },
        usable: !r.has_filter && !r.is_disabled,
      };
      byId.set(r.index_id, e);
    }
    e.i.columns.push(r.column_name);
  }
  return [...byId.values()].filter((e) => e.usable).map((e) => e.i);
}

async function discoverDatabase(conn: SourceConnection): Promise<Omit<TableDiscovery['database'], 'changeTracking'>> {
  const dbRows = await conn.query<{
    name: string;
    snapshot_isolation_state: number;
    is_read_committed_snapshot_on: boolean;
    is_cdc_enabled: boolean;
  }>(
    'discovery.database',
    `SELECT name, snapshot_isolation_state, is_read_committed_snapshot_on, is_cdc_enabled
       FROM sys.databases WHERE name = DB_NAME()`,
  );
  const db = dbRows[0];
  return {
    name: db?.name ?? '',
    snapshotIsolation: db?.snapshot_isolation_state === 1,
    readCommittedSnapshot: db?.is_read_committed_snapshot_on ?? false,
    cdcEnabled: db?.is_cdc_enabled ?? false,
  };
}

async function discoverCdc(
  conn: SourceConnection,
  schema: string,
  table: string,
  objectId: number,
): Promise<TableDiscovery['cdc']> {
  const tracked = await isTrackedByCdc(conn, objectId);
  if (!tracked) return { tracked, instances: [], unreadable: [] };
  const instances = await discoverCaptureInstances(conn, schema, table);
  const all = await captureInstanceAccess(conn, objectId);
  return { tracked, instances, unreadable: all && all.filter((a) => !instances.some((i) => i.name === a.name)) };
}

/** Change Tracking of the database and the table; not enabled when the catalog views are missing or hidden. */
async function discoverChangeTracking(
  conn: SourceConnection,
  objectId: number,
): Promise<{ database: TableDiscovery['database']['changeTracking']; table: TableDiscovery['changeTracking'] }> {
  const off = { enabled: false, trackColumnsUpdated: false };
  let database: TableDiscovery['database']['changeTracking'] = null;
  try {
    const r = await conn.query<{
      retention_period: number;
      retention_period_units: number;
      is_auto_cleanup_on: boolean;
    }>(
      'discovery.ct_database',
      'SELECT retention_period, retention_period_units, is_auto_cleanup_on FROM sys.change_tracking_databases WHERE database_id = DB_ID()',
    );
    const d = r[0];
    if (!d) return { database, table: off };
    // units: 1 = minutes, 2 = hours, 3 = days
    const mult = d.retention_period_units === 3 ? 1440 : d.retention_period_units === 2 ? 60 : 1;
    database = { retentionMinutes: d.retention_period * mult, autoCleanup: d.is_auto_cleanup_on };
    const t = await conn.query<{ is_track_columns_updated_on: boolean }>(
      'discovery.ct_table',
      'SELECT is_track_columns_updated_on FROM sys.change_tracking_tables WHERE object_id = @id',
      [{ name: 'id', type: sql.Int, value: objectId }],
    );
    return { database, table: t[0] ? { enabled: true, trackColumnsUpdated: t[0].is_track_columns_updated_on } : off };
  } catch {
    // A catalog view is missing or not visible: Change Tracking is reported as not enabled.
    return { database, table: off };
  }
}

/** Whether the table is tracked by CDC (`sys.tables.is_tracked_by_cdc`; false when CDC is off for the database). */
export async function isTrackedByCdc(conn: SourceConnection, objectId: number): Promise<boolean> {
  const t = await conn.query<{ is_tracked_by_cdc: boolean | null }>(
    'discovery.cdc_tracked',
    'SELECT is_tracked_by_cdc FROM sys.tables WHERE object_id = @id',
    [{ name: 'id', type: sql.Int, value: objectId }],
  );
  return t[0]?.is_tracked_by_cdc ?? false;
}

/** `[a], [b]` (as `captured_column_list` writes it) → `['a', 'b']`. */
export function parseColumnList(list: string | null): string[] {
  const out: string[] = [];
  for (const m of (list ?? '').matchAll(/\[((?:[^\]]|\]\])*)\]/g)) out.push((m[1] ?? '').replace(/\]\]/g, ']'));
  return out;
}

/**
 * The table's CDC capture instances that this login may read, oldest first, with their captured columns in
 * change-table order. `sys.sp_cdc_help_change_data_capture` is public and lists exactly the instances whose change
 * data the caller may read (SELECT on every captured column and membership in the gating role; db_owner sees
 * all), so this needs no right beyond what reading the changes needs. Empty when the database has CDC off (22901).
 */
export async function discoverCaptureInstances(
  conn: SourceConnection,
  schema: string,
  table: string,
): Promise<CaptureInstance[]> {
  let rows: {
    capture_instance: string;
    start_lsn: Buffer | null;
    create_date: Date;
    supports_net_changes: boolean | null;
    role_name: string | null;
    captured_column_list: string | null;
  }[];
  try {
    rows = await conn.query(
      'discovery.cdc_instances',
      'EXEC sys.sp_cdc_help_change_data_capture @source_schema = @schema, @source_name = @table',
      [
        { name: 'schema', type: sql.NVarChar(128), value: schema },
        { name: 'table', type: sql.NVarChar(128), value: table },
      ],
    );
  } catch (err) {
    if ((err as { sqlErrorNumber?: number }).sqlErrorNumber === 22901) return [];
    throw err;
  }
  return rows
    .map((r) => ({
      name: r.capture_instance,
      startLsn: r.start_lsn ? r.start_lsn.toString('hex') : null,
      createDate: r.create_date,
      supportsNetChanges: r.supports_net_changes ?? false,
      columns: parseColumnList(r.captured_column_list),
      roleName: r.role_name,
    }))
    .sort(
      (a, b) => a.createDate.getTime() - b.createDate.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
}

/**
 * Every capture instance of the table with its gating role, read from `cdc.change_tables` — including those this
 * login may not read, so an error can name the role to join. Null when the login may not read `cdc.change_tables`
 * (a least-privilege reader: only db_owner, db_datareader or a GRANT allow it).
 */
export async function captureInstanceAccess(
  conn: SourceConnection,
  objectId: number,
): Promise<CaptureInstanceAccess[] | null> {
  try {
    const rows = await conn.query<{ capture_instance: string; role_name: string | null }>(
      'discovery.cdc_roles',
      'SELECT capture_instance, role_name FROM cdc.change_tables WHERE source_object_id = @id ORDER BY create_date',
      [{ name: 'id', type: sql.Int, value: objectId }],
    );
    return rows.map((r) => ({ name: r.capture_instance, roleName: r.role_name }));
  } catch (err) {
    const n = (err as { sqlErrorNumber?: number }).sqlErrorNumber ?? sqlErrorInfo(err).number;
    if (err instanceof SourceError && n !== undefined && PERMISSION_SQL_NUMBERS.has(n)) return null;
    throw err;
  }
}

/** Indexes whose leading key column is `column` (what a watermark predicate can seek on). */
export function indexesLeadingWith(d: TableDiscovery, column: string): DiscoveredIndex[] {
  return d.indexes.filter((i) => i.columns[0]?.toLowerCase() === column.toLowerCase());
}

/** A discovered column by name (case-insensitive, as SQL Server's default collation). */
export function findColumn(d: TableDiscovery, column: string): DiscoveredColumn | undefined {
  return d.columns.find((c) => c.name.toLowerCase() === column.toLowerCase());
}

/** Readers for the non-computed columns of the table, in column order (computed ones are derivable). */
export function tableReaders(d: TableDiscovery, include?: readonly string[]): ColumnReader[] {
  const name = `${d.schema}.${d.table}`;
  const wanted = include ? new Set(include.map((c) => c.toLowerCase())) : undefined;
  return d.columns
    .filter((c) => !c.computed && (!wanted || wanted.has(c.name.toLowerCase())))
    .map((c) => mapColumn(name, c.name, c.type));
}
