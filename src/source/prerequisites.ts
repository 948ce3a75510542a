/**
 * The prerequisite check: everything a table's capture strategy needs from the source, checked at once and
 * returned together — each problem with the T-SQL a DBA can run to fix it. Errors stop the table; warnings
 * (excess privilege, reads that may wait on OLTP locks) are reported and the table runs.
 *
 * Permissions are checked by *probing* what the extractor will actually do (a zero-row SELECT, the CDC and CT
 * metadata functions, which return 0x00…/NULL when the caller may not read), so the check is right for
 * grants through roles, column grants and DENYs alike.
 */
import type { CaptureConfig } from '../config/types.js';
import type { SourceConnection } from './connection.js';
import { discoverTable, findColumn, indexesLeadingWith, type TableDiscovery } from './discovery.js';
import { cdcNoAccessError, cdcSetupProblems, ctNoAccessError, ctSetupProblems } from './capture-setup.js';
import { PrerequisiteError, SourceError, type PrerequisiteProblem } from './errors.js';
import { nstring, quoteIdent, quoteTable } from './sql-text.js';
import { sqlErrorInfo } from './transient.js';
import { mapColumn } from './type-mapping.js';

/** Options of {@link checkPrerequisites}. */
export interface PrerequisiteOptions {
  /**
   * CDC: wait this long and sample `fn_cdc_get_max_lsn()` again; not moving means the capture job is not
   * running (it advances even when idle). 0 (default) only checks that it has ever run.
   */
  readonly captureProbeMs?: number;
}

/** The result: every problem found, and the discovery it was based on (when the table exists). */
export interface PrerequisiteReport {
  readonly table: string;
  readonly problems: readonly PrerequisiteProblem[];
  /** True when there is no error (warnings allowed). */
  readonly ok: boolean;
  readonly discovery: TableDiscovery | undefined;
}

