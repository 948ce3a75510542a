/**
 * What a dedicated extractor login needs on the source, per configured table and capture strategy, and the T-SQL
 * that grants exactly that. One source of truth: `tidemark grants` prints {@link extractorGrantScript}, and
 * `tidemark doctor` (privilege-check.ts) checks the same {@link tableNeeds} against what the login holds.
 *
 * What each strategy reads, and so needs:
 *
 * - every strategy reads the table's non-computed columns (windows, snapshot chunks, the nightly sweep and
 *   reconciliation): SELECT on those columns, by name, so a column added later is not readable until granted;
 * - CDC reads `cdc.fn_cdc_get_all_changes_<instance>`, which SQL Server shows only to a user with SELECT on every
 *   captured column and membership in the instance's gating role (when it has one);
 * - Change Tracking reads `CHANGETABLE(CHANGES …)`, which needs VIEW CHANGE TRACKING on the table besides SELECT;
 * - rowversion, updated_at and identity read the table only.
 *
 * Nothing needs VIEW DATABASE STATE: the one health metric that could use a DMV, CDC capture latency, is read
 * with the public `sys.fn_cdc_map_lsn_to_time` (strategies/cdc.ts), not `sys.dm_cdc_log_scan_sessions`.
 *
 * PHI columns: `hash` columns are read (the worker hashes them); `drop` columns are never selected
 * (read-columns.ts) and so not granted — except where reading needs them anyway, each said beside the statement:
 * a CDC table's captured columns (SQL Server shows an instance's changes only to a user with SELECT on every
 * captured column: leave the column out of the instance's `@captured_column_list` to not grant it), and a key,
 * position or business-date column the read filters or orders on.
 */
import type { SourceAuth, TableConfig } from '../config/types.js';
import type { TableDiscovery } from './discovery.js';
import { unreadColumns } from './read-columns.js';
import { quoteIdent, quoteTable } from './sql-text.js';

/** SELECT on columns of the table (all of it when `columns` is null: the columns were not known). */
export interface SelectNeed {
  readonly kind: 'select';
  readonly columns: readonly string[] | null;
  /** Columns among `columns` that the config drops as PHI, granted because reading still needs them (and why). */
  readonly phiDropped: readonly string[];
  /** Why {@link phiDropped} columns are granted. */
  readonly phiDroppedWhy?: string;
  readonly why: string;
}

/** VIEW CHANGE TRACKING on the table. */
export interface ViewChangeTrackingNeed {
  readonly kind: 'view_change_tracking';
  readonly why: string;
}

/** Membership in a CDC capture instance's gating role; `role` null when its name was not known. */
export interface CdcRoleNeed {
  readonly kind: 'cdc_role';
  readonly role: string | null;
  readonly instance: string | null;
  readonly why: string;
}

/** One permission the extractor needs on a table, and what it is for. */
export type NeededPermission = SelectNeed | ViewChangeTrackingNeed | CdcRoleNeed;

/** What the extractor needs for one configured table. */
export interface TableNeeds {
  readonly schema: string;
  readonly table: string;
  readonly strategy: TableConfig['capture']['strategy'];
  readonly needs: readonly NeededPermission[];
  /** Remarks for the script (e.g. why a role is a placeholder). */
  readonly notes: readonly string[];
}

const lower = (s: string) => s.toLowerCase();

/**
 * What one table needs. `d` is the table's discovery when it could be read (column names, capture instances and
 * their gating roles); without it SELECT is on the whole table and a CDC gating role is a placeholder.
 */
export function tableNeeds(config: TableConfig, d: TableDiscovery | undefined): TableNeeds {
  const strategy = config.capture.strategy;
  const notes: string[] = [];
  if (!d) notes.push('columns not known (the table could not be read): SELECT is granted on the whole table');
  const needs: NeededPermission[] = [selectNeed(config, d)];
  if (strategy === 'change_tracking')
    needs.push({
      kind: 'view_change_tracking',
      why: 'CHANGETABLE(CHANGES …) and CHANGE_TRACKING_MIN_VALID_VERSION: Change Tracking reveals deleted keys, so it needs this besides SELECT',
    });
  if (strategy === 'cdc') needs.push(...cdcRoleNeeds(config, d, notes));
  return { schema: config.schema, table: config.table, strategy, needs, notes };
}

