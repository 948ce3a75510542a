/**
 * The simulator's SQL engine: `createEngine()` returns the {@link Engine} the TDS layer drives, plus an admin
 * API for tests, the seed and part 2 (extensions: procedures, functions, table functions, commit listeners).
 */
import {
  SqlError,
  type ColumnMeta,
  type Engine,
  type LoginRequest,
  type LoginResult,
  type Session,
  type SqlValue,
} from './api.js';
import { Database, norm, type Column, type Login, type Table } from './catalog.js';
import type { CommittedTransaction } from './commit-log.js';
import type { FunctionDef } from './functions.js';
import type { Txn, ReadView, RowRecord } from './mvcc.js';
import type { Permission, VirtualTable } from './query.js';
import type { SessionContext } from './session-context.js';
import { SessionImpl, type ProcedureHandler, type SessionHost, type StatementHook } from './session.js';
import type { StatementStats } from './accounting.js';
import type { ViewDef } from './system-views.js';
import { insertRow, nextIdentity, vacuumRecord, type WriteContext } from './table-store.js';
import { installExtensions } from './extensions.js';
import { Txn as TxnClass } from './mvcc.js';
import { assignValue } from './dml.js';
import { convertValue } from './values.js';
import { ParsedStatementCache } from './statement-cache.js';

export type { ProcedureHandler, StatementHook } from './session.js';
export type { CommittedTransaction } from './commit-log.js';
export type { StatementStats, TableAccess } from './accounting.js';

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** @@SERVERNAME. */
  serverName?: string;
}

/** A login definition for {@link EngineAdmin.createLogin}. */
export interface LoginSpec {
  name: string;
  password: string;
  defaultDatabase?: string;
  sysadmin?: boolean;
  /** Databases where the login gets a user (with these roles). */
  databases?: { name: string; user?: string; roles?: string[] }[];
}

/** A result of {@link EngineAdmin.execute}: everything the batch produced, materialised. */
export interface AdminResult {
  resultSets: { columns: ColumnMeta[]; rows: SqlValue[][] }[];
  rowCounts: bigint[];
  messages: SqlError[];
  /** The first error (severity ≥ 11), if any. */
  error?: SqlError;
}

/** Resolves a table-valued function by name (part 2: CDC functions, CHANGETABLE). */
export type TableFunctionResolver = (parts: string[], session: SessionImpl, extra: unknown) => VirtualTable | undefined;

/** Test/seed administration of the engine. */
export interface EngineAdmin {
  createDatabase(name: string): Database;
  database(name: string): Database | undefined;
  createLogin(spec: LoginSpec): Login;
  /** Runs a batch as `sa` (or the given login) in `database`, collecting all events. Throws on the first error. */
  execute(sql: string, opts?: { database?: string; login?: string; throwOnError?: boolean }): Promise<AdminResult>;
  /**
   * Loads rows into a table in one transaction without SQL parsing (seed and benchmarks): values are given
   * for `columns` in order, converted with INSERT rules; identity, rowversion and defaults are applied.
   */
  bulkInsert(database: string, table: string, columns: string[], rows: SqlValue[][]): Promise<number>;
  /** Accounting of statements (all sessions, or one). */
  statementStats(spid?: number): StatementStats[];
  /** Live sessions. */
  sessions(): SessionImpl[];
  registerProcedure(name: string, handler: ProcedureHandler): void;
  registerFunction(name: string, def: FunctionDef): void;
  registerTableFunction(resolver: TableFunctionResolver): void;
  /** Part 2 hook: a catalog view of an extension, by `schema.name` (this engine only). */
  registerView(name: string, def: ViewDef): void;
  /** Replaces the permission decision (return undefined to fall back to the role defaults). */
  setAuthorizer(fn: (session: SessionImpl, table: Table, action: Permission) => boolean | undefined): void;
  onCommit(database: string, listener: (t: CommittedTransaction) => void): () => void;
  /** DDL on a table (CREATE/ALTER/TRUNCATE TABLE) after it applied. */
  onDdl(database: string, listener: Database['ddlListeners'][number]): void;
  /** The last commit sequence number (LSN of the newest committed transaction). */
  readonly lastCommitSeq: number;
  /**
   * Part 2 hook: runs `fn` in one internal transaction (as `sa`, in `database`): the CDC capture and cleanup
   * jobs write change tables through it. Commits when `fn` resolves, rolls back when it throws.
   */
  writeTransaction<T>(database: string, fn: (wc: WriteContext) => Promise<T>): Promise<T>;
  /** Part 2 hook: state of extensions (CDC, Change Tracking, security), keyed by extension name. */
  readonly extensions: Map<string, unknown>;
  /** Fault injection (sim/faults): a hook that may hold statements back before they run; undefined removes it. */
  setStatementHook(hook: StatementHook | undefined): void;
}