const q = (s: string) => s.replace(/'/g, "''");

/** Checks one table; never throws for a problem it can describe (only for an unreachable source). */
export async function checkPrerequisites(
  conn: SourceConnection,
  schema: string,
  table: string,
  capture: CaptureConfig,
  options: PrerequisiteOptions = {},
): Promise<PrerequisiteReport> {
  const name = `${schema}.${table}`;
  const qt = quoteTable(schema, table);
  const problems: PrerequisiteProblem[] = [];
  const add: Add = (code, severity, message, fixSql = '') => problems.push({ code, severity, message, fixSql });
  const { user, db } = await checkPrivilege(conn, qt, add);
  let d: TableDiscovery | undefined;
  try {
    d = await discoverTable(conn, schema, table, { strategy: capture.strategy });
  } catch (err) {
    if (!(err instanceof SourceError)) throw err;
    add('table.missing', 'error', err.message, `GRANT SELECT ON ${qt} TO ${user};`);
    return { table: name, problems, ok: false, discovery: undefined };
  }
  await checkSelect(conn, d, qt, user, add);
  for (const c of d.columns) {
    try {
      mapColumn(name, c.name, c.type);
    } catch (err) {
      if (err instanceof SourceError) add('type.unsupported', 'error', err.message);
      else throw err;
    }
  }
  checkKey(d, capture, add);
  const snapshotFix = `ALTER DATABASE ${db} SET ALLOW_SNAPSHOT_ISOLATION ON;`;
  switch (capture.strategy) {
    case 'rowversion':
      checkWatermarkColumn(d, capture.column, 'rowversion', (c) => c.rowversion, add, snapshotFix);
      break;
    case 'updated_at':
      checkWatermarkColumn(
        d,
        capture.column,
        'updated_at',
        (c) => ['datetime2', 'datetime', 'smalldatetime'].includes(c.type.typeName),
        add,
        snapshotFix,
      );
      break;
    case 'identity':
      checkWatermarkColumn(d, capture.column, 'identity', (c) => c.identity, add, snapshotFix);
      break;
    case 'cdc':
      await checkCdc(conn, d, capture.captureInstance, add, options);
      break;
    case 'change_tracking':
      await checkChangeTracking(conn, d, add, snapshotFix);
      break;
  }
  return { table: name, problems, ok: !problems.some((p) => p.severity === 'error'), discovery: d };
}

/** Warns about a sysadmin or db_owner extractor; returns the quoted user and database for fixes. */
async function checkPrivilege(conn: SourceConnection, qt: string, add: Add): Promise<{ user: string; db: string }> {
  const who = (
    await conn.query<{ u: string | null; sa: number | null; owner: number | null; db: string }>(
      'prereq.principal',
      `SELECT USER_NAME() AS u, IS_SRVROLEMEMBER('sysadmin') AS sa, IS_MEMBER('db_owner') AS owner, DB_NAME() AS db`,
    )
  )[0]!;
  const user = quoteIdent(who.u ?? 'tidemark');
  const db = quoteIdent(who.db);
  if (who.sa === 1)
    add(
      'privilege.sysadmin',
      'warning',
      'The extractor login is a sysadmin: it only needs to read. Use a least-privilege login (a database user with SELECT on the captured tables).',
      `CREATE LOGIN [tidemark] WITH PASSWORD = '<from Key Vault>'; USE ${db}; CREATE USER [tidemark] FOR LOGIN [tidemark]; GRANT SELECT ON ${qt} TO [tidemark];`,
    );
  else if (who.owner === 1)
    add(
      'privilege.db_owner',
      'warning',
      'The extractor user is a member of db_owner: it only needs SELECT (and VIEW CHANGE TRACKING for CT).',
      `ALTER ROLE [db_owner] DROP MEMBER ${user}; GRANT SELECT ON ${qt} TO ${user};`,
    );
  return { user, db };
}

/** SELECT on every column the extractor reads (a zero-row probe honours role grants, column grants and DENY). */
async function checkSelect(conn: SourceConnection, d: TableDiscovery, qt: string, user: string, add: Add) {
  try {
    const cols = d.columns.filter((c) => !c.computed).map((c) => quoteIdent(c.name));
    await conn.query('prereq.select_probe', `SELECT TOP (0) ${cols.join(', ')} FROM ${qt}`);
  } catch (err) {
    const n = sqlErrorInfo(err).number ?? (err as { sqlErrorNumber?: number }).sqlErrorNumber;
    if (n === 229 || n === 230)
      add(
        'permission.select',
        'error',
        `The extractor cannot SELECT every column of ${d.schema}.${d.table}.`,
        `GRANT SELECT ON ${qt} TO ${user};`,
      );
    else throw err;
  }
}

function checkKey(d: TableDiscovery, capture: CaptureConfig, add: Add): void {
  if (d.key.length > 0) return;
  const needsKey = capture.strategy !== 'rowversion' && capture.strategy !== 'identity';
  add(
    'key.missing',
    needsKey ? 'error' : 'warning',
    `${d.schema}.${d.table} has no primary key or unique index on NOT NULL columns: ${
      needsKey ? 'the strategy needs one' : 'chunked loads, the sweep and delete reconciliation need one'
    } (or set \`key\` in the table's config).`,
    `ALTER TABLE ${quoteTable(d.schema, d.table)} ADD CONSTRAINT ${quoteIdent(`PK_${d.table}`)} PRIMARY KEY (<key columns>);`,
  );
}

/** A watermark strategy's column: it exists with the right type, an index leads with it, snapshot reads. */
function checkWatermarkColumn(
  d: TableDiscovery,
  column: string,
  kind: string,
  ok: (c: NonNullable<ReturnType<typeof findColumn>>) => boolean,
  add: Add,
  snapshotFix: string,
): void {
  const name = `${d.schema}.${d.table}`;
  const c = findColumn(d, column);
  if (!c || !ok(c)) {
    add(`${kind}.column`, 'error', `${name}.${column} does not exist or is not a ${kind} column.`);
    return;
  }
  if (indexesLeadingWith(d, c.name).length === 0)
    add(
      `${kind}.no_index`,
      'error',
      `No index on ${name}(${c.name}): every poll would scan the table.`,
      `CREATE NONCLUSTERED INDEX ${quoteIdent(`IX_${d.table}_${c.name}`)} ON ${quoteTable(d.schema, d.table)} (${quoteIdent(c.name)}) WITH (ONLINE = ON);`,
    );
  if (!d.database.snapshotIsolation)
    add(
      'snapshot.off',
      'warning',
      'Snapshot isolation is off: watermark reads run at READ COMMITTED and can wait on OLTP row locks.',
      snapshotFix,
    );
}

type Add = (code: string, severity: 'error' | 'warning', message: string, fixSql?: string) => void;

async function checkCdc(
  conn: SourceConnection,
  d: TableDiscovery,
  instance: string | undefined,
  add: Add,
  options: PrerequisiteOptions,
): Promise<void> {
  const setup = cdcSetupProblems(d, instance);
  if (setup.length > 0) {
    for (const p of setup) add(p.code, p.severity, p.message, p.fixSql);
    return;
  }
  const name = `${d.schema}.${d.table}`;
  const instances = instance ? d.cdc.instances.filter((i) => i.name === instance) : d.cdc.instances;
  if (instances.length === 0) {
    // Tracked, but no instance this login may read.
    const p = cdcNoAccessError(d, d.cdc.unreadable, instance).problems[0]!;
    add(p.code, p.severity, p.message, p.fixSql);
    return;
  }
  const newest = instances[instances.length - 1]!;
  const mins = await conn.query<{ mn: Buffer | null; mx: Buffer | null }>(
    'prereq.cdc_lsn',
    `SELECT sys.fn_cdc_get_min_lsn(N'${q(newest.name)}') AS mn, sys.fn_cdc_get_max_lsn() AS mx`,
  );
  const mn = mins[0]?.mn;
  if (!mn || mn.every((b) => b === 0)) {
    const p = cdcNoAccessError(d, [newest], newest.name).problems[0]!;
    add(p.code, p.severity, p.message, p.fixSql);
  }
  const startJob = `EXEC sys.sp_cdc_start_job @job_type = N'capture';  -- and make sure SQL Server Agent is running`;
  const mx = mins[0]?.mx ?? null;
  if (!mx)
    add(
      'cdc.capture_not_running',
      'error',
      'The CDC capture job has never run (fn_cdc_get_max_lsn() is NULL).',
      startJob,
    );
  else if (options.captureProbeMs && options.captureProbeMs > 0) {
    await new Promise((r) => setTimeout(r, options.captureProbeMs));
    const again = await conn.query<{ mx: Buffer | null }>('prereq.cdc_probe', 'SELECT sys.fn_cdc_get_max_lsn() AS mx');
    if (again[0]?.mx && Buffer.compare(again[0].mx, mx) === 0)
      add(
        'cdc.capture_not_advancing',
        'warning',
        `fn_cdc_get_max_lsn() did not move in ${options.captureProbeMs} ms: the capture job is apparently not running.`,
        startJob,
      );
  }
  const captured = new Set(newest.columns.map((c) => c.toLowerCase()));
  const missing = d.columns.filter((c) => !c.computed && !captured.has(c.name.toLowerCase())).map((c) => c.name);
  if (missing.length > 0)
    add(
      'cdc.columns_not_captured',
      'warning',
      `Columns ${missing.join(', ')} of ${name} are not in capture instance '${newest.name}': create a second instance (Tidemark switches to it at its start LSN), then drop the old one.`,
      `EXEC sys.sp_cdc_enable_table @source_schema = ${nstring(d.schema)}, @source_name = ${nstring(d.table)}, @role_name = ${
        newest.roleName ? nstring(newest.roleName) : 'NULL'
      }, @capture_instance = ${nstring(`${d.schema}_${d.table}_v2`)};`,
    );
}

async function checkChangeTracking(
  conn: SourceConnection,
  d: TableDiscovery,
  add: Add,
  snapshotFix: string,
): Promise<void> {
  const qt = quoteTable(d.schema, d.table);
  for (const p of ctSetupProblems(d)) add(p.code, p.severity, p.message, p.fixSql);
  if (!d.database.snapshotIsolation)
    add(
      'ct.snapshot_off',
      'error',
      'Snapshot isolation is off: Change Tracking is read in a SNAPSHOT transaction (the documented pattern) and would fail with 3952.',
      snapshotFix,
    );
  if (d.database.changeTracking && d.changeTracking.enabled) {
    const r = await conn.query<{ v: unknown }>(
      'prereq.ct_min',
      `SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(${nstring(qt)})) AS v`,
    );
    if (r[0]?.v === null || r[0]?.v === undefined) {
      const p = ctNoAccessError(d).problems[0]!;
      add(p.code, p.severity, p.message, p.fixSql);
    }
  }
}

/** Runs the check and throws a {@link PrerequisiteError} listing every problem when any is an error. */
export async function assertPrerequisites(
  conn: SourceConnection,
  schema: string,
  table: string,
  capture: CaptureConfig,
  options: PrerequisiteOptions = {},
): Promise<PrerequisiteReport> {
  const report = await checkPrerequisites(conn, schema, table, capture, options);
  if (!report.ok) throw new PrerequisiteError(report.table, report.problems);
  return report;
}
