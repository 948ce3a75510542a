/**
 * A session: one connection's state (database, isolation level, transaction, SET options, variables) and the
 * statement interpreter that turns batches and RPCs into ExecEvents. Error handling follows SQL Server with
 * XACT_ABORT OFF: statement-terminating errors (2627, 515, 2628, 1222…) roll back the statement and the batch
 * continues; batch-aborting errors (compile errors, conversion errors, 8134…) stop the batch; 1205 and 3960
 * also roll back the transaction. Attention (the AbortSignal) stops at the next row or statement boundary and
 * leaves an explicit transaction open, as SQL Server does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IsolationLevel,
  SqlError,
  type ColumnMeta,
  type ExecEvent,
  type RpcParam,
  type Session,
  type SqlType,
  type SqlValue,
} from './api.js';
import type { ParsedStatement, Statement } from './ast.js';
import { Scope, compile, type BindContext, type ColumnInfo, type EvalCtx } from './binder.js';
import { coerce } from './coercion.js';
import type { Database, Login, Table } from './catalog.js';
import { norm } from './catalog.js';
import { alterTable, createIndex, createTable, dropIndex, dropTables, truncateTable, type DdlContext } from './ddl.js';
import { executeDelete, executeInsert, executeUpdate, type DmlContext, type OutputCollector } from './dml.js';
import { EngineError, sqlError, unsupported } from './errors.js';
import { Txn, type ReadView } from './mvcc.js';
import { parseBatch, parseParamDeclarations } from './parser.js';
import type { ParsedStatementCache } from './statement-cache.js';
import { QueryPlanner, type Permission, type Resolver, type Runtime, type VirtualTable } from './query.js';
import {
  loginDefaultOptions,
  tempTableName,
  type EngineCore,
  type SessionContext,
  type SessionOptions,
} from './session-context.js';
import { MAX_STATS_PER_SESSION, newStatementStats, type StatementStats } from './accounting.js';
import { systemView } from './system-views.js';
import { AbortedError, insertRow } from './table-store.js';
import { convertValue, textOf } from './values.js';

/** What a session needs from the engine beyond EngineCore. */
export interface SessionHost extends EngineCore {
  commit(txn: Txn): void;
  rollback(txn: Txn): void;
  begin(txn: Txn): void;
  registerView(view: ReadView): () => void;
  procedure(name: string): ProcedureHandler | undefined;
  tableFunction(parts: string[], session: Session & SessionContext, args: unknown): VirtualTable | undefined;
  canAccess(login: Login, db: Database): boolean;
  /** The permission hook: may this session do `action` on `table`? */
  authorize(session: SessionImpl, table: Table, action: Permission): boolean;
  /** May this session run DDL in `db`? */
  canAlter(session: SessionImpl, db: Database): boolean;
  removeSession(s: SessionImpl): void;
  /** Fault injection (sim/faults): may hold a statement back before it runs. */
  statementHook: StatementHook | undefined;
  /** Parsed statements by SQL text, shared by the engine's sessions; emptied by every DDL statement. */
  readonly statementCache: ParsedStatementCache;
}

/**
 * Called before each statement of a batch or sp_executesql runs, with its text. A returned promise holds the
 * statement back until it settles (the fault injector's stall); ATTENTION still cancels the wait.
 */
export type StatementHook = (session: SessionContext, text: string, signal: AbortSignal) => Promise<void> | undefined;

/** A procedure callable by RPC or EXEC (part 2 registers sys.sp_cdc_*). */
export type ProcedureHandler = (
  session: SessionImpl,
  args: { name?: string; type: SqlType; value: SqlValue; output: boolean }[],
  signal: AbortSignal,
) => AsyncGenerator<ExecEvent, number | void>;

/** Statements that change a schema: each empties the engine's statement cache. */
const DDL_KINDS = new Set<Statement['kind']>([
  'createTable',
  'dropTable',
  'truncateTable',
  'createIndex',
  'dropIndex',
  'alterTable',
  'createDatabase',
  'dropDatabase',
  'alterDatabase',
  'createSchema',
]);

interface Frame {
  vars: Map<string, { type: SqlType; value: SqlValue }>;
  varTypes: Map<string, SqlType>;
}

const INT_TYPE: SqlType = { name: 'int' };

type Control = 'return' | 'break' | 'continue' | 'abort' | undefined;

const ISOLATION_BY_NAME: Record<string, IsolationLevel> = {
  'READ UNCOMMITTED': IsolationLevel.ReadUncommitted,
  'READ COMMITTED': IsolationLevel.ReadCommitted,
  'REPEATABLE READ': IsolationLevel.RepeatableRead,
  SERIALIZABLE: IsolationLevel.Serializable,
  SNAPSHOT: IsolationLevel.Snapshot,
};

export class SessionImpl implements Session, SessionContext {
  tranCount = 0;
  rowCount = 0n;
  lastError = 0;
  lastIdentity: SqlValue = null;
  scopeIdentity: SqlValue = null;
  txn: Txn | undefined;
  isolation: IsolationLevel = IsolationLevel.ReadCommitted;
  readonly options: SessionOptions = loginDefaultOptions();
  /** The statements' accounting, most recent last; older entries are dropped in halves (see newStats). */
  private readonly statsLog: StatementStats[] = [];

  /** The last {@link MAX_STATS_PER_SESSION} statements' accounting, most recent last. */
  get stats(): StatementStats[] {
    const n = this.statsLog.length;
    return n > MAX_STATS_PER_SESSION ? this.statsLog.slice(n - MAX_STATS_PER_SESSION) : this.statsLog;
  }
  readonly errorContext: SqlError[] = [];
  /** Depth of enclosing TRY blocks: errors propagate to the CATCH instead of becoming messages. */
  private tryDepth = 0;
  /**
   * Savepoints of the open transaction in the order they were set (a name may repeat: ROLLBACK goes to the latest).
   * Names are case-sensitive, as transaction and savepoint names are on SQL Server ("BEGIN TRANSACTION", "SAVE
   * TRANSACTION", Microsoft Learn).
   */
  private savepoints: { name: string; writes: number; changes: number }[] = [];
  /** The name of the outermost BEGIN TRANSACTION (nested names are not registered, as on SQL Server). */
  private transactionName = '';
  private identityInsertTable: Table | undefined;
  closed = false;
  /** Part 2 hook: set on a readable secondary's sessions (sim/engine/replica): reads lag, SNAPSHOT is forced. */
  replica: { seq(): number } | undefined;
  /**
   * Replica hook (sim/engine/replica): may refuse a database of the availability group this session switches to
   * (USE) or names (db.schema.table) while its replica cannot serve it (983 resolving, 976 not readable).
   */
  databaseGate: ((db: Database) => void) | undefined;

