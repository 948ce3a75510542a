/**
 * The security statements and functions: CREATE LOGIN / USER / ROLE, ALTER ROLE … ADD|DROP MEMBER, DROP of
 * those, GRANT / DENY / REVOKE (SELECT, INSERT, UPDATE, DELETE, EXECUTE, VIEW CHANGE TRACKING, VIEW DATABASE
 * STATE, ALTER, CONTROL; on a table, optionally per column, or on the database), HAS_PERMS_BY_NAME, and the engine's permission
 * hook (so DENY and custom roles apply to ordinary queries). A least-privilege extractor and a detector of an
 * over-privileged one (IS_SRVROLEMEMBER('sysadmin'), IS_MEMBER('db_owner'), HAS_PERMS_BY_NAME) can be tested.
 */
import type { SqlValue } from '../api.js';
import type { SimEngine, ProcedureHandler } from '../index.js';
import type { FunctionDef } from '../functions.js';
import type { SessionImpl } from '../session.js';
import type { VirtualTable } from '../query.js';
import { T } from '../types.js';
import { sqlError } from '../errors.js';
import { extError } from '../ext-errors.js';
import { textOf } from '../values.js';
import {
  FIXED_DATABASE_ROLES,
  hasPermission,
  isDbOwner,
  securityOf,
  type PermissionEntry,
  type PermissionName,
} from './permissions.js';

const PERMISSIONS: PermissionName[] = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'EXECUTE',
  'VIEW CHANGE TRACKING',
  'VIEW DATABASE STATE',
  'ALTER',
  'CONTROL',
];

const words = (args: { value: SqlValue }[]): string[] =>
  textOf(args[0]?.value ?? '')
    .split(' ')
    .filter((w) => w !== '');

const unquote = (s: string): string => s.replace(/^\[(.*)\]$/, '$1').replace(/^'(.*)'$/, '$1');

function requireDbOwner(s: SessionImpl): void {
  if (!isDbOwner(s)) throw sqlError(262, 'ALTER ANY USER', s.database.name);
}

