/**
 * What the extractor's login holds against what it needs ({@link tableNeeds}, the same needs `tidemark grants`
 * prints): each permission missing, with the GRANT that adds it, and each one more than needed — sysadmin,
 * db_owner, db_datareader / db_datawriter / db_ddladmin, CONTROL, ALTER or a write permission on the database or
 * a table, VIEW DATABASE STATE — with the statement that removes it.
 *
 * Effective permissions are asked of the server as the login itself (`HAS_PERMS_BY_NAME`, with the column for
 * column grants, `IS_MEMBER`, `IS_SRVROLEMEMBER`), so grants through roles and DENYs count as SQL Server applies
 * them; nothing here needs more than the login has (no `sys.database_permissions` of other principals).
 */
import type { TableConfig } from '../config/types.js';
import { cdcNoAccessError } from './capture-setup.js';
import type { SourceConnection } from './connection.js';
import type { TableDiscovery } from './discovery.js';
import { grantSql, tableNeeds, type NeededPermission } from './grants.js';
import { denyNote } from './permissions.js';
import { nstring, quoteIdent, quoteTable } from './sql-text.js';

/** One permission missing or in excess. */
export interface PrivilegeFinding {
  /** `login` (server and database-wide) or the table, `schema.table`. */
  readonly scope: string;
  readonly kind: 'missing' | 'excess';
  /** e.g. `select`, `view_change_tracking`, `cdc_role`, `sysadmin`, `db_owner`, `insert`, `control`. */
  readonly code: string;
  readonly message: string;
  /** The statement that fixes it (a DBA runs it). */
  readonly fixSql: string;
}

/** Who the login is and what it holds database-wide. */
export interface LoginPrivileges {
  readonly user: string;
  readonly login: string;
  readonly database: string;
  readonly sysadmin: boolean;
  readonly dbOwner: boolean;
  readonly dataReader: boolean;
  readonly dataWriter: boolean;
  readonly ddlAdmin: boolean;
  /** Roles the user is a direct member of (for "granted through a role" hints); empty when not visible. */
  readonly roles: readonly string[];
  readonly findings: readonly PrivilegeFinding[];
}

/** Permissions on a table the extractor never needs (it only reads). */
export const TABLE_EXCESS_PERMISSIONS = ['INSERT', 'UPDATE', 'DELETE', 'ALTER', 'CONTROL'] as const;
/** Database-wide permissions it never needs. */
const DATABASE_EXCESS_PERMISSIONS = [
  'CONTROL',
  'ALTER',
  'INSERT',
  'UPDATE',
  'DELETE',
  'SELECT',
  'VIEW DATABASE STATE',
] as const;

const flag = (v: unknown) => v === 1 || v === true || v === 1n;