  constructor(
    readonly spid: number,
    readonly engine: SessionHost,
    public database: Database,
    readonly login: Login,
    readonly appName: string,
    readonly hostName: string,
    readonly readOnlyIntent: boolean,
  ) {
    this.loginDatabase = database;
  }

  /** The database the login landed in: a connection reset goes back to it. */
  private readonly loginDatabase: Database;

  get transactionDescriptor(): Buffer {
    return this.txn ? this.txn.descriptor : Buffer.alloc(8);
  }

  // ------------------------------------------------------------------------------------------
  // Session API

  executeBatch(sql: string, signal: AbortSignal): AsyncIterable<ExecEvent> {
    return this.runBatch(sql, signal);
  }

  executeRpc(procName: string, params: RpcParam[], signal: AbortSignal): AsyncIterable<ExecEvent> {
    return this.runRpc(procName, params, signal);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the contract is an async iterable
  async *beginTransaction(isolation: IsolationLevel, name: string): AsyncGenerator<ExecEvent> {
    try {
      if (isolation !== IsolationLevel.NoChange) this.isolation = checkedIsolation(isolation, !!this.replica);
    } catch (e) {
      yield* this.errorEvents(e, 1);
      return;
    }
    yield* this.tsqlBegin(name);
    yield { kind: 'done' };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the contract is an async iterable
  async *endTransaction(
    commit: boolean,
    name: string,
    beginNew?: { isolation: IsolationLevel },
  ): AsyncGenerator<ExecEvent> {
    // TM_COMMIT_XACT / TM_ROLLBACK_XACT (MS-TDS 2.2.6.9) act as COMMIT / ROLLBACK TRANSACTION <name>: tedious's
    // transaction() helper rolls back to its savepoints this way, and commits nest like T-SQL COMMITs.
    try {
      if (commit) yield* this.tsqlCommit();
      else yield* this.tsqlRollback(name);
    } catch (e) {
      if (e instanceof EngineError) {
        yield { kind: 'message', error: e.sqlError };
        yield { kind: 'done', error: true };
        return;
      }
      throw e;
    }
    if (beginNew) {
      if (beginNew.isolation !== IsolationLevel.NoChange) this.isolation = beginNew.isolation;
      yield* this.tsqlBegin();
    }
    yield { kind: 'done' };
  }

  /** Registers a statement's read view (it holds back version pruning) until the statement ends or the session closes. */
  private trackView(view: ReadView): () => void {
    const release = this.engine.registerView(view);
    let done = false;
    const unregister = (): void => {
      if (done) return;
      done = true;
      this.openViews.delete(unregister);
      release();
    };
    this.openViews.add(unregister);
    return unregister;
  }

  private readonly openViews = new Set<() => void>();
  /** #temp tables this session created: dropped when it closes. */
  private readonly tempTables = new Set<Table>();

  /**
   * The reset-connection flag (MS-TDS 2.2.3.1.2): an open transaction is rolled back (unless SKIPTRAN), #temp tables
   * are dropped, SET options, the database, IDENTITY_INSERT, @@ERROR, @@ROWCOUNT and @@IDENTITY go back to a fresh
   * login's. "Distributed transactions and isolation levels are not reset" (same section), so the isolation level
   * stays. The rollback is announced with ENVCHANGE 10 like any server-side rollback, so the client drops the
   * descriptor it would otherwise keep sending (an assumption: MS-TDS does not say which ENVCHANGEs a reset sends).
   */
  reset(keepTransaction: boolean): ExecEvent[] {
    const events: ExecEvent[] = [];
    if (this.txn && !keepTransaction) {
      const descriptor = this.txn.descriptor;
      this.engine.rollback(this.txn);
      this.txn = undefined;
      this.tranCount = 0;
      this.savepoints = [];
      events.push({ kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } });
    }
    this.dropTempTables();
    Object.assign(this.options, loginDefaultOptions());
    if (this.identityInsertTable) this.identityInsertTable.identityInsert = false;
    this.identityInsertTable = undefined;
    this.database = this.loginDatabase;
    this.rowCount = 0n;
    this.lastError = 0;
    this.lastIdentity = null;
    this.scopeIdentity = null;
    return events;
  }

  private dropTempTables(): void {
    for (const t of this.tempTables) t.schema.tables.delete(norm(t.name));
    this.tempTables.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const release of [...this.openViews]) release();
    this.dropTempTables();
    if (this.txn) {
      this.engine.rollback(this.txn);
      this.txn = undefined;
      this.tranCount = 0;
    }
    this.engine.removeSession(this);
  }

  // ------------------------------------------------------------------------------------------
  // Batches and RPCs

  private async *runBatch(sql: string, signal: AbortSignal): AsyncGenerator<ExecEvent> {
    let parsed: ParsedStatement[];
    try {
      parsed = this.engine.statementCache.parse(sql);
    } catch (e) {
      yield* this.errorEvents(e, 1);
      return;
    }
    const frame: Frame = { vars: new Map(), varTypes: new Map() };
    yield* this.runStatements(parsed, frame, signal);
    yield* this.endOfBatch();
  }

