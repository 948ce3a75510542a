/**
 * One client connection: the TDS state machine (MS-TDS 3.3.5 server states) from PRELOGIN through TLS and
 * LOGIN7 to the logged-in loop of SQLBatch / RPC / Transaction Manager requests, with ATTENTION handling.
 *
 * Incoming bytes are assembled into messages continuously, so an ATTENTION packet is seen while a response is
 * still being produced; requests are served one at a time in arrival order.
 */
import type { Socket } from 'node:net';
import type * as tls from 'node:tls';
import type { Writable } from 'node:stream';
import {
  type Engine,
  type EnvChange,
  type ExecEvent,
  type LoginRequest,
  type LoginResult,
  type Session,
  SqlError,
} from '../engine/api.js';
import { DEFAULT_COLLATION } from './collation.js';
import {
  DEFAULT_PACKET_SIZE,
  DONE_STATUS,
  ENCRYPT,
  ENVCHANGE_TYPE,
  MAX_PACKET_SIZE,
  MIN_PACKET_SIZE,
  PACKET_STATUS,
  PACKET_TYPE,
  SERVER_PROG_NAME,
  SERVER_VERSION,
  TOKEN,
} from './constants.js';
import { readLogin7 } from './login7.js';
import { MessageWriter } from './message-writer.js';
import { type IncomingMessage, MessageAssembler, framePackets } from './packet.js';
import { buildPreloginResponse, negotiateEncryption, readPrelogin } from './prelogin.js';
import { ProtocolError } from './reader.js';
import {
  type AllHeaders,
  RpcParameterError,
  readRpcRequest,
  readSqlBatch,
  readTransactionManagerRequest,
} from './requests.js';
import { TlsBridge } from './tls.js';
import {
  writeAttentionAck,
  writeColMetadata,
  writeDone,
  writeEnvChangeBytes,
  writeEnvChangeRouting,
  writeEnvChangeString,
  writeInfoError,
  writeLoginAck,
  writeReturnStatus,
  writeRow,
} from './tokens.js';
import { planColumn } from './value-encoder.js';

/** What the server tells an observer about each request (tests use it to see transaction descriptors). */
export interface TdsRequestInfo {
  spid: number;
  kind: 'sqlBatch' | 'rpc' | 'transactionManager';
  /** The transaction descriptor the client sent in ALL_HEADERS. */
  transactionDescriptor: Buffer;
  sql?: string;
  procName?: string;
  tmRequest?: string;
}

/** A request as fault hooks see it (sim/faults matches rules against it). */
export interface TdsRequestContext {
  spid: number;
  appName: string;
  userName: string;
  /** The batch text, sp_executesql's @statement, the procedure name, or the Transaction Manager request kind. */
  text: string;
}

/**
 * A fault's hold on one response while it is written. `afterRow` runs after each row is encoded, with the rows
 * and payload bytes of the response so far; `beforeEnd` runs when the request has run, before the last packet
 * goes out. Either may answer 'reset' (the connection is reset at once: what was flushed reached the client, the
 * rest is lost, the socket is destroyed with a TCP RST) or a promise (the response pauses, with everything
 * encoded so far flushed to the client, until it settles or the request is cancelled).
 */
export interface ResponseProbe {
  afterRow?(rows: number, bytes: number): 'reset' | Promise<void> | undefined;
  beforeEnd?(): 'reset' | undefined;
}

/** Hooks through which sim/faults injects faults into live connections. */
export interface TdsFaultHooks {
  /** Called when a request starts; a probe follows its response. `signal` fires when the request is cancelled. */
  onResponse(request: TdsRequestContext, signal: AbortSignal): ResponseProbe | undefined;
}

/** What a fault injector sees of a live connection. */
export interface TdsConnectionInfo {
  spid: number;
  appName: string;
  userName: string;
  /** Resets the connection now (TCP RST): the client sees ECONNRESET. */
  reset(): void;
}