/** SELECT on the columns read (all of the table's when `d` is unknown), and why dropped PHI is among them. */
function selectNeed(config: TableConfig, d: TableDiscovery | undefined): SelectNeed {
  const strategy = config.capture.strategy;
  const dropped = new Set(config.phi.filter((r) => r.action === 'drop').flatMap((r) => r.columns.map(lower)));
  // Dropped PHI columns are not read (read-columns.ts) — but a CDC instance shows its changes only to a user with
  // SELECT on every captured column, so those stay granted.
  const unread = d ? unreadColumns(config, d) : new Set<string>();
  // An instance this login may not read has unknown columns: all of the table's count as captured then.
  const captured = new Set(
    strategy !== 'cdc' || !d
      ? []
      : (d.cdc.unreadable ?? []).length > 0
        ? d.columns.map((c) => lower(c.name))
        : d.cdc.instances.flatMap((i) => i.columns.map(lower)),
  );
  const columns = d
    ? d.columns
        .filter((c) => !c.computed && (!unread.has(lower(c.name)) || captured.has(lower(c.name))))
        .map((c) => c.name)
    : null;
  const phiDropped = (columns ?? []).filter((c) => dropped.has(lower(c)));
  return {
    kind: 'select',
    columns,
    phiDropped,
    ...(phiDropped.length > 0
      ? {
          phiDroppedWhy: phiDropped.some((c) => captured.has(lower(c)))
            ? 'captured by CDC (SQL Server shows changes only with SELECT on every captured column; leave it out of the capture instance to not grant it)'
            : 'a key, position or business-date column the read filters or orders on',
        }
      : {}),
    why:
      strategy === 'cdc'
        ? 'change windows (CDC shows changes only with SELECT on every captured column), snapshot chunks, reconciliation'
        : strategy === 'change_tracking'
          ? 'change windows (CHANGETABLE joined to the table), snapshot chunks, reconciliation'
          : `change windows (by the ${strategy} column), snapshot chunks, the nightly sweep and reconciliation`,
  };
}

/** Membership of each gating role of the table's capture instances (a placeholder when the roles are unknown). */
function cdcRoleNeeds(config: TableConfig, d: TableDiscovery | undefined, notes: string[]): NeededPermission[] {
  const needs: NeededPermission[] = [];
  const wanted = config.capture.strategy === 'cdc' ? config.capture.captureInstance : undefined;
  const known = d ? [...d.cdc.instances, ...(d.cdc.unreadable ?? [])] : [];
  const instances = known.filter((i) => !wanted || lower(i.name) === lower(wanted));
  const seen = new Set<string>();
  const roles = new Map<string, string[]>(); // gating role (lower case) → its instances
  const ungated: string[] = [];
  const roleName = new Map<string, string>();
  for (const i of instances) {
    if (seen.has(lower(i.name))) continue;
    seen.add(lower(i.name));
    if (i.roleName === null) ungated.push(i.name);
    else {
      roleName.set(lower(i.roleName), i.roleName);
      roles.set(lower(i.roleName), [...(roles.get(lower(i.roleName)) ?? []), i.name]);
    }
  }
  const rolesKnown = d !== undefined && (d.cdc.unreadable !== null || instances.length > 0);
  if (!rolesKnown || seen.size === 0) {
    needs.push({
      kind: 'cdc_role',
      role: null,
      instance: wanted ?? null,
      why: 'CDC shows change data only to members of the capture instance gating role (when it has one)',
    });
    notes.push(
      d && !d.cdc.tracked
        ? 'CDC is not enabled on the table yet: enable it (see `tidemark doctor`), then run grants again for the role'
        : "the capture instance's gating role was not visible to this login: run grants as a login that can read cdc.change_tables (db_owner), or look up role_name with EXEC sys.sp_cdc_help_change_data_capture",
    );
  } else {
    for (const name of ungated) notes.push(`capture instance '${name}' has no gating role: SELECT is enough`);
    for (const [key, names] of roles)
      needs.push({
        kind: 'cdc_role',
        role: roleName.get(key) ?? key,
        instance: names.join(', '),
        why: `capture instance ${names.map((n) => `'${n}'`).join(', ')} is gated by this role: CDC shows its changes only to members`,
      });
  }
  return needs;
}

