/**
 * Fault injection into a running simulator, provoked for real: the faults act on the live TCP connections, the
 * engine's statements and its CDC and availability-group state, so the unmodified `mssql` driver sees exactly what
 * it would see from SQL Server (a TCP RST mid-result, a statement that does not return, error 983 during a
 * failover, error 313 after cleanup). The chaos runner reaches this object in-process (`sim.faults`) or over the
 * HTTP control channel (control-server.ts). sim/README.md "Fault hooks" lists each fault and what the client sees.
 */
import type { SimEngine, StatementHook } from '../engine/index.js';
import { cdcAdmin } from '../engine/cdc/index.js';
import type { AgState, FailoverOptions } from '../engine/replica/index.js';
import type { SessionContext } from '../engine/session-context.js';
import type { ResponseProbe, TdsConnectionInfo, TdsFaultHooks, TdsRequestContext } from '../tds/server.js';

/**
 * Which requests or statements a fault applies to; every given field must match. `text` is a case-insensitive
 * fragment of the statement (engine-side stalls) or of the request (a batch, sp_executesql's @statement, a
 * procedure name); `appName` and `login` compare case-insensitively; `spid` is @@SPID.
 */
export interface FaultMatch {
  text?: string;
  appName?: string;
  login?: string;
  spid?: number;
}

/** How often a fault fires before it is spent: a count (default 1) or 'always' (until cancelled). */
export type FaultTimes = number | 'always';

/**
 * Reset the connection of a matching request: after `afterRows` rows or `afterBytes` bytes of its response,
 * or — with neither — after the request ran but before its response is sent (a committed write whose client
 * never hears back).
 */
export interface ResetConnectionFault {
  match: FaultMatch;
  afterRows?: number;
  afterBytes?: number;
  times?: FaultTimes;
}

/**
 * Hold matching statements: before the statement runs (holding nothing but what its transaction already holds),
 * or — with `afterRows` — after that many rows of its result went to the client (holding only its read view;
 * readers take no locks here). For `ms` milliseconds, or until released. ATTENTION (a client cancel or timeout)
 * still ends the wait and cancels the statement.
 */
export interface StallFault {
  match: FaultMatch;
  ms?: number;
  afterRows?: number;
  times?: FaultTimes;
}

/** Run CDC cleanup now: below `lowWaterMark` (an LSN) or for a retention, in one instance or all of a database. */
export interface CdcCleanupFault {
  database: string;
  captureInstance?: string;
  /** binary(10) LSN as '0x' + 20 hex digits (or a Buffer): change rows below it are deleted, min_lsn moves to it. */
  lowWaterMark?: string | Buffer;
  /** The cleanup job's retention in minutes (default: the configured one); ignored with `lowWaterMark`. */
  retentionMinutes?: number;
}

/** A registered fault as the control API reports it. */
export interface FaultStatus {
  id: string;
  kind: 'resetConnection' | 'stall';
  match: FaultMatch;
  /** Times it fired so far. */
  fired: number;
  /** Statements held right now (stalls). */
  waiting: number;
  /** Firings left: a number or 'always'; 0 once spent. */
  remaining: number | 'always';
}

/** A live connection as fault injection sees it. */
export interface ConnectionStatus {
  endpoint: string;
  spid: number;
  appName: string;
  login: string;
}

/** A request the caller got wrong (the HTTP channel answers 400 with the message). */
export class FaultRequestError extends Error {
  override readonly name = 'FaultRequestError';
}

/** What the injector acts on, supplied by the simulator. */
export interface FaultTargets {
  engine: SimEngine;
  /** The TDS endpoints by name ('primary', or 'listener', 'A', 'B' with an availability group). */
  endpoints(): Map<string, { connections(): TdsConnectionInfo[] }>;
  /** The availability group, when the simulator has one. */
  ag?: {
    state(): AgState;
    failover(options: FailoverOptions): Promise<AgState>;
    setSecondaryReadable(readable: boolean): void;
  };
}

interface Rule {
  id: string;
  kind: 'resetConnection' | 'stall';
  match: FaultMatch;
  fired: number;
  remaining: number | 'always';
  afterRows?: number;
  afterBytes?: number;
  ms?: number;
  waiters: Set<() => void>;
  firedListeners: Set<() => void>;
}

/** A fault registered with {@link FaultInjector}: its status, a wait for its firing, release and cancel. */
export interface FaultHandle {
  readonly id: string;
  status(): FaultStatus;
  /** Resolves once the fault has fired `n` times (default 1): for a stall, the statement is being held. */
  fired(n?: number): Promise<void>;
  /** Lets every held statement go on and spends the fault (stalls). */
  release(): number;
  /** Removes the fault (held statements go on). */
  cancel(): void;
}