/** Settings shared by every connection of a server. */
export interface ConnectionOptions {
  engine: Engine;
  serverName: string;
  secureContext?: tls.SecureContext;
  onRequest?: (info: TdsRequestInfo) => void;
  onError?: (err: Error) => void;
  faults?: TdsFaultHooks;
}

/** The fault probe answered 'reset': the connection is gone, the response is abandoned. */
class ConnectionResetByFault extends Error {
  constructor() {
    super('connection reset by a fault hook');
  }
}

/** A failure after part of a row was sent: the response cannot be completed. */
class FatalStreamError extends Error {
  constructor(override readonly cause: unknown) {
    super('row encoding failed after part of the row was sent');
  }
}

type QueueItem = { kind: 'message'; message: IncomingMessage; cancelled: boolean } | { kind: 'attention' };

const EMPTY = Buffer.alloc(0);
/**
 * The simulator's scheduling quantum, as SQL Server's (a task yields its scheduler after ~4 ms of CPU): a response
 * that has run this long since it last let the event loop turn — producing rows, or an operator before its first
 * row (a sort) — sends the whole packets it has and yields, so every other session's ready request (and an
 * ATTENTION) runs before its next rows. The simulator is one Node process with one event loop: without this, a
 * large result was produced in runs of hundreds of kilobytes while every other session's statement waited behind
 * it — the simulator's scheduling, not database load (docs/performance.md, "OLTP impact, continued").
 */
export const QUANTUM_MS = 4;
/** Rows encoded between two looks at the clock (a look costs ~0.1 µs, a row several µs). */
const ROWS_PER_CLOCK_LOOK = 16;

type Phase = 'prelogin' | 'tls' | 'login' | 'loggedIn' | 'closed';