/** Stands for a gating role whose name the connected login could not see (a DBA looks it up). */
export const UNKNOWN_GATING_ROLE =
  "<the capture instance's gating role: role_name in EXEC sys.sp_cdc_help_change_data_capture, as db_owner>";

/** The statement that grants one need to `grantee` (already quoted). */
export function grantSql(t: Pick<TableNeeds, 'schema' | 'table'>, need: NeededPermission, grantee: string): string {
  const on = quoteTable(t.schema, t.table);
  switch (need.kind) {
    case 'select':
      return need.columns
        ? `GRANT SELECT ON ${on} (${need.columns.map(quoteIdent).join(', ')}) TO ${grantee};`
        : `GRANT SELECT ON ${on} TO ${grantee};`;
    case 'view_change_tracking':
      return `GRANT VIEW CHANGE TRACKING ON ${on} TO ${grantee};`;
    case 'cdc_role':
      return `ALTER ROLE ${quoteIdent(need.role ?? UNKNOWN_GATING_ROLE)} ADD MEMBER ${grantee};`;
  }
}

/** Who the script creates: the login (SQL auth) or the Entra principal, and the database user. */
export interface ExtractorIdentity {
  readonly database: string;
  readonly auth: SourceAuth;
  /** Database user name; default: the login's name (SQL auth) or `tidemark_extractor`. */
  readonly user?: string;
}

/** The password placeholder: never a real secret in a script that is printed, saved and reviewed. */
export const PASSWORD_PLACEHOLDER = '<a generated password: keep it in Key Vault or the environment, never here>';

/** The database user the script creates, quoted. */
export function extractorUser(who: ExtractorIdentity): string {
  return quoteIdent(who.user ?? (who.auth.type === 'sql-login' ? who.auth.user : 'tidemark_extractor'));
}

/**
 * The whole script: CREATE LOGIN / USER (placeholders, no password), then per table what it needs, each statement
 * with what it is for. Statements only grant; nothing here removes what the login may already hold (doctor
 * reports that).
 */
export function extractorGrantScript(who: ExtractorIdentity, tables: readonly TableNeeds[]): string {
  const db = quoteIdent(who.database);
  const user = extractorUser(who);
  const out: string[] = [
    `-- Tidemark extractor: least privilege for ${tables.length} ${tables.length === 1 ? 'table' : 'tables'} of database ${db}.`,
    '-- Run as a DBA. Read only: no write, ALTER or CONTROL permission, no db_owner, db_datareader or db_datawriter.',
    '-- No VIEW DATABASE STATE: no health metric needs a DMV (CDC capture latency uses sys.fn_cdc_map_lsn_to_time).',
    '-- Check the result with `tidemark doctor` (connected as this login).',
  ];
  if (who.auth.type === 'sql-login') {
    const login = quoteIdent(who.auth.user);
    out.push(
      '-- Azure SQL Database has no USE: run CREATE LOGIN connected to master, the rest connected to the database.',
      'USE [master];',
      `CREATE LOGIN ${login} WITH PASSWORD = '${PASSWORD_PLACEHOLDER}', DEFAULT_DATABASE = ${db}, CHECK_POLICY = ON;`,
      `USE ${db};`,
      `CREATE USER ${user} FOR LOGIN ${login};`,
    );
  } else {
    out.push(
      `USE ${db};`,
      `-- ${who.auth.type}: the worker's Entra identity (managed identity or app registration, by its display name).`,
      `CREATE USER ${user} FROM EXTERNAL PROVIDER;`,
    );
  }
  for (const t of tables) {
    out.push('', `-- ${t.schema}.${t.table} (${t.strategy})`);
    for (const note of t.notes) out.push(`--   ${note}`);
    for (const need of t.needs) {
      out.push(`-- for: ${need.why}`);
      if (need.kind === 'select' && need.phiDropped.length > 0)
        out.push(
          `--   ${need.phiDropped.map(quoteIdent).join(', ')}: phi drop, still granted: ${need.phiDroppedWhy ?? 'the read needs it'} (dropped before staging)`,
        );
      // A placeholder role is commented out, so the script runs as printed.
      out.push(`${need.kind === 'cdc_role' && !need.role ? '-- ' : ''}${grantSql(t, need, user)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
