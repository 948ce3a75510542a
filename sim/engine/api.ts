/**
 * The contract between the simulator's TDS layer (`sim/tds/`) and its SQL engine (`sim/engine/`).
 *
 * The TDS layer owns bytes: packets, TLS, LOGIN7, token encoding, attention. The engine owns meaning:
 * catalogs, storage, transactions, T-SQL. Neither imports the other's internals; both import this file.
 *
 * Values cross this boundary exactly (no JS float for anything but float/real): see {@link SqlValue}.
 */

// ---------------------------------------------------------------------------------------------
// Types

/** SQL Server type names the simulator supports (lower case, as in sys.types). */
export type SqlTypeName =
  | 'bit'
  | 'tinyint'
  | 'smallint'
  | 'int'
  | 'bigint'
  | 'decimal'
  | 'numeric'
  | 'money'
  | 'smallmoney'
  | 'float'
  | 'real'
  | 'char'
  | 'varchar'
  | 'nchar'
  | 'nvarchar'
  | 'binary'
  | 'varbinary'
  | 'rowversion'
  | 'date'
  | 'time'
  | 'datetime'
  | 'smalldatetime'
  | 'datetime2'
  | 'datetimeoffset'
  | 'uniqueidentifier';

/** A column or parameter type. `length` is in characters for (n)char/(n)varchar, bytes for binary; -1 means (max). */
export interface SqlType {
  name: SqlTypeName;
  /** (n)char/(n)varchar: characters; binary/varbinary: bytes; -1 = max. */
  length?: number;
  /** decimal/numeric: 1..38. float: 24 or 53 (float(n) normalised). */
  precision?: number;
  /** decimal/numeric: 0..precision; time/datetime2/datetimeoffset: fractional digits 0..7. */
  scale?: number;
}

// ---------------------------------------------------------------------------------------------
// Values

/** An exact decimal: value = unscaled × 10^-scale. Used for decimal, numeric, money, smallmoney. */
export interface SqlDecimal {
  readonly kind: 'decimal';
  readonly unscaled: bigint;
  readonly scale: number;
}

/** date: days since 0001-01-01 (proleptic Gregorian), 0..3652058. */
export interface SqlDate {
  readonly kind: 'date';
  readonly days: number;
}

/** time(n): 100-nanosecond ticks since midnight, 0..863_999_999_999. Scale travels with the type. */
export interface SqlTime {
  readonly kind: 'time';
  readonly ticks: bigint;
}

/**
 * datetime, smalldatetime, datetime2(n): a local (offset-less) date and time.
 * days since 0001-01-01 plus 100 ns ticks since midnight. datetime values are kept at their
 * 1/300 s resolution by the engine (ticks rounded the way SQL Server rounds: .000/.003/.007).
 */
export interface SqlDateTime {
  readonly kind: 'datetime';
  readonly days: number;
  readonly ticks: bigint;
}

/** datetimeoffset(n): the UTC instant (days + ticks, in UTC) and the offset in minutes (-840..840). */
export interface SqlDateTimeOffset {
  readonly kind: 'datetimeoffset';
  readonly days: number;
  readonly ticks: bigint;
  readonly offsetMinutes: number;
}

/**
 * A value as the engine holds it and the TDS layer encodes it:
 * - null: SQL NULL;
 * - boolean: bit;
 * - bigint: tinyint, smallint, int, bigint;
 * - number: float, real (real values are float32-representable);
 * - SqlDecimal: decimal, numeric, money, smallmoney;
 * - string: char, varchar, nchar, nvarchar, uniqueidentifier (canonical upper-case 8-4-4-4-12 form);
 * - Buffer: binary, varbinary, rowversion;
 * - SqlDate / SqlTime / SqlDateTime / SqlDateTimeOffset: the temporal types.
 */
export type SqlValue =
  null | boolean | bigint | number | string | Buffer | SqlDecimal | SqlDate | SqlTime | SqlDateTime | SqlDateTimeOffset;

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A SQL Server error or message. `severity` (class) ≤ 10 is informational (INFO token), ≥ 11 an ERROR token.
 * Numbers, classes, states and texts follow SQL Server 2019 (see brief §A–F and the errors-events pages).
 */
export class SqlError extends Error {
  constructor(
    readonly number: number,
    readonly severity: number,
    readonly state: number,
    message: string,
    readonly procName = '',
    readonly lineNumber = 1,
  ) {
    super(message);
    this.name = 'SqlError';
  }
}

// ---------------------------------------------------------------------------------------------
// Result streams

/** Metadata of one result column. */
export interface ColumnMeta {
  name: string;
  type: SqlType;
  nullable: boolean;
  identity?: boolean;
  /** rowversion columns: SQL Server tags them with UserType 80. */
  isRowversion?: boolean;
  computed?: boolean;
}