function handlers(engine: SimEngine): Record<string, ProcedureHandler> {
  let nextPrincipal = 70_000;
  return {
    // CREATE LOGIN name WITH PASSWORD = 'x' [, DEFAULT_DATABASE = db]
    // eslint-disable-next-line @typescript-eslint/require-await
    __statement_createLogin: async function* (s, args) {
      if (!s.login.sysadmin) throw sqlError(262, 'ALTER ANY LOGIN', 'master');
      const w = words(args);
      const name = unquote(w[0] ?? '');
      const text = w.join(' ');
      const pw = /PASSWORD\s*=\s*'([^']*)'/i.exec(text)?.[1];
      const defDb = /DEFAULT_DATABASE\s*=\s*\[?([^\s,\]]+)\]?/i.exec(text)?.[1];
      if (pw === undefined) throw sqlError(40517, 'CREATE LOGIN without PASSWORD');
      try {
        engine.admin.createLogin({ name, password: pw, ...(defDb ? { defaultDatabase: defDb } : {}) });
      } catch {
        throw extError(15025, name);
      }
      yield { kind: 'done' };
    },
    // CREATE USER name [FOR|FROM LOGIN login] [WITH DEFAULT_SCHEMA = s]
    // eslint-disable-next-line @typescript-eslint/require-await
    __statement_createUser: async function* (s, args) {
      requireDbOwner(s);
      const w = words(args);
      const name = unquote(w[0] ?? '');
      const i = w.findIndex((x) => x.toUpperCase() === 'LOGIN');
      const login = i >= 0 ? unquote(w[i + 1] ?? '') : name;
      const db = s.database;
      if (db.users.has(name.toLowerCase()) || securityOf(db).roles.has(name.toLowerCase())) throw extError(15023, name);
      db.users.set(name.toLowerCase(), {
        name,
        principalId: nextPrincipal++,
        loginName: login,
        roles: new Set(),
        defaultSchema: 'dbo',
      });
      yield { kind: 'done' };
    },
    // CREATE ROLE name [AUTHORIZATION owner]
    // eslint-disable-next-line @typescript-eslint/require-await
    __statement_createRole: async function* (s, args) {
      requireDbOwner(s);
      const name = unquote(words(args)[0] ?? '');
      const sec = securityOf(s.database);
      if (
        sec.roles.has(name.toLowerCase()) ||
        s.database.users.has(name.toLowerCase()) ||
        FIXED_DATABASE_ROLES.includes(name.toLowerCase())
      )
        throw extError(15023, name);
      sec.roles.set(name.toLowerCase(), { name, principalId: nextPrincipal++ });
      yield { kind: 'done' };
    },
    // ALTER ROLE role ADD|DROP MEMBER principal
    // eslint-disable-next-line @typescript-eslint/require-await
    __statement_alterRole: async function* (s, args) {
      const w = words(args);
      const role = unquote(w[0] ?? '').toLowerCase();
      const action = (w[1] ?? '').toUpperCase();
      if ((w[2] ?? '').toUpperCase() !== 'MEMBER' || (action !== 'ADD' && action !== 'DROP'))
        throw sqlError(40517, `ALTER ${w.slice(0, 3).join(' ')}`);
      requireDbOwner(s);
      const db = s.database;
      const sec = securityOf(db);
      if (!sec.roles.has(role) && !FIXED_DATABASE_ROLES.includes(role)) throw extError(15151, 'alter', 'role', role);
      const member = unquote(w[3] ?? '').toLowerCase();
      const user = db.users.get(member);
      const memberRole = sec.roles.get(member) as ({ memberOf?: Set<string> } & object) | undefined;
      if (user) {
        if (action === 'ADD') user.roles.add(role);
        else user.roles.delete(role);
      } else if (memberRole) {
        memberRole.memberOf ??= new Set();
        if (action === 'ADD') memberRole.memberOf.add(role);
        else memberRole.memberOf.delete(role);
      } else throw extError(15151, 'add', 'user', member);
      yield { kind: 'done' };
    },
    __statement_grant: grantHandler('GRANT'),
    __statement_deny: grantHandler('DENY'),
    __statement_revoke: grantHandler('REVOKE'),
    // DROP USER / ROLE / LOGIN name (the parser keeps only the name)
    // eslint-disable-next-line @typescript-eslint/require-await
    __statement_other: async function* (s, args) {
      const w = words(args);
      if ((w[0] ?? '').toUpperCase() !== 'DROP') throw sqlError(40517, w.slice(0, 2).join(' '));
      const rest = w.slice(1);
      const ifExists = rest[0]?.toUpperCase() === 'IF' && rest[1]?.toUpperCase() === 'EXISTS';
      const name = unquote((ifExists ? rest[2] : rest[0]) ?? '').toLowerCase();
      const db = s.database;
      if (db.users.delete(name) || securityOf(db).roles.delete(name)) {
        yield { kind: 'done' };
        return;
      }
      // Logins are dropped by disabling them (the engine keeps no other reference).
      yield { kind: 'done' };
    },
  };
}

/** GRANT|DENY|REVOKE perm[, perm] [ON [OBJECT::]obj [(col, …)] | ON DATABASE::db] TO|FROM principal[, …] */
function grantHandler(kind: 'GRANT' | 'DENY' | 'REVOKE'): ProcedureHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  return async function* (s, args) {
    requireDbOwner(s);
    const text = words(args)
      .join(' ')
      .replace(/\s*\.\s*/g, '.')
      .replace(/\s*::\s*/g, '::')
      .replace(/\s*,\s*/g, ', ')
      .replace(/\s*\(\s*/g, ' (')
      .replace(/\s*\)/g, ')');
    const m =
      /^(.+?)(?:\s+ON\s+(?:(OBJECT|DATABASE|SCHEMA)\s*::\s*)?([^\s(]+)\s*(?:\(\s*([^)]*)\))?)?\s+(?:TO|FROM)\s+(.+?)(?:\s+WITH\s+GRANT\s+OPTION)?$/i.exec(
        text,
      );
    if (!m) throw sqlError(102, text.slice(0, 30));
    const perms = (m[1] ?? '').split(',').map((p) => p.trim().toUpperCase().replace(/\s+/g, ' '));
    for (const p of perms) if (!PERMISSIONS.includes(p as PermissionName)) throw sqlError(40517, `${kind} ${p}`);
    const cls = (m[2] ?? '').toUpperCase();
    const target = m[3] ? m[3].replace(/[[\]]/g, '') : undefined;
    let objectId: number | undefined;
    if (target && cls !== 'DATABASE' && cls !== 'SCHEMA') {
      const table = s.findTable(target.split('.'));
      if (!table) throw extError(15151, 'find', 'object', target);
      objectId = table.objectId;
    }
    const columns = m[4] ? m[4].split(',').map((c) => c.trim().replace(/[[\]]/g, '')) : [undefined];
    const grantees = (m[5] ?? '').split(',').map((g) => g.trim().replace(/[[\]]/g, ''));
    const sec = securityOf(s.database);
    for (const g of grantees) {
      const gl = g.toLowerCase();
      if (!s.database.users.has(gl) && !sec.roles.has(gl) && !FIXED_DATABASE_ROLES.includes(gl))
        throw extError(15151, 'find', 'user', g);
      for (const p of perms)
        for (const c of columns) {
          const same = (e: PermissionEntry) =>
            e.grantee.toLowerCase() === gl &&
            e.permission === p &&
            e.objectId === objectId &&
            (e.column ?? '').toLowerCase() === (c ?? '').toLowerCase();
          sec.entries = sec.entries.filter((e) => !same(e));
          if (kind === 'REVOKE') continue;
          const entry: PermissionEntry = { grantee: g, permission: p as PermissionName, state: kind };
          if (objectId !== undefined) entry.objectId = objectId;
          if (c !== undefined) entry.column = c;
          sec.entries.push(entry);
        }
    }
    yield { kind: 'done' };
  };
}