/** The engine as the simulator uses it. */
export interface SimEngine extends Engine {
  readonly admin: EngineAdmin;
}

class EngineImpl implements SimEngine, SessionHost {
  readonly databases = new Map<string, Database>();
  readonly extraFunctions = new Map<string, FunctionDef>();
  readonly extensionViews = new Map<string, ViewDef>();
  readonly activeTxns = new Set<Txn>();
  readonly serverName: string;
  readonly version = '15.0.4322.2';
  lastCommitSeq = 0;
  private readonly logins = new Map<string, Login>();
  statementHook: StatementHook | undefined;
  readonly statementCache = new ParsedStatementCache();
  private readonly sessionsById = new Map<number, SessionImpl>();
  private readonly procedures = new Map<string, ProcedureHandler>();
  private readonly tableFunctions: TableFunctionResolver[] = [];
  private readonly views = new Set<ReadView>();
  private vacuumQueue: { seq: number; items: [Table, RowRecord][] }[] = [];
  private nextSpid = 51;
  private nextDatabaseId = 1;
  private nextPrincipalId = 256;
  readonly admin: EngineAdmin;

  constructor(opts: EngineOptions) {
    this.serverName = opts.serverName ?? 'TIDEMARK-SIM';
    for (const name of ['master', 'tempdb', 'model', 'msdb']) this.createDatabase(name);
    this.createLogin({ name: 'sa', password: 'Tidemark!Sim2019', sysadmin: true, defaultDatabase: 'master' });
    const lastSeq = (): number => this.lastCommitSeq;
    this.admin = {
      createDatabase: (name) => this.createDatabase(name),
      database: (name) => this.database(name),
      createLogin: (spec) => this.createLogin(spec),
      execute: (sql, o) => this.adminExecute(sql, o),
      bulkInsert: (db, t, cols, rows) => this.bulkInsert(db, t, cols, rows),
      statementStats: (spid) =>
        [...this.sessionsById.values()]
          .filter((s) => spid === undefined || s.spid === spid)
          .flatMap((s) => s.stats)
          .sort((a, b) => a.statementId - b.statementId),
      sessions: () => [...this.sessionsById.values()],
      registerProcedure: (name, h) => this.procedures.set(name.toLowerCase().replace(/^(sys|dbo)\./, ''), h),
      registerFunction: (name, def) => this.extraFunctions.set(name.toUpperCase(), def),
      registerTableFunction: (r) => this.tableFunctions.push(r),
      registerView: (name, def) => this.extensionViews.set(name.toLowerCase(), def),
      setAuthorizer: (fn) => {
        this.authorizer = fn;
      },
      onCommit: (db, l) => {
        const d = this.database(db);
        if (!d) throw new Error(`no database ${db}`);
        return d.onCommit(l);
      },
      onDdl: (db, l) => {
        const d = this.database(db);
        if (!d) throw new Error(`no database ${db}`);
        d.ddlListeners.push(l);
      },
      get lastCommitSeq() {
        return lastSeq();
      },
      writeTransaction: (db, fn) => this.writeTransaction(db, fn),
      extensions: new Map(),
      setStatementHook: (hook) => {
        this.statementHook = hook;
      },
    };
    installExtensions(this); // part 2 hook: CDC, Change Tracking, security
  }

  private async writeTransaction<T>(database: string, fn: (wc: WriteContext) => Promise<T>): Promise<T> {
    const db = this.database(database);
    if (!db) throw new Error(`no database ${database}`);
    const login = this.logins.get('sa') as Login;
    const session = new SessionImpl(this.nextSpid++, this, db, login, 'tidemark-sim-internal', 'localhost', false);
    const txn = new TxnClass(session.isolation, session.spid, false);
    this.begin(txn);
    try {
      const r = await fn({ txn, session, signal: new AbortController().signal });
      this.commit(txn);
      return r;
    } catch (e) {
      this.rollback(txn);
      throw e;
    }
  }

  // --- catalog
  createDatabase(name: string): Database {
    const db = new Database(name, this.nextDatabaseId++);
    this.databases.set(norm(name), db);
    return db;
  }

  database(name: string): Database | undefined {
    return this.databases.get(norm(name));
  }

  databaseById(id: number): Database | undefined {
    for (const d of this.databases.values()) if (d.databaseId === id) return d;
    return undefined;
  }

  createLogin(spec: LoginSpec): Login {
    const login: Login = {
      name: spec.name,
      password: spec.password,
      defaultDatabase: spec.defaultDatabase ?? 'master',
      sysadmin: spec.sysadmin ?? false,
      principalId: this.nextPrincipalId++,
      disabled: false,
    };
    this.logins.set(norm(spec.name), login);
    for (const d of spec.databases ?? []) {
      const db = this.database(d.name);
      if (!db) throw new Error(`no database ${d.name}`);
      db.users.set(norm(d.user ?? spec.name), {
        name: d.user ?? spec.name,
        principalId: this.nextPrincipalId++,
        loginName: spec.name,
        roles: new Set((d.roles ?? []).map(norm)),
        defaultSchema: 'dbo',
      });
    }
    return login;
  }