/** The login's server and database-wide privileges, and what of them is more than needed. */
export async function checkLoginPrivileges(conn: SourceConnection): Promise<LoginPrivileges> {
  const dbPerms = DATABASE_EXCESS_PERMISSIONS.map(
    (p, i) => `HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', ${nstring(p)}) AS p${i}`,
  ).join(', ');
  const row =
    (
      await conn.query<Record<string, unknown>>(
        'doctor.login',
        `SELECT USER_NAME() AS u, SUSER_NAME() AS l, DB_NAME() AS db, IS_SRVROLEMEMBER('sysadmin') AS sa,
                IS_MEMBER('db_owner') AS dbo, IS_MEMBER('db_datareader') AS dr, IS_MEMBER('db_datawriter') AS dw,
                IS_MEMBER('db_ddladmin') AS ddl, ${dbPerms}`,
      )
    )[0] ?? {};
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const user = text(row.u);
  const login = text(row.l);
  const database = text(row.db);
  const roles = await memberRoles(conn);
  const u = quoteIdent(user);
  const db = quoteIdent(database);
  const p: LoginPrivileges = {
    user,
    login,
    database,
    sysadmin: flag(row.sa),
    dbOwner: flag(row.dbo),
    dataReader: flag(row.dr),
    dataWriter: flag(row.dw),
    ddlAdmin: flag(row.ddl),
    roles,
    findings: [],
  };
  const findings: PrivilegeFinding[] = [];
  const excess = (code: string, message: string, fixSql: string) =>
    findings.push({ scope: 'login', kind: 'excess', code, message, fixSql });
  if (p.sysadmin) {
    excess(
      'sysadmin',
      `login ${quoteIdent(login)} is a member of sysadmin: it can do anything on the server; the extractor only reads.`,
      `ALTER SERVER ROLE [sysadmin] DROP MEMBER ${quoteIdent(login)};  -- then create its database user and grants: tidemark grants`,
    );
    return { ...p, findings }; // everything else follows from sysadmin
  }
  if (p.dbOwner) {
    excess(
      'db_owner',
      `user ${u} is a member of db_owner in ${db}: it can change or drop anything in the database; the extractor only reads.`,
      `ALTER ROLE [db_owner] DROP MEMBER ${u};  -- after granting what tidemark grants prints`,
    );
    return { ...p, findings };
  }
  if (p.dataWriter)
    excess(
      'db_datawriter',
      `user ${u} is a member of db_datawriter: INSERT, UPDATE and DELETE on every table of ${db}.`,
      `ALTER ROLE [db_datawriter] DROP MEMBER ${u};`,
    );
  if (p.ddlAdmin)
    excess(
      'db_ddladmin',
      `user ${u} is a member of db_ddladmin: it can create, alter and drop objects in ${db}.`,
      `ALTER ROLE [db_ddladmin] DROP MEMBER ${u};`,
    );
  if (p.dataReader)
    excess(
      'db_datareader',
      `user ${u} is a member of db_datareader: SELECT on every table of ${db}, not only the configured columns.`,
      `ALTER ROLE [db_datareader] DROP MEMBER ${u};  -- after granting what tidemark grants prints`,
    );
  DATABASE_EXCESS_PERMISSIONS.forEach((perm, i) => {
    if (!flag(row[`p${i}`])) return;
    if (p.dataWriter && ['INSERT', 'UPDATE', 'DELETE'].includes(perm)) return;
    if (p.dataReader && perm === 'SELECT') return;
    excess(
      perm.toLowerCase().replace(/\s+/g, '_'),
      `user ${u} holds ${perm} on database ${db}${
        perm === 'VIEW DATABASE STATE' ? ' (no check or metric of Tidemark reads a DMV that needs it)' : ''
      }${throughRole(roles)}.`,
      `REVOKE ${perm} FROM ${u};`,
    );
  });
  return { ...p, findings };
}

/** " (or through one of its roles: …)" when the user is in custom roles. */
function throughRole(roles: readonly string[]): string {
  const custom = roles.filter((r) => !r.startsWith('db_') && r !== 'public');
  return custom.length > 0
    ? `, directly or through one of its roles ${custom.map(quoteIdent).join(', ')} (revoke it where it was granted)`
    : '';
}

/** Roles the current user is a direct member of; empty when the catalog does not show them. */
async function memberRoles(conn: SourceConnection): Promise<string[]> {
  try {
    const rows = await conn.query<{ name: string }>(
      'doctor.roles',
      `SELECT r.name AS name FROM sys.database_role_members m
         JOIN sys.database_principals r ON r.principal_id = m.role_principal_id
         JOIN sys.database_principals u ON u.principal_id = m.member_principal_id
        WHERE u.name = USER_NAME()`,
    );
    return rows.map((r) => r.name);
  } catch {
    return [];
  }
}

/**
 * One table: each needed permission it lacks and each table permission beyond reading. `d` is the table's
 * discovery as this login sees it (undefined when it cannot see the table at all).
 */
