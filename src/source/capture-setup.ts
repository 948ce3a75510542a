/**
 * What CDC and Change Tracking need enabled and granted on the source, as {@link PrerequisiteProblem}s with the
 * T-SQL that fixes each one. One place for these statements: the prerequisite check (prerequisites.ts) lists
 * them, and the strategies throw them when a table turns out not to be set up (a CDC table whose capture is not
 * enabled, a CT table whose tracking is off), so the operator sees the same reason and the same fix either way.
 */
import type { CaptureInstanceAccess, TableDiscovery } from './discovery.js';
import { PrerequisiteError, SourcePermissionError, type PrerequisiteProblem } from './errors.js';
import { granteeOf } from './permissions.js';
import { nstring, quoteIdent, quoteTable } from './sql-text.js';

/** The role Tidemark's suggested `sp_cdc_enable_table` creates to gate the change data (SQL Server needs one named). */
export const SUGGESTED_CDC_ROLE = 'tidemark_cdc_reader';

const tableName = (d: TableDiscovery) => `${d.schema}.${d.table}`;

/** `sp_cdc_enable_table` for the table, gated by {@link SUGGESTED_CDC_ROLE}, with the extractor made a member. */
export function enableCdcTableSql(d: TableDiscovery): string {
  return (
    `EXEC sys.sp_cdc_enable_table @source_schema = ${nstring(d.schema)}, @source_name = ${nstring(d.table)}, ` +
    `@role_name = ${nstring(SUGGESTED_CDC_ROLE)}, @supports_net_changes = 0; ` +
    `ALTER ROLE ${quoteIdent(SUGGESTED_CDC_ROLE)} ADD MEMBER ${granteeOf(d.principal)};`
  );
}

/**
 * Why the table has no capture instance this login can read, when it has none: CDC off on the database, off on
 * the table, the configured instance missing — or empty when the table is tracked (then it is a permission
 * problem, see {@link cdcNoAccessError}).
 */
export function cdcSetupProblems(d: TableDiscovery, captureInstance?: string): PrerequisiteProblem[] {
  const name = tableName(d);
  if (!d.database.cdcEnabled)
    return [
      {
        code: 'cdc.db_not_enabled',
        severity: 'error',
        message: `CDC is not enabled on database ${d.database.name} (enabling it needs sysadmin).`,
        fixSql: `USE ${quoteIdent(d.database.name)}; EXEC sys.sp_cdc_enable_db;`,
      },
      {
        code: 'cdc.table_not_enabled',
        severity: 'error',
        message: `CDC is not enabled on ${name} (needs db_owner, after the database).`,
        fixSql: enableCdcTableSql(d),
      },
    ];
  if (!d.cdc.tracked)
    return [
      {
        code: 'cdc.table_not_enabled',
        severity: 'error',
        message: `CDC is not enabled on ${name}: the table has no capture instance (needs db_owner).`,
        fixSql: enableCdcTableSql(d),
      },
    ];
  if (captureInstance && d.cdc.unreadable && !d.cdc.unreadable.some((i) => i.name === captureInstance))
    return [
      {
        code: 'cdc.instance_missing',
        severity: 'error',
        message: `Capture instance '${captureInstance}' does not exist for ${name} (the config's captureInstance).`,
        fixSql:
          `EXEC sys.sp_cdc_enable_table @source_schema = ${nstring(d.schema)}, @source_name = ${nstring(d.table)}, ` +
          `@role_name = ${nstring(SUGGESTED_CDC_ROLE)}, @capture_instance = ${nstring(captureInstance)}, @supports_net_changes = 0;`,
      },
    ];
  return [];
}

/**
 * The table is tracked by CDC but the login can read none of its capture instances (or not the configured one):
 * reading changes needs SELECT on every captured column and membership in the instance's gating role.
 * `instances`: the instances the login may not read, when known (null: the login cannot read `cdc.change_tables`
 * either, so the role's name is not known here).
 */