  /** An uncommittable transaction does not survive the batch (3998), as in SQL Server. */
  private *endOfBatch(): Generator<ExecEvent> {
    if (!this.txn?.doomed) return;
    const descriptor = this.txn.descriptor;
    this.engine.rollback(this.txn);
    this.txn = undefined;
    this.tranCount = 0;
    yield { kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } };
    yield* this.errorEvents(sqlError(3998), 1);
  }

  private async *runRpc(procName: string, params: RpcParam[], signal: AbortSignal): AsyncGenerator<ExecEvent> {
    const name = procName.toLowerCase().replace(/^(sys|dbo|master\.dbo|master\.sys)\./, '');
    let status = 0;
    try {
      if (name === 'sp_executesql') {
        yield* this.spExecuteSql(
          params.map((p) => ({ name: p.name, type: p.type, value: p.value, output: p.output })),
          signal,
        );
      } else {
        const handler = this.engine.procedure(name);
        if (!handler) throw sqlError(2812, procName);
        const r = yield* handler(
          this,
          params.map((p) => ({ name: p.name, type: p.type, value: p.value, output: p.output })),
          signal,
        );
        if (typeof r === 'number') status = r;
      }
    } catch (e) {
      if (e instanceof AbortedError) return;
      yield* this.errorEvents(e, 1);
      status = 0;
    }
    yield* this.endOfBatch();
    yield { kind: 'returnStatus', value: status };
  }

  /** sp_executesql: @statement, @params declaration, then the values (named or positional). */
  private async *spExecuteSql(
    args: { name?: string; type: SqlType; value: SqlValue; output: boolean }[],
    signal: AbortSignal,
  ): AsyncGenerator<ExecEvent> {
    const named = (n: string) => args.find((a) => a.name?.toLowerCase() === n);
    const stmtArg = named('@statement') ?? args[0];
    if (!stmtArg || stmtArg.value === null) throw sqlError(201, 'sp_executesql', '@statement');
    if (typeof stmtArg.value !== 'string') throw sqlError(214, '@statement');
    const paramsArg =
      named('@params') ??
      (args[1] && !args[1].name?.startsWith('@')
        ? args[1]
        : args[1]?.name?.toLowerCase() === '@params'
          ? args[1]
          : undefined);
    const rest = args.filter((a) => a !== stmtArg && a !== paramsArg);
    const decls = paramsArg && typeof paramsArg.value === 'string' ? parseParamDeclarations(paramsArg.value) : [];
    const frame: Frame = { vars: new Map(), varTypes: new Map() };
    decls.forEach((d, i) => {
      const key = d.name.toLowerCase();
      const supplied =
        rest.find((r) => r.name?.toLowerCase() === key) ?? (rest[i] && !rest[i]?.name ? rest[i] : undefined);
      if (!supplied) throw sqlError(8178, `(${paramsArg?.value as string})${stmtArg.value as string}`, d.name);
      frame.varTypes.set(key, d.type);
      frame.vars.set(key, { type: d.type, value: convertValue(supplied.value, supplied.type, d.type) });
    });
    if (rest.length > decls.length) throw sqlError(8144, 'sp_executesql');
    let parsed: ParsedStatement[];
    try {
      parsed = this.engine.statementCache.parse(stmtArg.value);
    } catch (e) {
      yield* this.errorEvents(e, 1);
      return;
    }
    yield* this.runStatements(parsed, frame, signal);
  }

  private async *runStatements(
    stmts: ParsedStatement[],
    frame: Frame,
    signal: AbortSignal,
  ): AsyncGenerator<ExecEvent, Control> {
    for (const ps of stmts) {
      if (signal.aborted) return 'abort';
      const hold = this.engine.statementHook?.(this, ps.text, signal);
      if (hold) {
        await hold;
        if (signal.aborted) return 'abort';
      }
      const ctl = yield* this.runOne(ps.stmt, ps, frame, signal);
      if (ctl) return ctl;
    }
    return undefined;
  }

  private async *runOne(
    stmt: Statement,
    ps: ParsedStatement,
    frame: Frame,
    signal: AbortSignal,
  ): AsyncGenerator<ExecEvent, Control> {
    try {
      // A schema change empties the statement cache, before it runs and after (also when it fails half-way).
      if (DDL_KINDS.has(stmt.kind)) this.engine.statementCache.invalidate();
      let ctl: Control;
      try {
        ctl = yield* this.exec(stmt, ps, frame, signal);
      } finally {
        if (DDL_KINDS.has(stmt.kind)) this.engine.statementCache.invalidate();
      }
      if (stmt.kind !== 'if' && stmt.kind !== 'while' && stmt.kind !== 'block' && stmt.kind !== 'tryCatch')
        this.lastError = 0;
      return ctl;
    } catch (e) {
      if (e instanceof AbortedError) return 'abort';
      if (!(e instanceof EngineError)) {
        yield* this.errorEvents(e, ps.line);
        return 'abort';
      }
      this.lastError = e.sqlError.number;
      if (this.tryDepth > 0 && e.sqlError.severity > 10) throw e; // handled by the enclosing CATCH
      const doomed = e.rollsBack || (this.options.xactAbort && e.sqlError.severity >= 11);
      if (doomed && this.txn) {
        const descriptor = this.txn.descriptor;
        this.engine.rollback(this.txn);
        this.txn = undefined;
        this.tranCount = 0;
        yield { kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } };
      }
      yield* this.errorEvents(e, ps.line);
      return e.abortsBatch || doomed ? 'abort' : undefined;
    }
  }

  private *errorEvents(e: unknown, line: number): Generator<ExecEvent> {
    let err: SqlError;
    if (e instanceof EngineError) {
      const s = e.sqlError;
      err = new SqlError(s.number, s.severity, s.state, s.message, s.procName, line);
    } else {
      // An internal fault must not kill the connection: report it as a severity-16 error.
      err = new SqlError(
        50000,
        16,
        1,
        `Simulator internal error: ${e instanceof Error ? e.message : String(e)}`,
        '',
        line,
      );
    }
    yield { kind: 'message', error: err };
    yield { kind: 'done', error: true };
  }

  // ------------------------------------------------------------------------------------------
  // Name resolution and runtime

  private resolver(frame: Frame): Resolver {
    return {
      session: this,
      varTypes: frame.varTypes,
      table: (parts) => this.findTable(parts),
      virtualTable: (parts) => systemView(parts, this),
      tableFunction: (parts, ref, bc) => this.engine.tableFunction(parts, this, { ref, bc }),
      authorize: (table, action) => {
        if (!this.engine.authorize(this, table, action))
          throw sqlError(229, action, table.name, table.database.name, table.schema.name);
      },
    };
  }

  /** [db.][schema.]name → the table, with the user's default schema dbo. */
  findTable(parts: string[]): Table | undefined {
    const { db, schema, name } = this.resolveName(parts);
    return db.schema(schema)?.tables.get(norm(name));
  }

  resolveName(parts: string[]): { db: Database; schema: string; name: string } {
    const name = parts[parts.length - 1] ?? '';
    if (name.startsWith('#')) {
      // Temporary tables live in tempdb; #local names are private to the session (mangled with the spid, as
      // SQL Server does), ##global names are shared.
      const tempdb = this.engine.database('tempdb') as Database;
      return {
        db: tempdb,
        schema: 'dbo',
        name: tempTableName(name, this.spid),
      };
    }
    const schema = (parts.length >= 2 ? parts[parts.length - 2] : '') || 'dbo';
    const dbName = parts.length >= 3 ? parts[parts.length - 3] : '';
    if (parts.length > 4) throw sqlError(117, parts.join('.'));
    if (parts.length === 4 && parts[0]) throw unsupported('linked servers');
    let db = this.database;
    if (dbName) {
      const d = this.engine.database(dbName);
      if (!d) throw sqlError(208, parts.join('.'));
      if (!this.engine.canAccess(this.login, d)) throw sqlError(916, this.login.name, d.name);
      this.databaseGate?.(d);
      db = d;
    }
    return { db, schema, name };
  }

  private bindContextFor(frame: Frame, planner: QueryPlanner, scope: Scope): BindContext {
    return {
      scope,
      varTypes: frame.varTypes,
      session: this,
      subquery: (select, sc) => {
        const plan = planner.planSelect(select, { outerScope: sc });
        return {
          columns: plan.columns,
          run: (ctx, outerRow) => {
            const rt = ctx.runtime as Runtime;
            const inner: Runtime = { ...rt, ctx: { ...ctx, outer: [...ctx.outer, outerRow] } };
            inner.ctx.runtime = inner;
            return plan.run(inner, inner.ctx.outer);
          },
        };
      },
    };
  }

  private newStats(text: string): StatementStats {
    const s = newStatementStats(this.spid, text);
    // Trimmed once it holds twice the limit, not per statement: a splice of the array's head per statement cost
    // a copy of the whole log each time.
    this.statsLog.push(s);
    if (this.statsLog.length > 2 * MAX_STATS_PER_SESSION) this.statsLog.splice(0, MAX_STATS_PER_SESSION);
    return s;
  }

  /** Builds the statement's read view and runtime; `txn` is the write transaction, if any. */
  private runtime(frame: Frame, signal: AbortSignal, stats: StatementStats, txn?: Txn): Runtime {
    const t = txn ?? this.txn;
    // part 2 hook: a readable secondary reads at its redo point, always under snapshot isolation.
    const view: ReadView = {
      seq: t?.snapshotSeq ?? (this.replica ? this.replica.seq() : this.engine.lastCommitSeq),
      txn: t,
      dirty: this.isolation === IsolationLevel.ReadUncommitted,
      readPast: false,
    };
    const ctx: EvalCtx = { vars: frame.vars, outer: [], session: this };
    const rt: Runtime = {
      ctx,
      view,
      stats,
      signal,
      onDataAccess: (db) => {
        if (this.replica) {
          if (t && t.snapshotSeq === undefined) t.snapshotSeq = view.seq;
          return;
        }
        if (this.isolation === IsolationLevel.Snapshot) {
          if (!db.allowSnapshotIsolation) throw sqlError(3952, db.name);
          if (t && t.snapshotSeq === undefined) t.snapshotSeq = view.seq;
        }
      },
    };
    ctx.runtime = rt;
    return rt;
  }

  /** Runs `fn` in the explicit transaction, or in an autocommit transaction committed at the end. */
  private async withWriteTxn<T>(fn: (txn: Txn) => Promise<T>): Promise<T> {
    const explicit = this.txn;
    if (explicit?.doomed) throw sqlError(3930);
    const txn = explicit ?? new Txn(this.isolation, this.spid, true);
    if (!explicit) this.engine.begin(txn);
    const writeMark = txn.writes.length;
    const changeMark = txn.changes.length;
    try {
      const r = await fn(txn);
      if (!explicit) this.engine.commit(txn);
      return r;
    } catch (e) {
      // Statement atomicity: undo this statement's writes.
      if (txn.state === 'active') {
        for (let i = txn.writes.length - 1; i >= writeMark; i--) txn.writes[i]?.undo();
        txn.writes.length = writeMark;
        txn.changes.length = changeMark;
        if (!explicit) this.engine.rollback(txn);
      }
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Transactions

  /** BEGIN TRANSACTION (and TM_BEGIN_XACT): nested, it only increments @@TRANCOUNT and its name is not registered. */
  private *tsqlBegin(name = ''): Generator<ExecEvent> {
    if (this.txn) {
      this.tranCount++;
      return;
    }
    const txn = new Txn(this.isolation, this.spid, false);
    this.engine.begin(txn);
    this.txn = txn;
    this.tranCount = 1;
    this.savepoints = [];
    this.transactionName = name;
    yield { kind: 'envChange', change: { type: 'beginTransaction', descriptor: txn.descriptor } };
  }

  /**
   * COMMIT TRANSACTION (and TM_COMMIT_XACT): at @@TRANCOUNT > 1 it only decrements @@TRANCOUNT; the name is
   * ignored ("COMMIT TRANSACTION", Microsoft Learn).
   */
  private *tsqlCommit(): Generator<ExecEvent> {
    if (!this.txn || this.tranCount === 0) throw sqlError(3902);
    if (this.txn.doomed) throw sqlError(3930);
    if (this.tranCount > 1) {
      this.tranCount--;
      return;
    }
    const txn = this.txn;
    const descriptor = txn.descriptor;
    this.engine.commit(txn);
    this.txn = undefined;
    this.tranCount = 0;
    yield { kind: 'envChange', change: { type: 'commitTransaction', descriptor } };
  }

  /**
   * ROLLBACK TRANSACTION (and TM_ROLLBACK_XACT): without a name or with the outermost transaction's name, the whole
   * transaction; with a savepoint's name, the work after the latest savepoint of that name (the transaction and
   * @@TRANCOUNT stay, no ENVCHANGE); any other name is 6401 and changes nothing ("ROLLBACK TRANSACTION", Microsoft
   * Learn).
   */
  private *tsqlRollback(name: string | undefined): Generator<ExecEvent> {
    if (!this.txn || this.tranCount === 0) throw sqlError(3903);
    if (name && name !== this.transactionName) {
      const at = this.savepoints.map((p) => p.name).lastIndexOf(name);
      const sp = this.savepoints[at];
      if (!sp) throw sqlError(6401, name);
      const txn = this.txn;
      for (let i = txn.writes.length - 1; i >= sp.writes; i--) txn.writes[i]?.undo();
      txn.writes.length = sp.writes;
      txn.changes.length = sp.changes;
      this.savepoints.length = at + 1; // later savepoints are gone with the work they marked
      return;
    }
    const txn = this.txn;
    const descriptor = txn.descriptor;
    this.engine.rollback(txn);
    this.txn = undefined;
    this.tranCount = 0;
    yield { kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } };
  }

  // ------------------------------------------------------------------------------------------
  // Statements

  private done(rowCount?: number | bigint): ExecEvent {
    return rowCount === undefined || this.options.nocount
      ? { kind: 'done' }
      : { kind: 'done', rowCount: BigInt(rowCount) };
  }

  private async *exec(
    stmt: Statement,
    ps: ParsedStatement,
    frame: Frame,
    signal: AbortSignal,
  ): AsyncGenerator<ExecEvent, Control> {
    const planner = new QueryPlanner(this.resolver(frame));
    const bc = (scope: Scope): BindContext => this.bindContextFor(frame, planner, scope);
    switch (stmt.kind) {
      case 'select': {
        if (stmt.into) {
          yield* this.selectInto(stmt, ps, frame, bc, planner, signal);
          return undefined;
        }
        const plan = planner.planSelect(stmt);
        const stats = this.newStats(ps.text);
        const rt = this.runtime(frame, signal, stats);
        const unregister = this.trackView(rt.view);
        try {
          if (plan.assignments) {
            let n = 0;
            for (const row of plan.run(rt)) {
              plan.assignments.forEach((name, i) =>
                this.assign(frame, name, row[i] ?? null, plan.columns[i]?.type as SqlType),
              );
              n++;
            }
            this.rowCount = BigInt(n);
            stats.rowsReturned = n;
            yield this.done(n);
            return undefined;
          }
          const cap: { error?: unknown; count: number } = { count: 0 };
          const columns = plan.columns.map(columnMeta);
          yield { kind: 'resultSet', columns, rows: wrapRows(plan.run(rt), cap, signal, stats) };
          if (cap.error) throw cap.error as Error;
          this.rowCount = BigInt(cap.count);
          if (signal.aborted) return 'abort';
          yield this.done(cap.count);
          return undefined;
        } finally {
          unregister();
        }
      }
      case 'insert':
      case 'update':
      case 'delete': {
        // part 2 hook: a readable secondary refuses writes except to temporary tables (tempdb is writable).
        const target = stmt.kind === 'insert' ? stmt.table : stmt.target.kind === 'table' ? stmt.target.name : [];
        if (this.replica && !isTempName(target)) throw readOnlyDatabase(this.database.name);
        const stats = this.newStats(ps.text);
        let output: OutputCollector | undefined;
        const n = await this.withWriteTxn(async (txn) => {
          const rt = this.runtime(frame, signal, stats, txn);
          if (txn.implicit && this.isolation === IsolationLevel.Snapshot) txn.snapshotSeq = rt.view.seq;
          const unregister = this.trackView(rt.view);
          try {
            const dc: DmlContext = { planner, bc, rt, wc: { txn, session: this, signal } };
            let count: number;
            if (stmt.kind === 'insert') count = await executeInsert(stmt, dc);
            else if (stmt.kind === 'update') count = await executeUpdate(stmt, dc);
            else count = await executeDelete(stmt, dc);
            output = dc.output;
            return count;
          } finally {
            unregister();
          }
        });
        stats.rowsReturned = n;
        this.rowCount = BigInt(n);
        if (output) yield { kind: 'resultSet', columns: output.columns.map(columnMeta), rows: output.rows };
        yield this.done(n);
        return undefined;
      }
      case 'createTable': {
        const temp = isTempName(stmt.name);
        const t = createTable(stmt, this.ddlContext(frame, bc, signal, 'CREATE TABLE', temp));
        if (temp && !t.name.startsWith('##')) this.tempTables.add(t);
        else this.ddlEvent(stmt, t, ps.text);
        yield this.done();
        return undefined;
      }
      case 'dropTable':
        dropTables(stmt, this.ddlContext(frame, bc, signal, 'DROP TABLE', stmt.names.every(isTempName)));
        yield this.done();
        return undefined;
      case 'truncateTable':
        this.ddlEvent(stmt, truncateTable(stmt, this.ddlContext(frame, bc, signal, 'TRUNCATE TABLE')), ps.text);
        yield this.done();
        return undefined;
      case 'createIndex':
        createIndex(stmt, this.ddlContext(frame, bc, signal, 'CREATE INDEX'));
        yield this.done();
        return undefined;
      case 'dropIndex':
        dropIndex(stmt, this.ddlContext(frame, bc, signal, 'DROP INDEX'));
        yield this.done();
        return undefined;
      case 'alterTable': {
        if (stmt.action.kind === 'raw') {
          // ALTER TABLE … ENABLE CHANGE_TRACKING and other options part 2 implements.
          const handler = this.engine.procedure('__statement_alter_table');
          if (!handler) throw unsupported(`ALTER TABLE ${stmt.action.words.slice(0, 3).join(' ')}`);
          const t = this.findTable(stmt.table);
          if (!t) throw sqlError(4902, stmt.table.join('.'));
          yield* handler(
            this,
            [
              {
                name: '@table',
                type: { name: 'nvarchar', length: 776 },
                value: `${t.schema.name}.${t.name}`,
                output: false,
              },
              {
                name: '@words',
                type: { name: 'nvarchar', length: -1 },
                value: stmt.action.words.join(' '),
                output: false,
              },
            ],
            signal,
          );
          yield this.done();
          return undefined;
        }
        this.ddlEvent(stmt, alterTable(stmt, this.ddlContext(frame, bc, signal, 'ALTER TABLE')), ps.text);
        yield this.done();
        return undefined;
      }
      case 'createSchema': {
        if (this.database.schema(stmt.name)) throw sqlError(2714, stmt.name);
        this.database.addSchema(stmt.name);
        yield this.done();
        return undefined;
      }
      case 'createDatabase': {
        if (!this.login.sysadmin) throw sqlError(262, 'CREATE DATABASE', 'master');
        if (this.engine.database(stmt.name)) throw sqlError(1801, stmt.name);
        (this.engine as SessionHost & { createDatabase(name: string): Database }).createDatabase(stmt.name);
        yield this.done();
        return undefined;
      }
      case 'dropDatabase': {
        if (!this.login.sysadmin) throw sqlError(262, 'DROP DATABASE', 'master');
        const db = this.engine.database(stmt.name);
        if (!db) {
          if (stmt.ifExists) {
            yield this.done();
            return undefined;
          }
          throw sqlError(3701, 'database', stmt.name);
        }
        if (db === this.database) throw sqlError(3702, stmt.name);
        this.engine.databases.delete(norm(stmt.name));
        yield this.done();
        return undefined;
      }
      case 'alterDatabase':
        yield* this.alterDatabase(stmt);
        return undefined;
      case 'use': {
        const db = this.engine.database(stmt.database);
        if (!db) throw sqlError(911, stmt.database);
        if (!this.engine.canAccess(this.login, db)) throw sqlError(916, this.login.name, db.name);
        this.databaseGate?.(db);
        const old = this.database.name;
        this.database = db;
        yield { kind: 'envChange', change: { type: 'database', newValue: db.name, oldValue: old } };
        yield { kind: 'message', error: new SqlError(5701, 0, 1, `Changed database context to '${db.name}'.`) };
        yield this.done();
        return undefined;
      }
      case 'declare': {
        for (const v of stmt.vars) {
          const key = v.name.toLowerCase();
          if (frame.varTypes.has(key)) throw sqlError(134, v.name);
          frame.varTypes.set(key, v.type);
          let value: SqlValue = null;
          if (v.init) {
            const c = coerce(compile(v.init, bc(new Scope())), v.type);
            const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
            value = c.eval([], rt.ctx);
          }
          frame.vars.set(key, { type: v.type, value });
        }
        return undefined;
      }
      case 'setVariable': {
        const key = stmt.name.toLowerCase();
        const t = frame.varTypes.get(key);
        if (!t) throw sqlError(137, stmt.name);
        const e =
          stmt.op === '='
            ? stmt.expr
            : {
                kind: 'binary' as const,
                op: stmt.op[0] as '+',
                left: { kind: 'variable' as const, name: stmt.name },
                right: stmt.expr,
              };
        const c = compile(e, bc(new Scope()));
        const stats = this.newStats(ps.text);
        const rt = this.runtime(frame, signal, stats);
        const unregister = this.trackView(rt.view);
        try {
          this.assign(frame, stmt.name, c.eval([], rt.ctx), c.type);
        } finally {
          unregister();
        }
        yield this.done();
        return undefined;
      }
      case 'setOption':
        this.setOption(stmt.option, stmt.words);
        yield this.done();
        return undefined;
      case 'setIsolation':
        this.isolation = checkedIsolation(
          ISOLATION_BY_NAME[stmt.level] ?? IsolationLevel.ReadCommitted,
          !!this.replica,
        );
        yield this.done();
        return undefined;
      case 'beginTran':
        yield* this.tsqlBegin(stmt.name);
        yield this.done();
        return undefined;
      case 'commitTran':
        yield* this.tsqlCommit();
        yield this.done();
        return undefined;
      case 'rollbackTran':
        yield* this.tsqlRollback(stmt.name);
        yield this.done();
        return undefined;
      case 'saveTran': {
        if (!this.txn) throw sqlError(628);
        this.savepoints.push({ name: stmt.name, writes: this.txn.writes.length, changes: this.txn.changes.length });
        yield this.done();
        return undefined;
      }
      case 'exec':
        yield* this.execProc(stmt, frame, bc, signal, ps);
        return undefined;
      case 'execString': {
        const c = compile(stmt.sql, bc(new Scope()));
        const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
        const sql = c.eval([], rt.ctx);
        if (typeof sql !== 'string') throw sqlError(102, 'EXEC');
        const parsed = parseBatch(sql);
        yield* this.runStatements(parsed, { vars: new Map(), varTypes: new Map() }, signal);
        return undefined;
      }
      case 'if': {
        const cond = compile(stmt.cond, bc(new Scope()));
        const rt = this.runtime(frame, signal, this.newStats(ps.text));
        const unregister = this.trackView(rt.view);
        let v: SqlValue;
        try {
          v = cond.eval([], rt.ctx);
        } finally {
          unregister();
        }
        if (v === true) return yield* this.runOne(stmt.then, { ...ps, stmt: stmt.then }, frame, signal);
        if (stmt.else) return yield* this.runOne(stmt.else, { ...ps, stmt: stmt.else }, frame, signal);
        return undefined;
      }
      case 'while': {
        for (;;) {
          if (signal.aborted) return 'abort';
          const cond = compile(stmt.cond, bc(new Scope()));
          const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
          if (cond.eval([], rt.ctx) !== true) return undefined;
          const ctl = yield* this.runOne(stmt.body, { ...ps, stmt: stmt.body }, frame, signal);
          if (ctl === 'break') return undefined;
          if (ctl === 'return' || ctl === 'abort') return ctl;
          await Promise.resolve();
        }
      }
      case 'block': {
        for (const s of stmt.body) {
          if (signal.aborted) return 'abort';
          const ctl = yield* this.runOne(s, { ...ps, stmt: s }, frame, signal);
          if (ctl) return ctl;
        }
        return undefined;
      }
      case 'tryCatch': {
        let caught: EngineError | undefined;
        this.tryDepth++;
        try {
          for (const st of stmt.tryBody) {
            if (signal.aborted) return 'abort';
            const ctl = yield* this.runOne(st, { ...ps, stmt: st }, frame, signal);
            if (ctl) return ctl;
          }
        } catch (e) {
          if (!(e instanceof EngineError)) throw e;
          caught = e;
        } finally {
          this.tryDepth--;
        }
        if (!caught) return undefined;
        if (this.txn && !caught.rollsBack && this.options.xactAbort) this.txn.doomed = true;
        if (caught.rollsBack && this.txn) {
          const descriptor = this.txn.descriptor;
          this.engine.rollback(this.txn);
          this.txn = undefined;
          this.tranCount = 0;
          yield { kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } };
        }
        this.errorContext.push(
          new SqlError(
            caught.sqlError.number,
            caught.sqlError.severity,
            caught.sqlError.state,
            caught.sqlError.message,
            caught.sqlError.procName,
            ps.line,
          ),
        );
        try {
          for (const st of stmt.catchBody) {
            if (signal.aborted) return 'abort';
            const ctl = yield* this.runOne(st, { ...ps, stmt: st }, frame, signal);
            if (ctl) return ctl;
          }
        } finally {
          this.errorContext.pop();
        }
        return undefined;
      }
      case 'break':
        return 'break';
      case 'continue':
        return 'continue';
      case 'return':
        return 'return';
      case 'print': {
        const c = compile(stmt.expr, bc(new Scope()));
        const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
        const v = c.eval([], rt.ctx);
        yield {
          kind: 'message',
          error: new SqlError(
            0,
            0,
            1,
            v === null ? '' : textOf(convertValue(v, c.type, { name: 'nvarchar', length: 4000 })),
            '',
            ps.line,
          ),
        };
        return undefined;
      }
      case 'throw': {
        if (!stmt.number || !stmt.message || !stmt.state) {
          // THROW; re-raises the error being handled.
          const cur = this.errorContext[this.errorContext.length - 1];
          if (!cur) throw sqlError(10704);
          throw new EngineError(cur, true, false);
        }
        const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
        const num = Number(compile(stmt.number, bc(new Scope())).eval([], rt.ctx));
        const msg = textOf(compile(stmt.message, bc(new Scope())).eval([], rt.ctx));
        const st = Number(compile(stmt.state, bc(new Scope())).eval([], rt.ctx));
        if (num < 50000) throw sqlError(35100);
        throw new EngineError(new SqlError(num, 16, st, msg, '', ps.line), true, false);
      }
      case 'raiserror': {
        const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
        const msg = compile(stmt.message, bc(new Scope())).eval([], rt.ctx);
        const sev = Number(compile(stmt.severity, bc(new Scope())).eval([], rt.ctx));
        const st = Number(compile(stmt.state, bc(new Scope())).eval([], rt.ctx));
        const args = stmt.args.map((a) => compile(a, bc(new Scope())).eval([], rt.ctx));
        let i = 0;
        const text = textOf(msg).replace(/%[-+ #0]*\d*(?:\.\d+)?[dsiuxXo]/g, () =>
          args[i] === undefined || args[i] === null ? (i++, '(null)') : textOf(args[i++] ?? null),
        );
        if (sev <= 10) {
          yield { kind: 'message', error: new SqlError(50000, sev, st, text, '', ps.line) };
          return undefined;
        }
        throw new EngineError(new SqlError(50000, sev, st, text, '', ps.line), false, false);
      }
      case 'waitfor': {
        const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
        const c = compile(stmt.delay, bc(new Scope()));
        const v = convertValue(c.eval([], rt.ctx), c.type, { name: 'time', scale: 7 }) as { ticks: bigint } | null;
        const ms = v ? Number(v.ticks / 10000n) : 0;
        try {
          await sleep(ms, undefined, { signal });
        } catch {
          return 'abort';
        }
        yield this.done();
        return undefined;
      }
      case 'createLogin':
      case 'createUser':
      case 'createRole':
      case 'grant':
      case 'deny':
      case 'revoke':
      case 'alterRole':
      case 'other': {
        const handler = this.engine.procedure(`__statement_${stmt.kind}`);
        if (!handler)
          throw unsupported(
            stmt.kind === 'other'
              ? stmt.words.slice(0, 2).join(' ')
              : stmt.kind.replace(/([A-Z])/g, ' $1').toUpperCase(),
          );
        yield* handler(
          this,
          [{ type: { name: 'nvarchar', length: -1 }, value: stmt.words.join(' '), output: false }],
          signal,
        );
        return undefined;
      }
    }
  }

  /** Stats for statements that read no table (kept out of the per-session list). */
  private scratchStats(text: string): StatementStats {
    return newStatementStats(this.spid, text);
  }

  private ddlContext(
    frame: Frame,
    bc: (s: Scope) => BindContext,
    signal: AbortSignal,
    what = 'ALTER',
    temp = false,
  ): DdlContext {
    if (this.replica && !temp) throw readOnlyDatabase(this.database.name); // part 2 hook: readable secondary
    // Anyone may create and change temporary tables; other DDL needs db_owner or db_ddladmin.
    if (!temp && !this.engine.canAlter(this, this.database)) throw sqlError(262, what, this.database.name);
    const rt = this.runtime(frame, signal, this.scratchStats(''));
    return {
      database: this.database,
      defaultSchema: 'dbo',
      bc,
      evalCtx: rt.ctx,
      resolveName: (parts) => this.resolveName(parts),
    };
  }

  private assign(frame: Frame, name: string, value: SqlValue, from: SqlType): void {
    const key = name.toLowerCase();
    const v = frame.vars.get(key);
    const t = frame.varTypes.get(key);
    if (!v || !t) throw sqlError(137, name);
    v.value = convertValue(value, from, t);
  }

  private setOption(option: string, words: string[]): void {
    const value = words.join('');
    const onOff = (): boolean => {
      const w = (words[words.length - 1] ?? '').toUpperCase();
      if (w !== 'ON' && w !== 'OFF') throw sqlError(102, words.join(' '));
      return w === 'ON';
    };
    for (const opt of option.split(',')) {
      switch (opt) {
        case 'NOCOUNT':
          this.options.nocount = onOff();
          break;
        case 'XACT_ABORT':
          this.options.xactAbort = onOff();
          break;
        case 'LOCK_TIMEOUT':
          this.options.lockTimeout = Number(value);
          if (!Number.isInteger(this.options.lockTimeout)) throw sqlError(102, value);
          break;
        case 'TEXTSIZE':
          this.options.textsize = Number(value);
          break;
        case 'DATEFIRST':
          this.options.dateFirst = Number(value);
          break;
        case 'DATEFORMAT':
          if (value.toLowerCase() !== 'mdy' && value.toLowerCase() !== 'ymd')
            throw unsupported(`SET DATEFORMAT ${value}`);
          this.options.dateFormat = value.toLowerCase();
          break;
        case 'LANGUAGE':
          if (value.toLowerCase() !== 'us_english' && value.toLowerCase() !== 'english')
            throw unsupported(`SET LANGUAGE ${value}`);
          break;
        case 'IMPLICIT_TRANSACTIONS':
          if (onOff()) throw unsupported('SET IMPLICIT_TRANSACTIONS ON');
          break;
        case 'ANSI_NULLS':
        case 'QUOTED_IDENTIFIER':
        case 'ANSI_WARNINGS':
        case 'ANSI_PADDING':
        case 'ANSI_NULL_DFLT_ON':
        case 'CONCAT_NULL_YIELDS_NULL':
          // The simulator implements the ON behaviour tedious sets; OFF would change semantics it does not model.
          if (!onOff()) throw unsupported(`SET ${opt} OFF`);
          break;
        case 'ARITHABORT':
          // With ANSI_WARNINGS ON (always, here) ARITHABORT is implicitly ON whatever its setting ("SET
          // ARITHABORT", Microsoft Learn): OFF changes nothing but the bit @@OPTIONS reports.
          this.options.arithAbort = onOff();
          break;
        case 'CURSOR_CLOSE_ON_COMMIT':
          // The simulator has no cursors: the setting changes nothing but @@OPTIONS.
          this.options.cursorCloseOnCommit = onOff();
          break;
        case 'NUMERIC_ROUNDABORT':
        case 'ANSI_NULL_DFLT_OFF':
        case 'ANSI_DEFAULTS':
          if (onOff()) throw unsupported(`SET ${opt} ON`);
          break;
        case 'DEADLOCK_PRIORITY':
        case 'ROWCOUNT':
          if (opt === 'ROWCOUNT' && value !== '0') throw unsupported('SET ROWCOUNT n');
          break;
        case 'IDENTITY_INSERT': {
          const t = this.findTable((words[0] ?? '').split('.'));
          if (!t) throw sqlError(208, words[0] ?? '');
          const on = onOff();
          if (on && this.identityInsertTable && this.identityInsertTable !== t)
            throw sqlError(8107, this.identityInsertTable.qualifiedName());
          if (!t.identityColumn) throw sqlError(8106, t.name);
          t.identityInsert = on;
          this.identityInsertTable = on ? t : undefined;
          break;
        }
        default:
          throw unsupported(`SET ${opt}`);
      }
    }
  }

  /**
   * SELECT … INTO: creates the table from the result's columns (names, types, nullability; a rowversion column
   * stays a rowversion column and keeps the selected values) and inserts the rows in one statement.
   */
  private async *selectInto(
    stmt: Statement & { kind: 'select' },
    ps: ParsedStatement,
    frame: Frame,
    bc: (s: Scope) => BindContext,
    planner: QueryPlanner,
    signal: AbortSignal,
  ): AsyncGenerator<ExecEvent> {
    const into = stmt.into as string[];
    const plan = planner.planSelect({ ...stmt, into: undefined });
    if (plan.assignments) throw sqlError(141);
    const names = new Set<string>();
    for (const c of plan.columns) {
      if (!c.name) throw sqlError(1038);
      if (names.has(c.name.toLowerCase())) throw sqlError(2705, c.name, into[into.length - 1] ?? '');
      names.add(c.name.toLowerCase());
    }
    const temp = isTempName(into);
    const table = createTable(
      {
        kind: 'createTable',
        name: into,
        columns: plan.columns.map((c) => ({
          name: c.name,
          type: c.type,
          nullable: c.type.name === 'rowversion' ? false : c.nullable,
        })),
        constraints: [],
      },
      this.ddlContext(frame, bc, signal, 'CREATE TABLE', temp),
    );
    if (temp && !table.name.startsWith('##')) this.tempTables.add(table);
    const stats = this.newStats(ps.text);
    const n = await this.withWriteTxn(async (txn) => {
      const rt = this.runtime(frame, signal, stats, txn);
      const unregister = this.trackView(rt.view);
      try {
        let count = 0;
        for (const row of [...plan.run(rt)]) {
          const values = new Array<SqlValue>(table.nextSlot).fill(null);
          table.columns.forEach((col, i) => (values[col.slot] = row[i] ?? null));
          await insertRow(table, values, { txn, session: this, signal }, true);
          count++;
        }
        return count;
      } finally {
        unregister();
      }
    });
    stats.rowsReturned = n;
    this.rowCount = BigInt(n);
    yield this.done(n);
  }

  /** Tells DDL listeners (CDC ddl_history, CT truncation: part 2) what changed. */
  private ddlEvent(stmt: Statement, table: Table, text?: string): void {
    for (const l of table.database.ddlListeners) l({ statement: stmt, table, spid: this.spid, text });
  }

  private async *alterDatabase(stmt: Statement & { kind: 'alterDatabase' }): AsyncGenerator<ExecEvent> {
    const db = stmt.name ? this.engine.database(stmt.name) : this.database;
    if (!db) throw sqlError(5011, stmt.name);
    const w = stmt.words;
    const text = w.join(' ');
    const m = /^SET (ALLOW_SNAPSHOT_ISOLATION|READ_COMMITTED_SNAPSHOT) (ON|OFF)( WITH .*)?$/.exec(text);
    if (m) {
      if (m[1] === 'ALLOW_SNAPSHOT_ISOLATION') db.allowSnapshotIsolation = m[2] === 'ON';
      else if (m[2] === 'OFF')
        throw unsupported('READ_COMMITTED_SNAPSHOT OFF (the simulator always versions READ COMMITTED)');
      yield this.done();
      return;
    }
    // ALTER DATABASE … SET CHANGE_TRACKING and other options part 2 implements.
    const handler = this.engine.procedure('__statement_alter_database');
    if (!handler) throw unsupported(`ALTER DATABASE ${text.slice(0, 40)}`);
    yield* handler(
      this,
      [
        { name: '@database', type: { name: 'nvarchar', length: 128 }, value: db.name, output: false },
        { name: '@words', type: { name: 'nvarchar', length: -1 }, value: text, output: false },
      ],
      new AbortController().signal,
    );
    yield this.done();
  }

  private async *execProc(
    stmt: Statement & { kind: 'exec' },
    frame: Frame,
    bc: (s: Scope) => BindContext,
    signal: AbortSignal,
    ps: ParsedStatement,
  ): AsyncGenerator<ExecEvent> {
    const rt = this.runtime(frame, signal, this.scratchStats(ps.text));
    const args = stmt.args.map((a) => {
      if (a.value.kind === 'default') return { name: a.name, type: INT_TYPE, value: null, output: a.output };
      const c = compile(a.value, bc(new Scope()));
      return { name: a.name, type: c.type, value: c.eval([], rt.ctx), output: a.output };
    });
    const name = stmt.proc
      .join('.')
      .toLowerCase()
      .replace(/^(master\.)?(sys|dbo)\./, '')
      .replace(/^master\.\./, '');
    if (name === 'sp_executesql') {
      yield* this.spExecuteSql(args, signal);
      return;
    }
    const handler = this.engine.procedure(name);
    if (!handler) throw sqlError(2812, stmt.proc.join('.'));
    const r = yield* handler(this, args, signal);
    if (stmt.returnVar) this.assign(frame, stmt.returnVar, BigInt(typeof r === 'number' ? r : 0), { name: 'int' });
  }

  /** The isolation level as sys.dm_exec_sessions reports it. */
  get isolationLevel(): number {
    return this.isolation;
  }
}