  /** Database access: sysadmin, a mapped user, or master/tempdb (guest). Permission checks beyond access are part 2. */
  canAccess(login: Login, db: Database): boolean {
    if (login.sysadmin) return true;
    if (['master', 'tempdb', 'msdb'].includes(norm(db.name))) return true;
    for (const u of db.users.values()) if (u.loginName && norm(u.loginName) === norm(login.name)) return true;
    return false;
  }

  /**
   * The permission hook. Sysadmin and db_owner may do anything; db_datareader may SELECT, db_datawriter may
   * INSERT/UPDATE/DELETE. GRANT/DENY, custom roles and column permissions are part 2 (set `authorizer`).
   */
  authorizer: ((session: SessionImpl, table: Table, action: Permission) => boolean | undefined) | undefined;

  authorize(session: SessionImpl, table: Table, action: Permission): boolean {
    const custom = this.authorizer?.(session, table, action);
    if (custom !== undefined) return custom;
    if (session.login.sysadmin) return true;
    if (table.name.startsWith('#') && norm(table.database.name) === 'tempdb') return true;
    const roles = this.userOf(session.login, table.database)?.roles ?? new Set<string>();
    if (roles.has('db_owner')) return true;
    if (action === 'SELECT') return roles.has('db_datareader');
    return roles.has('db_datawriter');
  }

  canAlter(session: SessionImpl, db: Database): boolean {
    if (session.login.sysadmin) return true;
    const roles = this.userOf(session.login, db)?.roles;
    return !!roles && (roles.has('db_owner') || roles.has('db_ddladmin'));
  }

  private userOf(login: Login, db: Database): Database['users'] extends Map<string, infer U> ? U | undefined : never {
    for (const u of db.users.values()) if (u.loginName && norm(u.loginName) === norm(login.name)) return u;
    return undefined;
  }

  // --- Engine
  async login(req: LoginRequest): Promise<LoginResult> {
    await Promise.resolve();
    const login = this.logins.get(norm(req.userName));
    if (!login || login.password !== req.password || login.disabled)
      return { kind: 'error', error: new SqlError(18456, 14, 1, `Login failed for user '${req.userName}'.`) };
    const dbName = req.database || login.defaultDatabase;
    const db = this.database(dbName);
    if (!db || !this.canAccess(login, db))
      return {
        kind: 'error',
        error: new SqlError(4060, 11, 1, `Cannot open database "${dbName}" requested by the login. The login failed.`),
      };
    const spid = this.nextSpid++;
    const session = new SessionImpl(spid, this, db, login, req.appName, req.hostName, req.readOnlyIntent);
    this.sessionsById.set(spid, session);
    return {
      kind: 'session',
      session,
      database: db.name,
      infoMessages: [
        new SqlError(5701, 0, 2, `Changed database context to '${db.name}'.`),
        new SqlError(5703, 0, 1, 'Changed language setting to us_english.'),
      ],
    };
  }

  removeSession(s: SessionImpl): void {
    this.sessionsById.delete(s.spid);
  }

  *sessionContexts(): Generator<SessionContext & { isolation: number }> {
    yield* this.sessionsById.values();
  }

  procedure(name: string): ProcedureHandler | undefined {
    return this.procedures.get(name.toLowerCase());
  }

  tableFunction(parts: string[], session: Session & SessionContext, extra: unknown): VirtualTable | undefined {
    for (const r of this.tableFunctions) {
      const vt = r(parts, session as SessionImpl, extra);
      if (vt) return vt;
    }
    return undefined;
  }

  // --- transactions
  begin(txn: Txn): void {
    this.activeTxns.add(txn);
  }

  commit(txn: Txn): void {
    const seq = ++this.lastCommitSeq;
    const items = txn.writes.map((w) => [w.table as Table, w.record] as [Table, RowRecord]);
    const changes = txn.changes.slice();
    txn.finish('committed', seq);
    this.activeTxns.delete(txn);
    if (changes.length) this.publish(txn, seq, changes, items);
    if (items.length) {
      this.vacuumQueue.push({ seq, items });
      this.vacuum();
    }
  }

  rollback(txn: Txn): void {
    for (let i = txn.writes.length - 1; i >= 0; i--) txn.writes[i]?.undo();
    txn.changes.length = 0;
    txn.finish('aborted');
    this.activeTxns.delete(txn);
  }