export function cdcNoAccessError(
  d: TableDiscovery,
  instances: readonly CaptureInstanceAccess[] | null,
  captureInstance?: string,
  sqlErrorNumber = 0,
): SourcePermissionError {
  const grantee = granteeOf(d.principal);
  const on = quoteTable(d.schema, d.table);
  const wanted = instances?.filter((i) => !captureInstance || i.name === captureInstance) ?? null;
  const roles = [...new Set((wanted ?? []).map((i) => i.roleName).filter((r): r is string => !!r))];
  const which =
    wanted && wanted.length > 0
      ? `capture instance ${wanted.map((i) => `'${i.name}'`).join(', ')} of`
      : 'any capture instance of';
  const roleFix =
    wanted === null
      ? ` ALTER ROLE [<the instance's gating role, if it has one: role_name in sys.sp_cdc_help_change_data_capture, run as db_owner>] ADD MEMBER ${grantee};`
      : roles.map((r) => ` ALTER ROLE ${quoteIdent(r)} ADD MEMBER ${grantee};`).join('');
  const needs =
    wanted === null
      ? ' and membership in its gating role, if it has one'
      : roles.length > 0
        ? ` and membership in its gating role ${roles.map(quoteIdent).join(', ')}`
        : '';
  return new SourcePermissionError(
    tableName(d),
    sqlErrorNumber,
    'cdc.no_access',
    `the extractor (database user ${grantee}) cannot read ${which} ${tableName(d)}: SQL Server shows change data ` +
      `only to a user with SELECT on every captured column${needs}.`,
    `GRANT SELECT ON ${on} TO ${grantee};${roleFix}`,
  );
}

/** The CDC error to stop with when the table has no readable capture instance. */
export function cdcSetupError(d: TableDiscovery, captureInstance?: string): PrerequisiteError {
  const problems = cdcSetupProblems(d, captureInstance);
  if (problems.length > 0) return new PrerequisiteError(tableName(d), problems);
  return cdcNoAccessError(d, d.cdc.unreadable, captureInstance);
}

/** `ALTER DATABASE … SET CHANGE_TRACKING = ON` for the table's database. */
export function enableCtDatabaseSql(d: TableDiscovery): string {
  return `ALTER DATABASE ${quoteIdent(d.database.name)} SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);`;
}

/** `ALTER TABLE … ENABLE CHANGE_TRACKING` for the table. */
export function enableCtTableSql(d: TableDiscovery): string {
  return `ALTER TABLE ${quoteTable(d.schema, d.table)} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF);`;
}

/**
 * Change Tracking off on the database and/or the table, as discovery saw it unless `on` says otherwise (the
 * strategy knows from CHANGE_TRACKING_CURRENT_VERSION() being NULL, or error 22105 on CHANGETABLE).
 */
export function ctSetupProblems(
  d: TableDiscovery,
  on: { database: boolean; table: boolean } = {
    database: !!d.database.changeTracking,
    table: d.changeTracking.enabled,
  },
): PrerequisiteProblem[] {
  const problems: PrerequisiteProblem[] = [];
  if (!on.database)
    problems.push({
      code: 'ct.db_not_enabled',
      severity: 'error',
      message: `Change Tracking is not enabled on database ${d.database.name}.`,
      fixSql: enableCtDatabaseSql(d),
    });
  if (!on.database || !on.table)
    problems.push({
      code: 'ct.table_not_enabled',
      severity: 'error',
      message: `Change Tracking is not enabled on ${tableName(d)}.`,
      fixSql: enableCtTableSql(d),
    });
  return problems;
}

/** The login lacks VIEW CHANGE TRACKING on a tracked table (CHANGE_TRACKING_MIN_VALID_VERSION is NULL for it). */
export function ctNoAccessError(d: TableDiscovery, sqlErrorNumber = 0): SourcePermissionError {
  const grantee = granteeOf(d.principal);
  const on = quoteTable(d.schema, d.table);
  return new SourcePermissionError(
    tableName(d),
    sqlErrorNumber,
    'permission.view_change_tracking',
    `the extractor (database user ${grantee}) lacks VIEW CHANGE TRACKING on ${on} (Change Tracking reveals deleted ` +
      'keys, so SQL Server asks for it besides SELECT).',
    `GRANT VIEW CHANGE TRACKING ON ${on} TO ${grantee};`,
  );
}