export class FaultInjector {
  private readonly rules = new Map<string, Rule>();
  private nextId = 1;

  constructor(private readonly targets: FaultTargets) {
    const hook: StatementHook = (session, text, signal) => this.beforeStatement(session, text, signal);
    targets.engine.admin.setStatementHook(hook);
  }

  /** The hooks the TDS endpoints call (startTdsServer `faults`). */
  readonly tdsHooks: TdsFaultHooks = {
    onResponse: (request, signal) => this.probeFor(request, signal),
  };

  // ------------------------------------------------------------------------------------------
  // Connection faults

  /** Resets the connection of matching requests mid-response (see {@link ResetConnectionFault}). */
  resetConnection(fault: ResetConnectionFault): FaultHandle {
    const match = checkMatch(fault.match);
    const afterRows = optionalCount(fault.afterRows, 'afterRows', 1);
    const afterBytes = optionalCount(fault.afterBytes, 'afterBytes', 1);
    if (afterRows !== undefined && afterBytes !== undefined)
      throw new FaultRequestError('give afterRows or afterBytes, not both');
    return this.add({
      kind: 'resetConnection',
      match,
      remaining: checkTimes(fault.times),
      ...(afterRows !== undefined ? { afterRows } : {}),
      ...(afterBytes !== undefined ? { afterBytes } : {}),
    });
  }

  /** Resets every live connection that matches (`spid`, `appName`, `login`) now; returns how many. */
  killConnections(match: FaultMatch): number {
    const m = checkMatch(match);
    if (m.text !== undefined)
      throw new FaultRequestError('killConnections matches spid, appName or login, not statement text');
    let n = 0;
    for (const server of this.targets.endpoints().values())
      for (const c of server.connections())
        if (matchesWho(m, { spid: c.spid, appName: c.appName, login: c.userName })) {
          c.reset();
          n++;
        }
    return n;
  }