export class TdsConnection {
  private phase: Phase = 'prelogin';
  private readonly assembler = new MessageAssembler();
  private readonly queue: QueueItem[] = [];
  private wake: (() => void) | undefined;
  private out: Writable;
  private readonly writer: MessageWriter;
  private tlsBridge: TlsBridge | undefined;
  private session: Session | undefined;
  private current: AbortController | undefined;
  private spid = 0;
  private appName = '';
  private userName = '';
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.out = socket;
    // After close, output is dropped instead of written to a destroyed stream.
    this.writer = new MessageWriter({ write: (chunk) => this.phase === 'closed' || this.out.write(chunk) });
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    void this.serve();
  }

  /** Resolves once the connection is closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** The logged-in session's identity, for fault hooks (undefined before LOGINACK). */
  get info(): TdsConnectionInfo | undefined {
    if (!this.session || this.phase === 'closed') return undefined;
    return { spid: this.spid, appName: this.appName, userName: this.userName, reset: () => this.reset() };
  }

  /**
   * Resets the connection: SO_LINGER 0 then close, so the peer gets a TCP RST (ECONNRESET), as when a server
   * process kills a session or dies. The session is closed like on any disconnect (its transaction rolled back).
   */
  reset(): void {
    if (this.phase === 'closed') return;
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
    this.close();
  }

  /** Closes the connection (socket destroyed, session closed, running request aborted). */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.current?.abort();
    this.tlsBridge?.destroy();
    this.socket.destroy();
    try {
      this.session?.close();
    } catch (err) {
      this.report(err);
    }
    this.wake?.();
    this.resolveClosed();
  }

  // ------------------------------------------------------------------------------------------
  // Input

  private onSocketData(chunk: Buffer): void {
    if (this.tlsBridge?.established) this.tlsBridge.push(chunk);
    else this.onTdsBytes(chunk);
  }

  private onTdsBytes(chunk: Buffer): void {
    let messages: IncomingMessage[];
    try {
      messages = this.assembler.push(chunk);
    } catch (err) {
      this.report(err);
      this.close();
      return;
    }
    for (const message of messages) {
      if (message.type === PACKET_TYPE.ATTENTION) this.onAttention();
      else this.queue.push({ kind: 'message', message, cancelled: false });
    }
    if (messages.length > 0) this.wake?.();
  }

  /**
   * ATTENTION (2.2.1.7, 3.3.5.9): cancel the running request, cancel queued ones, and acknowledge (2.2.2.9) after
   * their responses — also when no request is running, since the client waits for the acknowledgement.
   */
  private onAttention(): void {
    this.current?.abort();
    for (const item of this.queue) if (item.kind === 'message') item.cancelled = true;
    this.queue.push({ kind: 'attention' });
  }

  private async next(): Promise<QueueItem | undefined> {
    while (this.queue.length === 0) {
      if (this.phase === 'closed') return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.queue.shift();
  }

  // ------------------------------------------------------------------------------------------
  // Request loop

  private async serve(): Promise<void> {
    for (;;) {
      const item = await this.next();
      if (!item || this.phase === 'closed') return;
      try {
        if (item.kind === 'attention') {
          this.writer.begin();
          writeAttentionAck(this.writer);
          await this.endMessage();
          continue;
        }
        await this.dispatch(item.message, item.cancelled);
      } catch (err) {
        this.report(err);
        this.close();
        return;
      }
    }
  }

  private async dispatch(m: IncomingMessage, cancelled: boolean): Promise<void> {
    switch (this.phase) {
      case 'prelogin':
        if (m.type !== PACKET_TYPE.PRELOGIN) throw new ProtocolError(`expected PRELOGIN, got 0x${m.type.toString(16)}`);
        return this.onPrelogin(m.payload);
      case 'tls':
        if (m.type !== PACKET_TYPE.PRELOGIN) throw new ProtocolError('expected TLS handshake in PRELOGIN packets');
        this.tlsBridge?.push(m.payload);
        return;
      case 'login':
        if (m.type !== PACKET_TYPE.LOGIN7) throw new ProtocolError(`expected LOGIN7, got 0x${m.type.toString(16)}`);
        return this.onLogin7(m.payload);
      case 'loggedIn':
        if (m.ignored || cancelled) {
          // 2.2.3.1.2 IGNORE / a request overtaken by ATTENTION: nothing runs; an ordinary DONE ends the response.
          this.writer.begin();
          writeDone(this.writer, TOKEN.DONE, DONE_STATUS.FINAL);
          return this.endMessage();
        }
        return this.onRequest(m);
      case 'closed':
        return;
    }
  }

  // ------------------------------------------------------------------------------------------
  // PRELOGIN and TLS

  private async onPrelogin(payload: Buffer): Promise<void> {
    const request = readPrelogin(payload).value;
    const encryption = negotiateEncryption(request.encryption, this.options.secureContext !== undefined);
    this.writer.begin(PACKET_TYPE.TABULAR_RESULT);
    this.writer.bytes(buildPreloginResponse(encryption));
    await this.endMessage();
    if (encryption === ENCRYPT.ON && this.options.secureContext) {
      this.phase = 'tls';
      this.startTls(this.options.secureContext);
    } else {
      this.phase = 'login';
    }
  }

  private startTls(context: tls.SecureContext): void {
    const bridge = new TlsBridge(context, {
      sendHandshake: (records) => {
        const framed = framePackets(records, 0, records.length, {
          type: PACKET_TYPE.PRELOGIN,
          packetSize: DEFAULT_PACKET_SIZE,
          spid: 0,
          eom: true,
          firstPacketId: 1,
        });
        this.socket.write(framed);
      },
      writeRaw: (records) => this.socket.write(records),
      waitRaw: () => this.waitForDrain(this.socket),
      onCleartext: (data) => this.onTdsBytes(data),
      onError: (err) => {
        this.report(err);
        this.close();
      },
    });
    this.tlsBridge = bridge;
    bridge.socket.once('secure', () => {
      this.out = bridge.socket;
      if (this.phase === 'tls') this.phase = 'login';
    });
  }

  // ------------------------------------------------------------------------------------------
  // LOGIN7 (2.2.6.4) and the login response (2.2.2.2 Login Response; token order as brief §F)

  private async onLogin7(payload: Buffer): Promise<void> {
    const login = readLogin7(payload);
    const request: LoginRequest = {
      userName: login.userName,
      password: login.password,
      database: login.database,
      appName: login.appName,
      hostName: login.hostName,
      readOnlyIntent: login.readOnlyIntent,
      clientProcessId: login.clientPid,
    };
    let result: LoginResult;
    try {
      result = await this.options.engine.login(request);
    } catch (err) {
      result = { kind: 'error', error: err instanceof SqlError ? err : this.internalError(err) };
    }
    const w = this.writer;
    const server = this.options.serverName;
    w.begin();
    if (result.kind === 'error') {
      writeInfoError(w, TOKEN.ERROR, this.messageOf(result.error));
      writeDone(w, TOKEN.DONE, DONE_STATUS.ERROR);
      await this.endMessage();
      this.socket.end();
      return;
    }
    const packetSize =
      login.packetSize === 0
        ? DEFAULT_PACKET_SIZE
        : Math.min(MAX_PACKET_SIZE, Math.max(MIN_PACKET_SIZE, login.packetSize));
    if (result.kind === 'route') {
      // Read-only routing (2.2.7.9 type 20): LOGINACK, the routing ENVCHANGE, DONE; the client reconnects.
      writeLoginAck(w, SERVER_PROG_NAME, SERVER_VERSION);
      writeEnvChangeRouting(w, result.host, result.port);
      writeDone(w, TOKEN.DONE, DONE_STATUS.FINAL);
      await this.endMessage();
      return;
    }
    const session = result.session;
    this.session = session;
    this.spid = session.spid;
    this.appName = login.appName;
    this.userName = login.userName;
    this.writer.spid = session.spid;
    const extra = [...result.infoMessages];
    const take = (number: number): SqlError | undefined => {
      const i = extra.findIndex((e) => e.number === number);
      return i >= 0 ? extra.splice(i, 1)[0] : undefined;
    };
    const database = result.database;
    const dbInfo = take(5701) ?? new SqlError(5701, 0, 2, `Changed database context to '${database}'.`, '', 1);
    const langInfo = take(5703) ?? new SqlError(5703, 0, 1, 'Changed language setting to us_english.', '', 1);
    writeEnvChangeString(w, ENVCHANGE_TYPE.DATABASE, database, 'master');
    writeInfoError(w, TOKEN.INFO, this.messageOf(dbInfo, server));
    writeEnvChangeBytes(w, ENVCHANGE_TYPE.SQL_COLLATION, DEFAULT_COLLATION, EMPTY);
    writeEnvChangeString(w, ENVCHANGE_TYPE.LANGUAGE, 'us_english', '');
    writeInfoError(w, TOKEN.INFO, this.messageOf(langInfo, server));
    for (const m of extra) writeInfoError(w, m.severity <= 10 ? TOKEN.INFO : TOKEN.ERROR, this.messageOf(m, server));
    writeLoginAck(w, SERVER_PROG_NAME, SERVER_VERSION);
    writeEnvChangeString(w, ENVCHANGE_TYPE.PACKET_SIZE, String(packetSize), String(DEFAULT_PACKET_SIZE));
    writeDone(w, TOKEN.DONE, DONE_STATUS.FINAL);
    await this.endMessage();
    this.writer.packetSize = packetSize;
    this.phase = 'loggedIn';
  }

  // ------------------------------------------------------------------------------------------
  // Requests

  private async onRequest(m: IncomingMessage): Promise<void> {
    const session = this.session as Session;
    const controller = new AbortController();
    this.current = controller;
    // 2.2.3.1.2: the reset flags count on the first packet of the message (the assembler keeps its status).
    const reset =
      m.status & PACKET_STATUS.RESETCONNECTIONSKIPTRAN
        ? 'keepTransaction'
        : m.status & PACKET_STATUS.RESETCONNECTION
          ? 'all'
          : undefined;
    try {
      switch (m.type) {
        case PACKET_TYPE.SQL_BATCH: {
          const req = readSqlBatch(m.payload);
          this.observe('sqlBatch', req.headers, { sql: req.sql });
          return await this.respond(
            () => session.executeBatch(req.sql, controller.signal),
            controller.signal,
            'batch',
            reset,
            req.sql,
          );
        }
        case PACKET_TYPE.RPC_REQUEST: {
          let req;
          try {
            req = readRpcRequest(m.payload);
          } catch (err) {
            if (!(err instanceof RpcParameterError)) throw err;
            return await this.respond(() => failWith(parameterError(err)), controller.signal, 'rpc', reset, '');
          }
          this.observe('rpc', req.headers, { procName: req.procName });
          const statement = req.params.find((p) => p.name.toLowerCase() === '@statement') ?? req.params[0];
          return await this.respond(
            () => session.executeRpc(req.procName, req.params, controller.signal),
            controller.signal,
            'rpc',
            reset,
            /^(sys\.)?sp_executesql$/i.test(req.procName) && typeof statement?.value === 'string'
              ? statement.value
              : req.procName,
          );
        }
        case PACKET_TYPE.TRANSACTION_MANAGER: {
          const req = readTransactionManagerRequest(m.payload);
          this.observe('transactionManager', req.headers, { tmRequest: req.kind });
          const run = (): AsyncIterable<ExecEvent> => {
            switch (req.kind) {
              case 'begin':
                return session.beginTransaction(req.isolation, req.name);
              case 'commit':
              case 'rollback':
                return session.endTransaction(req.kind === 'commit', req.name, req.beginNew);
              case 'save':
                // No session method for savepoints: the T-SQL statement has the same effect.
                return session.executeBatch(`SAVE TRANSACTION [${req.name.replace(/]/g, ']]')}]`, controller.signal);
              case 'unsupported':
                return failWith(
                  new SqlError(
                    8509,
                    16,
                    1,
                    `Transaction Manager request type ${req.requestType} is not supported by the simulator.`,
                  ),
                );
            }
          };
          return await this.respond(run, controller.signal, 'batch', reset, `TM_${req.kind.toUpperCase()}_XACT`);
        }
        default:
          throw new ProtocolError(`unexpected message type 0x${m.type.toString(16)} after login`);
      }
    } finally {
      if (this.current === controller) this.current = undefined;
    }
  }

  private observe(kind: TdsRequestInfo['kind'], headers: AllHeaders, extra: Partial<TdsRequestInfo>): void {
    if (!this.options.onRequest) return;
    this.options.onRequest({ spid: this.spid, kind, transactionDescriptor: headers.transactionDescriptor, ...extra });
  }

  /**
   * Turns the engine's events into one response message.
   * Batch and TM: DONE per statement, MORE on all but the last. RPC: DONEINPROC per statement (all with MORE),
   * RETURNSTATUS, then the final DONEPROC (2.2.7.6–2.2.7.8). On ATTENTION the message ends early; the separate
   * acknowledgement follows from the queue.
   */
  private async respond(
    start: () => AsyncIterable<ExecEvent>,
    signal: AbortSignal,
    mode: 'batch' | 'rpc',
    reset: 'all' | 'keepTransaction' | undefined,
    text: string,
  ): Promise<void> {
    const w = this.writer;
    const probe = this.options.faults?.onResponse(
      { spid: this.spid, appName: this.appName, userName: this.userName, text },
      signal,
    );
    let rowsSent = 0;
    w.begin();
    if (reset) {
      // The session is reset before the request runs; ENVCHANGE 18 acknowledges it (2.2.7.9), then whatever the
      // reset changed (a rolled-back transaction).
      const events = (this.session as Session).reset(reset === 'keepTransaction');
      writeEnvChangeBytes(w, ENVCHANGE_TYPE.RESET_CONNECTION, EMPTY, EMPTY);
      for (const ev of events) if (ev.kind === 'envChange') this.writeEnvChange(ev.change);
    }
    const doneToken = mode === 'rpc' ? TOKEN.DONEINPROC : TOKEN.DONE;
    let pending: { status: number; rowCount: bigint } | undefined;
    let sawReturnStatus = false;
    let errorSent = false;
    let dones = 0;
    const flushPending = (more: boolean): void => {
      if (!pending) return;
      writeDone(w, doneToken, pending.status | (more ? DONE_STATUS.MORE : 0), pending.rowCount);
      pending = undefined;
      dones++;
    };
    const inTransaction = (): number => (this.inTransaction() ? DONE_STATUS.INXACT : 0);
    // Start of the current quantum: the request started running, or the response last yielded.
    let quantumStart = performance.now();
    let rowsSinceLook = 0;
    try {
      for await (const ev of start()) {
        if (signal.aborted) break;
        flushPending(true);
        switch (ev.kind) {
          case 'resultSet': {
            const plans = ev.columns.map(planColumn);
            writeColMetadata(
              w,
              plans,
              ev.columns.map((c) => c.name),
            );
            for (const row of ev.rows) {
              const rowStart = w.pos;
              const sentBefore = w.sentInMessage;
              try {
                writeRow(w, plans, row);
              } catch (err) {
                // Drop the half-written row so the token stream stays well formed; if part of it already
                // left in a packet, the stream cannot be repaired and the connection is closed.
                if (w.sentInMessage !== sentBefore) throw new FatalStreamError(err);
                w.pos = rowStart;
                throw err;
              }
              if (probe?.afterRow) {
                const action = probe.afterRow(++rowsSent, w.sentInMessage + w.pos);
                if (action !== undefined) await this.applyFault(action, signal);
              }
              let quantumUsed = false;
              if (++rowsSinceLook >= ROWS_PER_CLOCK_LOOK) {
                rowsSinceLook = 0;
                quantumUsed = performance.now() - quantumStart >= QUANTUM_MS;
              }
              if (quantumUsed || w.pos >= w.highWater) {
                w.flushFull();
                if (w.needsDrain) {
                  // The client is behind: wait for it (the event loop turns meanwhile).
                  w.needsDrain = false;
                  await this.waitForDrain(this.out);
                  quantumStart = performance.now();
                } else if (quantumUsed) {
                  await new Promise((resolve) => setImmediate(resolve));
                  quantumStart = performance.now();
                }
                if (signal.aborted) break;
              }
            }
            break;
          }
          case 'done': {
            let status = inTransaction();
            if (ev.rowCount !== undefined) status |= DONE_STATUS.COUNT;
            if (ev.error) status |= DONE_STATUS.ERROR;
            pending = { status, rowCount: ev.rowCount ?? 0n };
            break;
          }
          case 'message':
            if (ev.error.severity > 10) errorSent = true;
            writeInfoError(w, ev.error.severity <= 10 ? TOKEN.INFO : TOKEN.ERROR, this.messageOf(ev.error));
            break;
          case 'envChange':
            this.writeEnvChange(ev.change);
            break;
          case 'returnStatus':
            sawReturnStatus = true;
            writeReturnStatus(w, ev.value);
            break;
        }
        if (signal.aborted) break;
      }
    } catch (err) {
      if (err instanceof FatalStreamError) throw err.cause;
      if (err instanceof ConnectionResetByFault) return;
      if (!signal.aborted) {
        flushPending(true);
        const e = err instanceof SqlError ? err : this.internalError(err);
        writeInfoError(w, TOKEN.ERROR, this.messageOf(e));
        errorSent = true;
        pending = { status: DONE_STATUS.ERROR | inTransaction(), rowCount: 0n };
      }
    }
    if (signal.aborted) {
      // The client reads the rest of this message and ignores it; the acknowledgement comes separately.
      flushPending(false);
      if (dones === 0) writeDone(w, TOKEN.DONE, DONE_STATUS.FINAL);
    } else if (mode === 'rpc') {
      flushPending(true);
      if (!sawReturnStatus) writeReturnStatus(w, 0);
      writeDone(w, TOKEN.DONEPROC, (errorSent ? DONE_STATUS.ERROR : 0) | inTransaction());
    } else {
      if (!pending && dones === 0) pending = { status: inTransaction(), rowCount: 0n };
      flushPending(false);
    }
    if (probe?.beforeEnd?.() === 'reset') {
      // The request ran (an autocommit write committed) but its response never arrives.
      w.flushFull();
      await this.resetAfterFlush();
      return;
    }
    await this.endMessage();
  }

  /** Applies a probe's answer mid-response: a reset, or a pause with the rows so far delivered. */
  private async applyFault(action: 'reset' | Promise<void>, signal: AbortSignal): Promise<void> {
    this.writer.flushFull();
    if (action === 'reset') {
      await this.resetAfterFlush();
      throw new ConnectionResetByFault();
    }
    await this.waitForDrain(this.out);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done);
      void action.then(done, done);
      void this.closedPromise.then(done);
    });
  }

  /** Lets the flushed packets reach the peer before the RST (a RST discards data still queued to send). */
  private async resetAfterFlush(): Promise<void> {
    await new Promise<void>((resolve) => this.out.write(EMPTY, () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.reset();
  }

  private writeEnvChange(change: EnvChange): void {
    const w = this.writer;
    switch (change.type) {
      case 'database':
        writeEnvChangeString(w, ENVCHANGE_TYPE.DATABASE, change.newValue, change.oldValue);
        return;
      case 'beginTransaction':
        writeEnvChangeBytes(w, ENVCHANGE_TYPE.BEGIN_TRANSACTION, change.descriptor, EMPTY);
        return;
      case 'commitTransaction':
        writeEnvChangeBytes(w, ENVCHANGE_TYPE.COMMIT_TRANSACTION, EMPTY, change.descriptor);
        return;
      case 'rollbackTransaction':
        writeEnvChangeBytes(w, ENVCHANGE_TYPE.ROLLBACK_TRANSACTION, EMPTY, change.descriptor);
        return;
    }
  }

  private inTransaction(): boolean {
    const d = this.session?.transactionDescriptor;
    if (!d) return false;
    for (const b of d) if (b !== 0) return true;
    return false;
  }

  // ------------------------------------------------------------------------------------------
  // Output helpers

  private async endMessage(): Promise<void> {
    this.writer.end();
    if (this.writer.needsDrain) {
      this.writer.needsDrain = false;
      await this.waitForDrain(this.out);
    }
  }

  private waitForDrain(stream: Writable): Promise<void> {
    if (this.phase === 'closed' || !stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private messageOf(e: SqlError, serverName = this.options.serverName) {
    return {
      number: e.number,
      state: e.state,
      severity: e.severity,
      message: e.message,
      serverName,
      procName: e.procName,
      lineNumber: e.lineNumber,
    };
  }

  private internalError(err: unknown): SqlError {
    this.report(err);
    const text = err instanceof Error ? err.message : String(err);
    return new SqlError(50000, 16, 1, `SQL Server simulator internal error: ${text}`);
  }

  private report(err: unknown): void {
    this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * SQL Server answers an undecodable parameter with error 8016 (severity 16); a type SQL Server knows but the
 * simulator lacks is reported as the simulator's limitation instead of pretending the client erred.
 */
function parameterError(err: RpcParameterError): SqlError {
  if (err.cause.sqlServerType) return new SqlError(50000, 16, 1, err.message);
  return new SqlError(
    8016,
    16,
    2,
    `The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. ` +
      `Parameter ${err.ordinal} ("${err.paramName}"): ${err.cause.message}`,
  );
}

async function* failWith(error: SqlError): AsyncIterable<ExecEvent> {
  await Promise.resolve();
  yield { kind: 'message', error };
  yield { kind: 'done', error: true };
}