/**
 * REPEATABLE READ and SERIALIZABLE need range and read locks the simulator does not take; accepting them would
 * silently give READ COMMITTED results, so they are refused (40517).
 */
function checkedIsolation(level: IsolationLevel, onSecondary = false): IsolationLevel {
  // part 2 hook: a readable secondary remaps every level to snapshot (brief §E), so none is refused there.
  if (onSecondary) return level;
  if (level === IsolationLevel.RepeatableRead) throw unsupported('REPEATABLE READ isolation');
  if (level === IsolationLevel.Serializable) throw unsupported('SERIALIZABLE isolation');
  return level;
}

/** 3906: DML or DDL on a readable secondary. */
function readOnlyDatabase(name: string): EngineError {
  return new EngineError(
    new SqlError(3906, 16, 1, `Failed to update database "${name}" because the database is read-only.`),
    false,
    false,
  );
}

function isTempName(parts: string[]): boolean {
  return (parts[parts.length - 1] ?? '').startsWith('#');
}

function columnMeta(c: ColumnInfo): ColumnMeta {
  const m: ColumnMeta = { name: c.name, type: c.type, nullable: c.nullable };
  if (c.identity) m.identity = true;
  if (c.isRowversion || c.type.name === 'rowversion') m.isRowversion = true;
  return m;
}

/** Lazily pulled rows: counts them, stops on attention, and keeps a mid-stream error for the DONE that follows. */
function* wrapRows(
  inner: Iterable<SqlValue[]>,
  cap: { error?: unknown; count: number },
  signal: AbortSignal,
  stats: StatementStats,
): Generator<SqlValue[]> {
  try {
    for (const r of inner) {
      if (signal.aborted) return;
      cap.count++;
      yield r;
    }
  } catch (e) {
    cap.error = e;
  } finally {
    stats.rowsReturned = cap.count;
  }
}

export type { Frame };
