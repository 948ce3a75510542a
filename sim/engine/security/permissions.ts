/**
 * The security model the extensions check: fixed roles (sysadmin; db_owner, db_datareader), custom database
 * roles, and GRANT/DENY of permissions on the database or on a table (optionally per column). DENY wins over
 * GRANT; sysadmin and db_owner bypass checks, as in SQL Server. State lives in `Database.extensions`.
 */
import type { Database, DatabaseUser, Table } from '../catalog.js';
import type { SessionContext } from '../session-context.js';

export type PermissionName =
  | 'SELECT'
  | 'EXECUTE'
  | 'VIEW CHANGE TRACKING'
  | 'VIEW DATABASE STATE'
  | 'INSERT'
  | 'UPDATE'
  | 'DELETE'
  | 'ALTER'
  | 'CONTROL';

/** One GRANT or DENY: on the database (objectId undefined) or a table, optionally one column. */
export interface PermissionEntry {
  grantee: string;
  permission: PermissionName;
  objectId?: number;
  column?: string;
  state: 'GRANT' | 'DENY';
}

export interface SecurityState {
  /** Custom roles (lower-case name → display name and principal id). Fixed roles are implicit. */
  roles: Map<string, { name: string; principalId: number; memberOf?: Set<string> }>;
  entries: PermissionEntry[];
}

export const FIXED_DATABASE_ROLES = ['db_owner', 'db_datareader', 'db_datawriter', 'db_ddladmin', 'public'];

export function securityOf(db: Database): SecurityState {
  let s = db.extensions.get('security') as SecurityState | undefined;
  if (!s) {
    s = { roles: new Map(), entries: [] };
    db.extensions.set('security', s);
  }
  return s;
}

/** The database user the session's login maps to (dbo for sysadmin), or undefined (guest). */
export function userOf(s: SessionContext, db: Database = s.database): DatabaseUser | undefined {
  if (s.login.sysadmin) return db.users.get('dbo');
  const login = s.login.name.toLowerCase();
  for (const u of db.users.values()) if (u.loginName?.toLowerCase() === login) return u;
  return undefined;
}

export function isSysadmin(s: SessionContext): boolean {
  return s.login.sysadmin;
}

/** Role membership, including nested custom roles (a role that is a member of another). */
export function isRoleMember(s: SessionContext, role: string, db: Database = s.database): boolean {
  if (s.login.sysadmin) return true;
  const r = role.toLowerCase();
  if (r === 'public') return true;
  return principalsOf(s, db).has(r);
}

export function isDbOwner(s: SessionContext, db: Database = s.database): boolean {
  return s.login.sysadmin || principalsOf(s, db).has('db_owner');
}

/** The user's name plus every role it belongs to (transitively), lower case. */
export function principalsOf(s: SessionContext, db: Database = s.database): Set<string> {
  const out = new Set<string>(['public']);
  const u = userOf(s, db);
  if (!u) return out;
  out.add(u.name.toLowerCase());
  const queue = [...u.roles];
  while (queue.length) {
    const r = (queue.shift() ?? '').toLowerCase();
    if (out.has(r)) continue;
    out.add(r);
    const role = securityOf(db).roles.get(r);
    if (role?.memberOf) queue.push(...role.memberOf);
  }
  return out;
}

/**
 * Whether the session holds `permission` on `table` (all of `columns` when given) or on the database.
 * sysadmin and db_owner always do; db_datareader implies SELECT on every table; DENY anywhere wins.
 * CONTROL implies every permission on its securable, and CONTROL on the database every permission on its
 * tables ("Permissions (Database Engine)": CONTROL "confers ownership-like capabilities"; a DENY of it denies
 * what it implies). ALTER implies nothing else here (DDL itself still needs db_owner in the simulator).
 */
export function hasPermission(
  s: SessionContext,
  permission: PermissionName,
  table?: Table,
  columns?: string[],
): boolean {
  const db = table?.database ?? s.database;
  if (isDbOwner(s, db)) return true;
  const who = principalsOf(s, db);
  const sec = securityOf(db);
  const applies = (e: PermissionEntry) =>
    who.has(e.grantee.toLowerCase()) && (e.permission === permission || e.permission === 'CONTROL');
  const onDb = (e: PermissionEntry) => e.objectId === undefined;
  const onTable = (e: PermissionEntry) => table !== undefined && e.objectId === table.objectId;
  const mine = sec.entries.filter(applies);
  // DENY at database or table level, or on any requested column.
  for (const e of mine) {
    if (e.state !== 'DENY') continue;
    if (onDb(e) || (onTable(e) && e.column === undefined)) return false;
    if (onTable(e) && e.column !== undefined) {
      if (!columns || columns.some((c) => c.toLowerCase() === e.column?.toLowerCase())) return false;
    }
  }
  if (permission === 'SELECT' && table && who.has('db_datareader')) return true;
  if (['INSERT', 'UPDATE', 'DELETE'].includes(permission) && table && who.has('db_datawriter')) return true;
  if (mine.some((e) => e.state === 'GRANT' && (onDb(e) || (onTable(e) && e.column === undefined)))) return true;
  if (!table || !columns || columns.length === 0) return false;
  const granted = new Set(
    mine.filter((e) => e.state === 'GRANT' && onTable(e) && e.column).map((e) => (e.column ?? '').toLowerCase()),
  );
  return columns.every((c) => granted.has(c.toLowerCase()));
}