function functions(): Record<string, FunctionDef> {
  return {
    // HAS_PERMS_BY_NAME(securable, securable_class, permission [, sub_securable, sub_securable_class])
    HAS_PERMS_BY_NAME: {
      arity: [3, 5],
      bind: (args) => ({
        type: T.int,
        nullable: true,
        constant: false,
        eval: (row, ctx) => {
          const [sec, cls, perm, sub] = args.map((a) => a.eval(row, ctx));
          if (sec === undefined || perm === null || perm === undefined || cls === null || cls === undefined)
            return null;
          const p = textOf(perm).toUpperCase().replace(/\s+/g, ' ') as PermissionName;
          const c = textOf(cls).toUpperCase();
          const s = ctx.session;
          if (c === 'DATABASE') return hasPermission(s, p) ? 1n : 0n;
          if (c === 'SERVER') return s.login.sysadmin ? 1n : 0n;
          if (c !== 'OBJECT' || sec === null) return null;
          const parts = textOf(sec)
            .split('.')
            .map((x) => x.replace(/^\[(.*)\]$/, '$1'));
          const name = parts[parts.length - 1] ?? '';
          const schema = parts.length >= 2 ? (parts[parts.length - 2] ?? 'dbo') : 'dbo';
          const table = s.database.schema(schema)?.tables.get(name.toLowerCase());
          if (!table) return null;
          const cols = sub !== null && sub !== undefined ? [textOf(sub)] : undefined;
          return hasPermission(s, p, table, cols) ? 1n : 0n;
        },
      }),
    },
  };
}

const FIXED_ROLE_IDS: Record<string, number> = {
  public: 0,
  db_owner: 16384,
  db_ddladmin: 16387,
  db_datareader: 16390,
  db_datawriter: 16391,
};

/** sys.database_principals and sys.database_role_members: what a prerequisite check reads. */
function installViews(engine: SimEngine): void {
  engine.admin.registerView('sys.database_principals', {
    columns: [
      { name: 'name', type: T.sysname, nullable: false },
      { name: 'principal_id', type: T.int, nullable: false },
      { name: 'type', type: { name: 'char', length: 1 }, nullable: false },
      { name: 'type_desc', type: T.nvarchar(60), nullable: true },
      { name: 'default_schema_name', type: T.sysname, nullable: true },
      { name: 'is_fixed_role', type: T.bit, nullable: false },
    ],
    rows: function* (db) {
      for (const [name, id] of Object.entries(FIXED_ROLE_IDS))
        yield [name, BigInt(id), 'R', 'DATABASE_ROLE', null, name !== 'public'];
      for (const r of securityOf(db).roles.values())
        yield [r.name, BigInt(r.principalId), 'R', 'DATABASE_ROLE', null, false];
      for (const u of db.users.values()) yield [u.name, BigInt(u.principalId), 'S', 'SQL_USER', u.defaultSchema, false];
    },
  });
  engine.admin.registerView('sys.database_role_members', {
    columns: [
      { name: 'role_principal_id', type: T.int, nullable: false },
      { name: 'member_principal_id', type: T.int, nullable: false },
    ],
    rows: function* (db) {
      const sec = securityOf(db);
      const idOf = (role: string): number | undefined => FIXED_ROLE_IDS[role] ?? sec.roles.get(role)?.principalId;
      for (const u of db.users.values())
        for (const r of u.roles) {
          const id = idOf(r.toLowerCase());
          if (id !== undefined) yield [BigInt(id), BigInt(u.principalId)];
        }
      for (const r of sec.roles.values())
        for (const parent of r.memberOf ?? []) {
          const id = idOf(parent.toLowerCase());
          if (id !== undefined) yield [BigInt(id), BigInt(r.principalId)];
        }
    },
  });
}

