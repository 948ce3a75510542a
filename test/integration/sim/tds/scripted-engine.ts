/**
 * A PROTOCOL TEST DOUBLE, not the simulator's engine: a tiny scripted implementation of the `Engine`/`Session`
 * contract (`sim/engine/api.ts`) so the TDS layer can be tested with the real `mssql` driver on its own.
 * Statements are not parsed: each test supplies handlers keyed by the exact batch text or `@statement`.
 */
import { randomBytes } from 'node:crypto';
import {
  type Engine,
  type ExecEvent,
  IsolationLevel,
  type LoginRequest,
  type LoginResult,
  type RpcParam,
  type Session,
  SqlError,
} from '../../../../sim/engine/api.js';

/** A call the scripted session received. */
export type ScriptedCall =
  | { kind: 'batch'; sql: string }
  | { kind: 'rpc'; procName: string; params: RpcParam[] }
  | { kind: 'begin'; isolation: IsolationLevel; name: string }
  | { kind: 'end'; commit: boolean; name: string }
  | { kind: 'reset'; keepTransaction: boolean };

/** Produces the events answering one statement. */
export type ScriptHandler = (call: ScriptedCall, signal: AbortSignal) => AsyncIterable<ExecEvent> | Iterable<ExecEvent>;

export interface ScriptedEngineOptions {
  users?: Record<string, string>;
  /** Handlers by exact batch text or sp_executesql `@statement`. */
  statements?: Record<string, ScriptHandler>;
  /** Route logins with read-only intent here (AlwaysOn read-only routing). */
  routeReadOnlyTo?: { host: string; port: number };
}

export class ScriptedEngine implements Engine {
  readonly logins: LoginRequest[] = [];
  readonly calls: ScriptedCall[] = [];
  readonly sessions: ScriptedSession[] = [];
  private nextSpid = 51;

  constructor(readonly options: ScriptedEngineOptions = {}) {}

  login(request: LoginRequest): Promise<LoginResult> {
    this.logins.push(request);
    const users = this.options.users ?? { sa: 'Sim-Passw0rd' };
    if (users[request.userName] !== request.password) {
      return Promise.resolve({
        kind: 'error',
        error: new SqlError(18456, 14, 1, `Login failed for user '${request.userName}'.`),
      });
    }
    if (request.readOnlyIntent && this.options.routeReadOnlyTo) {
      return Promise.resolve({ kind: 'route', ...this.options.routeReadOnlyTo });
    }
    const session = new ScriptedSession(this, this.nextSpid++);
    this.sessions.push(session);
    return Promise.resolve({ kind: 'session', session, database: request.database || 'master', infoMessages: [] });
  }
}

const NO_TRANSACTION = Buffer.alloc(8);

export class ScriptedSession implements Session {
  transactionDescriptor: Buffer = NO_TRANSACTION;
  isolation: IsolationLevel = IsolationLevel.ReadCommitted;
  closed = false;

  constructor(
    private readonly engine: ScriptedEngine,
    readonly spid: number,
  ) {}

  executeBatch(sql: string, signal: AbortSignal): AsyncIterable<ExecEvent> {
    return this.run({ kind: 'batch', sql }, sql, signal);
  }

  executeRpc(procName: string, params: RpcParam[], signal: AbortSignal): AsyncIterable<ExecEvent> {
    const statement = params.find((p) => p.name === '@statement')?.value;
    return this.run({ kind: 'rpc', procName, params }, typeof statement === 'string' ? statement : procName, signal);
  }

  async *beginTransaction(isolation: IsolationLevel, name: string): AsyncIterable<ExecEvent> {
    this.engine.calls.push({ kind: 'begin', isolation, name });
    await Promise.resolve();
    this.isolation = isolation;
    this.transactionDescriptor = randomBytes(8);
    yield { kind: 'envChange', change: { type: 'beginTransaction', descriptor: this.transactionDescriptor } };
    yield { kind: 'done' };
  }

  async *endTransaction(commit: boolean, name: string): AsyncIterable<ExecEvent> {
    this.engine.calls.push({ kind: 'end', commit, name });
    await Promise.resolve();
    const descriptor = this.transactionDescriptor;
    this.transactionDescriptor = NO_TRANSACTION;
    yield {
      kind: 'envChange',
      change: commit ? { type: 'commitTransaction', descriptor } : { type: 'rollbackTransaction', descriptor },
    };
    yield { kind: 'done' };
  }

  reset(keepTransaction: boolean): ExecEvent[] {
    this.engine.calls.push({ kind: 'reset', keepTransaction });
    if (keepTransaction || this.transactionDescriptor === NO_TRANSACTION) return [];
    const descriptor = this.transactionDescriptor;
    this.transactionDescriptor = NO_TRANSACTION;
    return [{ kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } }];
  }

  close(): void {
    this.closed = true;
  }

  private async *run(call: ScriptedCall, key: string, signal: AbortSignal): AsyncIterable<ExecEvent> {
    this.engine.calls.push(call);
    const handler = this.engine.options.statements?.[key];
    if (handler) {
      yield* handler(call, signal);
      return;
    }
    if (/^set /i.test(key)) {
      yield { kind: 'done' };
      return;
    }
    if (key === 'SELECT 1;') {
      // mssql's pool validates every connection it hands out with this statement.
      yield { kind: 'resultSet', columns: [{ name: '', type: { name: 'int' }, nullable: false }], rows: [[1n]] };
      yield { kind: 'done', rowCount: 1n };
      return;
    }
    yield {
      kind: 'message',
      error: new SqlError(2812, 16, 62, `Could not find stored procedure '${key.slice(0, 40)}'.`),
    };
    yield { kind: 'done', error: true };
  }
}