  private publish(txn: Txn, seq: number, changes: Txn['changes'], items: [Table, RowRecord][]): void {
    const byId = new Map<number, Table>();
    for (const [t] of items) byId.set(t.objectId, t);
    for (const dbName of txn.databases) {
      const db = this.database(dbName);
      if (!db || db.commitListeners.length === 0) continue;
      const mine = changes.filter((c) => byId.get(c.tableObjectId)?.database === db);
      if (!mine.length) continue;
      const entry: CommittedTransaction = {
        lsn: BigInt(seq),
        txnId: txn.id,
        beginTime: txn.beginTime,
        commitTime: new Date(),
        changes: mine,
        table: (c) => byId.get(c.tableObjectId),
      };
      for (const l of db.commitListeners) l(entry);
    }
  }

  registerView(view: ReadView): () => void {
    this.views.add(view);
    return () => {
      this.views.delete(view);
      if (this.vacuumQueue.length) this.vacuum();
    };
  }

  /** Prunes versions no active view or snapshot can see (see vacuumRecord). */
  private vacuum(): void {
    let minSeq = Number.POSITIVE_INFINITY;
    for (const v of this.views) if (!v.dirty && v.seq < minSeq) minSeq = v.seq;
    for (const t of this.activeTxns) if (t.snapshotSeq !== undefined && t.snapshotSeq < minSeq) minSeq = t.snapshotSeq;
    const keep: typeof this.vacuumQueue = [];
    for (const entry of this.vacuumQueue) {
      if (entry.seq <= minSeq) for (const [t, r] of entry.items) vacuumRecord(t, r, minSeq);
      else keep.push(entry);
    }
    this.vacuumQueue = keep;
  }

  // --- admin
  private async bulkInsert(
    database: string,
    tableName: string,
    columns: string[],
    rows: SqlValue[][],
  ): Promise<number> {
    const db = this.database(database);
    if (!db) throw new Error(`no database ${database}`);
    const parts = tableName.split('.');
    const table = db
      .schema(parts.length > 1 ? (parts[0] ?? 'dbo') : 'dbo')
      ?.tables.get(norm(parts[parts.length - 1] ?? ''));
    if (!table) throw new Error(`no table ${tableName}`);
    const cols = columns.map((c) => {
      const col = table.column(c);
      if (!col) throw new Error(`no column ${c}`);
      return col;
    });
    const login = this.logins.get('sa') as Login;
    const session = new SessionImpl(this.nextSpid++, this, db, login, 'tidemark-sim-bulk', 'localhost', false);
    const txn = new TxnClass(session.isolation, session.spid, true);
    this.begin(txn);
    const wc = { txn, session, signal: new AbortController().signal };
    try {
      for (const src of rows) {
        const values = new Array<SqlValue>(table.nextSlot).fill(null);
        const given = new Map<Column, SqlValue>();
        cols.forEach((c, i) => given.set(c, src[i] ?? null));
        for (const col of table.columns) {
          if (col.isRowversion) continue;
          if (col.identity && !given.has(col)) {
            values[col.slot] = convertValue(nextIdentity(table), { name: 'bigint' }, col.type);
            continue;
          }
          const v = given.has(col) ? (given.get(col) ?? null) : null;
          values[col.slot] = assignValue(v, col.type, col, table, 'INSERT');
        }
        await insertRow(table, values, wc);
      }
      this.commit(txn);
    } catch (e) {
      this.rollback(txn);
      throw e;
    }
    return rows.length;
  }

  private async adminExecute(
    sql: string,
    o: { database?: string; login?: string; throwOnError?: boolean } = {},
  ): Promise<AdminResult> {
    const login = this.logins.get(norm(o.login ?? 'sa'));
    if (!login) throw new Error(`no login ${o.login ?? 'sa'}`);
    const db = this.database(o.database ?? 'master');
    if (!db) throw new Error(`no database ${o.database ?? ''}`);
    const spid = this.nextSpid++;
    const session = new SessionImpl(spid, this, db, login, 'tidemark-sim-admin', 'localhost', false);
    this.sessionsById.set(spid, session);
    const out: AdminResult = { resultSets: [], rowCounts: [], messages: [] };
    try {
      for await (const ev of session.executeBatch(sql, new AbortController().signal)) {
        if (ev.kind === 'resultSet') out.resultSets.push({ columns: ev.columns, rows: [...ev.rows] });
        else if (ev.kind === 'done' && ev.rowCount !== undefined) out.rowCounts.push(ev.rowCount);
        else if (ev.kind === 'message') {
          out.messages.push(ev.error);
          if (ev.error.severity >= 11 && !out.error) out.error = ev.error;
        }
      }
    } finally {
      session.close();
    }
    if (out.error && o.throwOnError !== false) throw out.error;
    return out;
  }
}

/** Creates an engine with master, tempdb, model and msdb and the `sa` login. */
export function createEngine(options: EngineOptions = {}): SimEngine {
  return new EngineImpl(options);
}

export type { SessionImpl };
