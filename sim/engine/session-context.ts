/** What expressions and statements can see of the session and the engine (kept apart to avoid import cycles). */
import type { SqlError, SqlValue } from './api.js';
import type { FunctionDef } from './functions.js';
import type { Database, Login } from './catalog.js';
import type { Txn } from './mvcc.js';
import type { StatementStats } from './accounting.js';
import type { ViewDef } from './system-views.js';

/** The engine-wide state expressions need. */
export interface EngineCore {
  readonly databases: Map<string, Database>;
  /** Functions registered by extensions (part 2: CDC/CT functions), keyed by upper-case qualified name. */
  readonly extraFunctions: Map<string, FunctionDef>;
  /**
   * Part 2 hook: catalog views registered by extensions (sys.change_tracking_tables, …), keyed by `schema.name`
   * lower case. Per engine: the views' rows read that engine's extension state.
   */
  readonly extensionViews: Map<string, ViewDef>;
  /** Active (uncommitted) transactions, engine-wide. */
  readonly activeTxns: Set<Txn>;
  readonly serverName: string;
  readonly version: string;
  lastCommitSeq: number;
  database(name: string): Database | undefined;
  databaseById(id: number): Database | undefined;
}

/**
 * SET options. The ANSI options are ON and cannot be turned OFF (the simulator implements only the behaviour tedious
 * and ODBC drivers ask for); ARITHABORT and CURSOR_CLOSE_ON_COMMIT can change because they change nothing here
 * (ARITHABORT is implied by ANSI_WARNINGS ON; there are no cursors), and @@OPTIONS reports them.
 */
export interface SessionOptions {
  nocount: boolean;
  xactAbort: boolean;
  /** LOCK_TIMEOUT in ms; -1 waits forever (SQL Server's default). */
  lockTimeout: number;
  textsize: number;
  ansiNulls: boolean;
  ansiWarnings: boolean;
  ansiPadding: boolean;
  ansiNullDefaultOn: boolean;
  concatNullYieldsNull: boolean;
  quotedIdentifier: boolean;
  arithAbort: boolean;
  cursorCloseOnCommit: boolean;
  dateFirst: number;
  dateFormat: string;
  language: string;
  implicitTransactions: boolean;
}

/** The options a session starts with, and gets back when the client resets the connection. */
export function loginDefaultOptions(): SessionOptions {
  return {
    nocount: false,
    xactAbort: false,
    lockTimeout: -1,
    textsize: 2147483647,
    ansiNulls: true,
    ansiWarnings: true,
    ansiPadding: true,
    ansiNullDefaultOn: true,
    concatNullYieldsNull: true,
    quotedIdentifier: true,
    arithAbort: true,
    cursorCloseOnCommit: false,
    dateFirst: 7,
    dateFormat: 'mdy',
    language: 'us_english',
    implicitTransactions: false,
  };
}

/**
 * @@OPTIONS: the SET options in the bits of the `user options` server option (Microsoft Learn, "@@OPTIONS" and
 * "Configure the user options Server Configuration Option"). DISABLE_DEF_CNST_CHK (1), ARITHIGNORE (128),
 * ANSI_NULL_DFLT_OFF (2048) and NUMERIC_ROUNDABORT (8192) are never on in the simulator.
 */
export function optionsBits(o: SessionOptions): number {
  return (
    (o.implicitTransactions ? 2 : 0) |
    (o.cursorCloseOnCommit ? 4 : 0) |
    (o.ansiWarnings ? 8 : 0) |
    (o.ansiPadding ? 16 : 0) |
    (o.ansiNulls ? 32 : 0) |
    (o.arithAbort ? 64 : 0) |
    (o.quotedIdentifier ? 256 : 0) |
    (o.nocount ? 512 : 0) |
    (o.ansiNullDefaultOn ? 1024 : 0) |
    (o.concatNullYieldsNull ? 4096 : 0) |
    (o.xactAbort ? 16384 : 0)
  );
}

/** Session state visible to expressions (functions like @@SPID, APP_NAME(), @@TRANCOUNT). */
export interface SessionContext {
  readonly spid: number;
  readonly engine: EngineCore;
  database: Database;
  readonly login: Login;
  readonly appName: string;
  readonly hostName: string;
  readonly readOnlyIntent: boolean;
  /** Part 2: set on a readable secondary's sessions (reads at the redo point). */
  readonly replica?: { seq(): number } | undefined;
  tranCount: number;
  rowCount: bigint;
  lastError: number;
  lastIdentity: SqlValue;
  scopeIdentity: SqlValue;
  txn: Txn | undefined;
  readonly options: SessionOptions;
  /** Errors being handled by enclosing CATCH blocks, innermost last (ERROR_NUMBER() etc.). */
  readonly errorContext: SqlError[];
  /** Per-statement accounting, newest last (bounded). */
  readonly stats: StatementStats[];
}

/**
 * The stored name of a temporary table: #local names are private to the session (padded and suffixed with the
 * spid, as SQL Server does in tempdb), ##global names are shared.
 */
export function tempTableName(name: string, spid: number): string {
  return name.startsWith('##') ? name : `${name}${'_'.repeat(8)}${String(spid).padStart(12, '0')}`;
}