export async function checkTablePrivileges(
  conn: SourceConnection,
  config: TableConfig,
  d: TableDiscovery | undefined,
  login: LoginPrivileges,
): Promise<PrivilegeFinding[]> {
  const scope = `${config.schema}.${config.table}`;
  const on = quoteTable(config.schema, config.table);
  const u = quoteIdent(login.user);
  const findings: PrivilegeFinding[] = [];
  const needs = tableNeeds(config, d);
  const missing = (need: NeededPermission, code: string, message: string, fixSql = grantSql(needs, need, u)) =>
    findings.push({ scope, kind: 'missing', code, message, fixSql });
  if (login.sysadmin || login.dbOwner) return findings; // they bypass permission checks: nothing is missing

  if (!d) {
    const select = needs.needs.find((n) => n.kind === 'select');
    if (select)
      missing(
        select,
        'select',
        `user ${u} cannot see ${on} (no permission on it, or it does not exist). ${denyNote('SELECT', on)}`,
      );
    return findings;
  }

  const columns = d.columns.filter((c) => !c.computed).map((c) => c.name);
  const perms = [...TABLE_EXCESS_PERMISSIONS, 'VIEW CHANGE TRACKING'];
  const select = [
    ...columns.map((c, i) => `HAS_PERMS_BY_NAME(${nstring(on)}, 'OBJECT', 'SELECT', ${nstring(c)}, 'COLUMN') AS c${i}`),
    ...perms.map((p, i) => `HAS_PERMS_BY_NAME(${nstring(on)}, 'OBJECT', ${nstring(p)}) AS t${i}`),
  ];
  const row = (await conn.query<Record<string, unknown>>('doctor.table_perms', `SELECT ${select.join(', ')}`))[0] ?? {};
  const holds = (p: string) => flag(row[`t${perms.indexOf(p)}`]);

  const unreadable = columns.filter((_, i) => !flag(row[`c${i}`]));
  for (const need of needs.needs) {
    if (need.kind === 'select' && unreadable.length > 0) {
      const partial = { ...need, columns: unreadable };
      missing(
        partial,
        'select',
        `user ${u} may not SELECT ${unreadable.map(quoteIdent).join(', ')} of ${on}, which the ${config.capture.strategy} ` +
          `strategy reads (${need.why}). ${denyNote('SELECT', on)}`,
      );
    }
    if (need.kind === 'view_change_tracking' && !holds('VIEW CHANGE TRACKING'))
      missing(
        need,
        'view_change_tracking',
        `user ${u} lacks VIEW CHANGE TRACKING on ${on} (${need.why}). ${denyNote('VIEW CHANGE TRACKING', on)}`,
      );
    if (need.kind === 'cdc_role') {
      if (need.role) {
        const member = await conn.query<{ m: unknown }>(
          'doctor.cdc_role',
          `SELECT IS_MEMBER(${nstring(need.role)}) AS m`,
        );
        if (!flag(member[0]?.m))
          missing(need, 'cdc_role', `user ${u} is not a member of ${quoteIdent(need.role)}: ${need.why}.`);
      } else if (d.cdc.tracked && unreadable.length === 0) {
        // The instance exists but this login may not read it, and it cannot see which role gates it.
        const err = cdcNoAccessError(
          d,
          d.cdc.unreadable,
          config.capture.strategy === 'cdc' ? config.capture.captureInstance : undefined,
        );
        // Its columns are all readable here, so only the membership is missing.
        missing(need, 'cdc_role', err.detail);
      }
    }
  }

  // CONTROL implies every other permission on the table: name it alone (what else was granted directly shows
  // once it is revoked).
  const excessHeld = holds('CONTROL') ? (['CONTROL'] as const) : TABLE_EXCESS_PERMISSIONS;
  for (const perm of excessHeld) {
    if (!holds(perm)) continue;
    if (login.dataWriter && ['INSERT', 'UPDATE', 'DELETE'].includes(perm)) continue; // reported as db_datawriter
    if (login.ddlAdmin && perm === 'ALTER') continue; // reported as db_ddladmin
    findings.push({
      scope,
      kind: 'excess',
      code: perm.toLowerCase(),
      message: `user ${u} holds ${perm} on ${on}${
        perm === 'CONTROL' ? ' (every permission on it, and it may grant them)' : ''
      }${throughRole(login.roles)}; the extractor only reads.`,
      fixSql: `REVOKE ${perm} ON ${on} FROM ${u};`,
    });
  }
  return findings;
}