/** Isolation levels, numbered as in the TDS Transaction Manager BEGIN request. */
export enum IsolationLevel {
  NoChange = 0,
  ReadUncommitted = 1,
  ReadCommitted = 2,
  RepeatableRead = 3,
  Serializable = 4,
  Snapshot = 5,
}

/**
 * What executing a request produces, in order. The TDS layer turns these into tokens:
 * - `resultSet` → COLMETADATA + ROW/NBCROW… (rows are pulled lazily; the TDS layer applies backpressure
 *   between pulls and may stop pulling when the client sends ATTENTION);
 * - `done` → DONE (batch) or DONEINPROC (inside an RPC) with COUNT when `rowCount` is set, ERROR when `error`;
 *   the TDS layer adds MORE to every DONE but the last of a response;
 * - `message` → INFO (severity ≤ 10) or ERROR token;
 * - `envChange` → ENVCHANGE (transaction begin/commit/rollback descriptors, database, routing);
 * - `returnStatus` → RETURNSTATUS (RPC only).
 */
export type ExecEvent =
  | { kind: 'resultSet'; columns: ColumnMeta[]; rows: Iterable<SqlValue[]> }
  | { kind: 'done'; rowCount?: bigint; error?: boolean }
  | { kind: 'message'; error: SqlError }
  | { kind: 'envChange'; change: EnvChange }
  | { kind: 'returnStatus'; value: number };

export type EnvChange =
  | { type: 'database'; newValue: string; oldValue: string }
  | { type: 'beginTransaction'; descriptor: Buffer }
  | { type: 'commitTransaction'; descriptor: Buffer }
  | { type: 'rollbackTransaction'; descriptor: Buffer };

/** A typed parameter decoded from an RPC request. Name includes the leading '@'. */
export interface RpcParam {
  name: string;
  type: SqlType;
  value: SqlValue;
  output: boolean;
}

/** Login as decoded from LOGIN7. */
export interface LoginRequest {
  userName: string;
  password: string;
  /** Empty when the client names none: the login's default database is used. */
  database: string;
  appName: string;
  hostName: string;
  readOnlyIntent: boolean;
  clientProcessId: number;
}

/** The engine's answer to a login. */
export type LoginResult =
  | { kind: 'session'; session: Session; database: string; infoMessages: SqlError[] }
  /** AlwaysOn read-only routing (part 2): the TDS layer sends LOGINACK, ENVCHANGE 20 with this target, DONE. */
  | { kind: 'route'; host: string; port: number }
  | { kind: 'error'; error: SqlError };

/** One connection's server-side state. */
export interface Session {
  readonly spid: number;
  /**
   * Runs a SQL batch (SQLBatch message). `signal` aborts on ATTENTION: the engine stops at the next row or
   * statement boundary, rolls back nothing beyond what SQL Server would (an open transaction stays open).
   */
  executeBatch(sql: string, signal: AbortSignal): AsyncIterable<ExecEvent>;
  /** Runs an RPC by name (`sp_executesql` for proc id 10, and any other procedure by name). */
  executeRpc(procName: string, params: RpcParam[], signal: AbortSignal): AsyncIterable<ExecEvent>;
  /** Transaction Manager BEGIN (TDS type 0x0E, request 5). Emits the events of the reply. */
  beginTransaction(isolation: IsolationLevel, name: string): AsyncIterable<ExecEvent>;
  /** Transaction Manager COMMIT (7) or ROLLBACK (8); `beginNew` asks for a new transaction afterwards. */
  endTransaction(commit: boolean, name: string, beginNew?: { isolation: IsolationLevel }): AsyncIterable<ExecEvent>;
  /**
   * RESETCONNECTION / RESETCONNECTIONSKIPTRAN (MS-TDS 2.2.3.1.2), before the request that carried the flag runs:
   * the session goes back to the state of its login ("effectively simulating a logout and a subsequent login"),
   * keeping the open transaction when `keepTransaction` (SKIPTRAN). Returns the events the reset produced (a
   * rollback ENVCHANGE when it rolled a transaction back); the TDS layer sends them after its ENVCHANGE 18.
   */
  reset(keepTransaction: boolean): ExecEvent[];
  /** The 8-byte descriptor of the open transaction, or 8 zero bytes. */
  readonly transactionDescriptor: Buffer;
  /** Called when the connection closes: open transactions are rolled back, locks released. */
  close(): void;
}

/** The engine as the TDS layer sees it. */
export interface Engine {
  login(request: LoginRequest): Promise<LoginResult>;
}
