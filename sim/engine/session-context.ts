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

export interface SessionOptions {
  nocount: boolean;
  xactAbort: boolean;
  /** LOCK_TIMEOUT in ms; -1 waits forever (SQL Server's default). */
  lockTimeout: number;
  textsize: number;
  ansiNulls: boolean;
  quotedIdentifier: boolean;
  arithAbort: boolean;
  dateFirst: number;
  dateFormat: string;
  language: string;
  implicitTransactions: boolean;
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