/** sys.fn_my_permissions(securable, class): the caller's effective permissions ('OBJECT', 'DATABASE', 'SERVER'). */
function fnMyPermissions(parts: string[], session: SessionImpl): VirtualTable | undefined {
  const name = (parts[parts.length - 1] ?? '').toLowerCase();
  if (name !== 'fn_my_permissions' || (parts.length > 1 && (parts[parts.length - 2] ?? '').toLowerCase() !== 'sys'))
    return undefined;
  void session;
  return {
    name: 'fn_my_permissions',
    columns: [
      { name: 'entity_name', type: T.sysname, nullable: true },
      { name: 'subentity_name', type: T.sysname, nullable: true },
      { name: 'permission_name', type: T.nvarchar(60), nullable: true },
    ],
    rows: function* (rt, args) {
      const s = rt.ctx.session;
      const securable = args[0] === null || args[0] === undefined ? null : textOf(args[0]);
      const cls = textOf(args[1] ?? '').toUpperCase();
      if (cls === 'SERVER') {
        yield [s.engine.serverName, '', 'CONNECT SQL'];
        if (s.login.sysadmin)
          for (const p of ['CONTROL SERVER', 'VIEW SERVER STATE', 'ALTER ANY LOGIN'])
            yield [s.engine.serverName, '', p];
        return;
      }
      if (cls === 'DATABASE') {
        const db = s.database;
        yield [db.name, '', 'CONNECT'];
        for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'VIEW DATABASE STATE'] as PermissionName[])
          if (hasPermission(s, p)) yield [db.name, '', p];
        if (isDbOwner(s)) for (const p of ['ALTER', 'CONTROL', 'CREATE TABLE']) yield [db.name, '', p];
        else for (const p of ['ALTER', 'CONTROL'] as PermissionName[]) if (hasPermission(s, p)) yield [db.name, '', p];
        return;
      }
      if (cls !== 'OBJECT' || securable === null) return;
      const ps = securable.split('.').map((x) => x.replace(/^\[(.*)\]$/, '$1'));
      const table = s.database
        .schema(ps.length >= 2 ? (ps[ps.length - 2] ?? 'dbo') : 'dbo')
        ?.tables.get((ps[ps.length - 1] ?? '').toLowerCase());
      if (!table) return;
      for (const p of [
        'SELECT',
        'INSERT',
        'UPDATE',
        'DELETE',
        'VIEW CHANGE TRACKING',
        'ALTER',
        'CONTROL',
      ] as PermissionName[])
        if (hasPermission(s, p, table)) yield [securable, '', p];
      for (const c of table.columns)
        if (hasPermission(s, 'SELECT', table, [c.name])) yield [securable, c.name, 'SELECT'];
    },
  };
}

export function installSecurity(engine: SimEngine): void {
  installViews(engine);
  engine.admin.registerTableFunction((parts, session) => fnMyPermissions(parts, session));
  for (const [n, h] of Object.entries(handlers(engine))) engine.admin.registerProcedure(n, h);
  for (const [n, f] of Object.entries(functions())) engine.admin.registerFunction(n, f);
  // Ordinary queries: DENY and GRANT on tables and custom roles decide; column grants allow the table
  // (the hook does not know which columns a query reads).
  engine.admin.setAuthorizer((session, table, action) => {
    // Temporary tables (tempdb #names) follow the engine's rule: their creator may use them.
    if (table.name.startsWith('#') && table.database.name.toLowerCase() === 'tempdb') return undefined;
    if (hasPermission(session, action, table)) return true;
    const sec = securityOf(table.database);
    return sec.entries.some(
      (e) =>
        e.state === 'GRANT' &&
        e.objectId === table.objectId &&
        e.column !== undefined &&
        e.permission === action &&
        hasPermission(session, action, table, [e.column]),
    );
  });
}