  /** The logged-in connections of every endpoint. */
  connections(): ConnectionStatus[] {
    return [...this.targets.endpoints()].flatMap(([endpoint, server]) =>
      server.connections().map((c) => ({ endpoint, spid: c.spid, appName: c.appName, login: c.userName })),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Stalls

  /** Holds matching statements (see {@link StallFault}). */
  stall(fault: StallFault): FaultHandle {
    const match = checkMatch(fault.match);
    const ms = optionalCount(fault.ms, 'ms', 0);
    const afterRows = optionalCount(fault.afterRows, 'afterRows', 1);
    return this.add({
      kind: 'stall',
      match,
      remaining: checkTimes(fault.times),
      ...(ms !== undefined ? { ms } : {}),
      ...(afterRows !== undefined ? { afterRows } : {}),
    });
  }

  /** Releases the statements a stall holds and spends it; returns how many were held. */
  release(id: string): number {
    const rule = this.rule(id);
    const n = rule.waiters.size;
    for (const w of [...rule.waiters]) w();
    rule.remaining = 0;
    return n;
  }

  /** Removes a fault; statements it holds go on. */
  cancel(id: string): void {
    const rule = this.rule(id);
    for (const w of [...rule.waiters]) w();
    this.rules.delete(id);
  }

  /** Removes every fault. */
  clear(): void {
    for (const id of [...this.rules.keys()]) this.cancel(id);
  }

  status(id: string): FaultStatus {
    return statusOf(this.rule(id));
  }

  list(): FaultStatus[] {
    return [...this.rules.values()].map(statusOf);
  }

  // ------------------------------------------------------------------------------------------
  // Availability group

  /**
   * Fails the availability group over: both replicas go RESOLVING (logins to its databases get 983), every client
   * connection to the listener and both replicas is reset, and after `resolvingMs` the old secondary is primary
   * (the listener reaches it) and the old primary secondary (read-intent logins are routed there when
   * `secondaryReadable`, else they get 982 from the listener and 976 from the replica).
   */
  async failover(options: FailoverOptions = {}): Promise<AgState> {
    const ag = this.requireAg();
    optionalCount(options.resolvingMs, 'resolvingMs', 0);
    if (options.secondaryReadable !== undefined && typeof options.secondaryReadable !== 'boolean')
      throw new FaultRequestError('secondaryReadable must be true or false');
    const settled = ag.failover(options);
    for (const server of this.targets.endpoints().values()) for (const c of server.connections()) c.reset();
    return settled;
  }

  agState(): AgState {
    return this.requireAg().state();
  }

  /** ALLOW_CONNECTIONS of the secondary role: READ_ONLY (true) or NO (false: 976 on the replica, 982 routed). */
  setSecondaryReadable(readable: boolean): AgState {
    const ag = this.requireAg();
    ag.setSecondaryReadable(readable);
    return ag.state();
  }

  // ------------------------------------------------------------------------------------------
  // CDC

  /**
   * Runs CDC cleanup now through the documented procedures: `sys.sp_cdc_cleanup_change_table` with the low
   * watermark for each instance (all of the database when none is named), or the cleanup job
   * (`sim.run_cdc_cleanup`) with a retention. Returns the instances it covered.
   */
  async cdcCleanup(fault: CdcCleanupFault): Promise<{ captureInstances: string[] }> {
    const names = this.captureInstances(fault.database, fault.captureInstance);
    if (fault.lowWaterMark !== undefined) {
      const lsn = lsnLiteral(fault.lowWaterMark);
      for (const ci of names)
        await this.sa(
          fault.database,
          `EXEC sys.sp_cdc_cleanup_change_table @capture_instance = ${nstr(ci)}, @low_water_mark = ${lsn}, @threshold = 5000`,
        );
      return { captureInstances: names };
    }
    const minutes = optionalCount(fault.retentionMinutes, 'retentionMinutes', 0);
    await this.sa(
      fault.database,
      minutes === undefined ? 'EXEC sim.run_cdc_cleanup' : `EXEC sim.run_cdc_cleanup @retention_minutes = ${minutes}`,
    );
    return { captureInstances: names };
  }

  /** Drops a capture instance with `sys.sp_cdc_disable_table` (its change function is gone: 208). */
  async dropCaptureInstance(fault: { database: string; captureInstance: string }): Promise<void> {
    const [name] = this.captureInstances(fault.database, fault.captureInstance);
    const inst = cdcAdmin(this.targets.engine)
      .of(this.database(fault.database))
      ?.instance(name ?? '');
    if (!inst) throw new FaultRequestError(`capture instance ${fault.captureInstance} does not exist`);
    await this.sa(
      fault.database,
      `EXEC sys.sp_cdc_disable_table @source_schema = ${nstr(inst.source.schema.name)}, @source_name = ${nstr(inst.source.name)}, @capture_instance = ${nstr(inst.name)}`,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Hooks

  private beforeStatement(session: SessionContext, text: string, signal: AbortSignal): Promise<void> | undefined {
    if (this.rules.size === 0) return undefined;
    const who = { spid: session.spid, appName: session.appName, login: session.login.name };
    for (const rule of this.rules.values()) {
      if (rule.kind !== 'stall' || rule.afterRows !== undefined || !armed(rule)) continue;
      if (!matchesWho(rule.match, who) || !matchesText(rule.match, text)) continue;
      return this.hold(rule, signal);
    }
    return undefined;
  }

  private probeFor(request: TdsRequestContext, signal: AbortSignal): ResponseProbe | undefined {
    if (this.rules.size === 0) return undefined;
    const who = { spid: request.spid, appName: request.appName, login: request.userName };
    const mine = [...this.rules.values()].filter(
      (r) =>
        (r.kind === 'resetConnection' || r.afterRows !== undefined) &&
        armed(r) &&
        matchesWho(r.match, who) &&
        matchesText(r.match, request.text),
    );
    if (mine.length === 0) return undefined;
    return {
      afterRow: (rows, bytes) => {
        for (const rule of mine) {
          if (!armed(rule)) continue;
          if (rule.kind === 'resetConnection') {
            const due =
              (rule.afterRows !== undefined && rows >= rule.afterRows) ||
              (rule.afterBytes !== undefined && bytes >= rule.afterBytes);
            if (due) {
              this.fire(rule);
              return 'reset';
            }
          } else if (rows === rule.afterRows) {
            return this.hold(rule, signal);
          }
        }
        return undefined;
      },
      beforeEnd: () => {
        for (const rule of mine)
          if (
            rule.kind === 'resetConnection' &&
            rule.afterRows === undefined &&
            rule.afterBytes === undefined &&
            armed(rule)
          ) {
            this.fire(rule);
            return 'reset';
          }
        return undefined;
      },
    };
  }

  /** Fires a stall: a wait that ends on release, cancel, `ms`, or the statement's cancellation. */
  private hold(rule: Rule, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        rule.waiters.delete(done);
        signal.removeEventListener('abort', done);
        if (timer) clearTimeout(timer);
        resolve();
      };
      rule.waiters.add(done);
      signal.addEventListener('abort', done);
      if (rule.ms !== undefined) timer = setTimeout(done, rule.ms);
      this.fire(rule);
    });
  }

  private fire(rule: Rule): void {
    rule.fired++;
    if (rule.remaining !== 'always') rule.remaining--;
    for (const l of [...rule.firedListeners]) l();
  }

  private add(spec: Omit<Rule, 'id' | 'fired' | 'waiters' | 'firedListeners'>): FaultHandle {
    const id = `f${this.nextId++}`;
    const rule: Rule = { ...spec, id, fired: 0, waiters: new Set(), firedListeners: new Set() };
    this.rules.set(id, rule);
    return {
      id,
      status: () => statusOf(rule),
      fired: (n = 1) =>
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (rule.fired < n) return;
            rule.firedListeners.delete(check);
            resolve();
          };
          rule.firedListeners.add(check);
          check();
        }),
      release: () => (this.rules.has(id) ? this.release(id) : 0),
      cancel: () => {
        if (this.rules.has(id)) this.cancel(id);
      },
    };
  }

  private rule(id: string): Rule {
    const rule = this.rules.get(id);
    if (!rule) throw new FaultRequestError(`no fault ${id}`);
    return rule;
  }

  private requireAg(): NonNullable<FaultTargets['ag']> {
    if (!this.targets.ag)
      throw new FaultRequestError(
        'the simulator has no availability group: start it with a secondary (startSimulator({ secondary: {} }) or npm run sim -- --secondary-port <port>)',
      );
    return this.targets.ag;
  }

  private database(name: string) {
    const db = this.targets.engine.admin.database(name);
    if (!db) throw new FaultRequestError(`database ${name} does not exist`);
    return db;
  }

  private captureInstances(database: string, captureInstance: string | undefined): string[] {
    const c = cdcAdmin(this.targets.engine).of(this.database(database));
    if (!c) throw new FaultRequestError(`database ${database} is not enabled for CDC`);
    if (captureInstance === undefined) return c.instances.map((i) => i.name);
    const inst = c.instance(captureInstance);
    if (!inst) throw new FaultRequestError(`capture instance ${captureInstance} does not exist in ${database}`);
    return [inst.name];
  }

  /** Runs T-SQL as sa: the same procedures a DBA would run. */
  private async sa(database: string, sql: string): Promise<void> {
    await this.targets.engine.admin.execute(sql, { database });
  }
}

function statusOf(r: Rule): FaultStatus {
  return { id: r.id, kind: r.kind, match: r.match, fired: r.fired, waiting: r.waiters.size, remaining: r.remaining };
}

function armed(r: Rule): boolean {
  return r.remaining === 'always' || r.remaining > 0;
}

function matchesWho(m: FaultMatch, who: { spid: number; appName: string; login: string }): boolean {
  if (m.spid !== undefined && m.spid !== who.spid) return false;
  if (m.appName !== undefined && m.appName.toLowerCase() !== who.appName.toLowerCase()) return false;
  if (m.login !== undefined && m.login.toLowerCase() !== who.login.toLowerCase()) return false;
  return true;
}

function matchesText(m: FaultMatch, text: string): boolean {
  return m.text === undefined || text.toLowerCase().includes(m.text.toLowerCase());
}

function checkMatch(m: unknown): FaultMatch {
  if (typeof m !== 'object' || m === null)
    throw new FaultRequestError('a fault needs match: { text, appName, login, spid }');
  const { text, appName, login, spid } = m as Record<string, unknown>;
  const out: FaultMatch = {};
  for (const [k, v] of Object.entries({ text, appName, login })) {
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw new FaultRequestError(`match.${k} must be a non-empty string`);
    out[k as 'text' | 'appName' | 'login'] = v;
  }
  if (spid !== undefined) {
    if (typeof spid !== 'number' || !Number.isInteger(spid))
      throw new FaultRequestError('match.spid must be an integer');
    out.spid = spid;
  }
  if (Object.keys(out).length === 0)
    throw new FaultRequestError('a fault needs at least one of match.text, match.appName, match.login, match.spid');
  return out;
}

function checkTimes(t: unknown): number | 'always' {
  if (t === undefined) return 1;
  if (t === 'always') return t;
  if (typeof t === 'number' && Number.isInteger(t) && t >= 1) return t;
  throw new FaultRequestError("times must be a positive integer or 'always'");
}

function optionalCount(v: unknown, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new FaultRequestError(`${name} must be an integer ≥ ${min}`);
  return v;
}

function lsnLiteral(v: string | Buffer): string {
  const hex = Buffer.isBuffer(v) ? v.toString('hex') : v.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{20}$/.test(hex))
    throw new FaultRequestError('lowWaterMark must be a binary(10) LSN: 0x followed by 20 hex digits');
  return `0x${hex}`;
}

function nstr(s: string): string {
  return `N'${s.replace(/'/g, "''")}'`;
}
