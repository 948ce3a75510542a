/**
 * AlwaysOn (brief §E), simulated on the same engine: a two-replica availability group whose secondary serves the
 * databases as they were `redoLagMs` ago. There every statement runs under snapshot isolation (whatever the
 * session asks for; ALLOW_SNAPSHOT_ISOLATION is not needed), writes to user tables fail (3906), Change Tracking
 * fails (22117) and CDC reads work. The listener routes read-intent logins there (LoginResult `route` → ENVCHANGE
 * 20); a read-intent-only secondary refuses logins without read intent (978). A failover swaps the roles
 * ({@link AvailabilityGroup.failover}).
 */
import type { Engine, LoginRequest, LoginResult, SqlError } from '../api.js';
import type { ReadView } from '../mvcc.js';
import type { SimEngine } from '../index.js';
import type { SessionImpl } from '../session.js';
import { extError } from '../ext-errors.js';

/** What a secondary session reads: the redo point, a commit sequence. */
export interface ReplicaView {
  /** The newest commit sequence redone on the secondary. */
  seq(): number;
}

export interface SecondaryOptions {
  /** How far redo lags behind the primary's commits (default 0 ms). */
  redoLagMs?: number;
  /** ALLOW_CONNECTIONS = READ_ONLY: logins without ApplicationIntent=ReadOnly get 978 (default true). */
  readIntentOnly?: boolean;
}

const SYSTEM_DATABASES = ['master', 'tempdb', 'model', 'msdb'];

/**
 * The redo clock: samples the primary's commit sequence and answers "what had committed `lag` ms ago". Its read
 * view is registered with the engine, so versions the secondary still needs are not vacuumed.
 */
export class RedoClock implements ReplicaView {
  private samples: { t: number; seq: number }[] = [];
  private timer: NodeJS.Timeout;
  private readonly view: ReadView;
  private readonly unregister: () => void;

  constructor(
    private readonly engine: SimEngine,
    public lagMs: number,
  ) {
    const start = engine.admin.lastCommitSeq;
    this.samples.push({ t: 0, seq: start });
    this.view = { seq: start, txn: undefined, dirty: false, readPast: false };
    this.unregister = (engine as unknown as { registerView(v: ReadView): () => void }).registerView(this.view);
    this.timer = setInterval(() => this.sample(), 5);
    this.timer.unref();
  }

  private sample(): void {
    const seq = this.engine.admin.lastCommitSeq;
    const last = this.samples[this.samples.length - 1];
    if (!last || last.seq !== seq) this.samples.push({ t: Date.now(), seq });
    const cutoff = Date.now() - this.lagMs;
    // Keep the newest sample at or before the cutoff and everything after it.
    let i = 0;
    while (i + 1 < this.samples.length && (this.samples[i + 1]?.t ?? Infinity) <= cutoff) i++;
    if (i > 0) this.samples.splice(0, i);
    this.view.seq = this.samples[0]?.seq ?? seq;
  }

  seq(): number {
    this.sample();
    return this.view.seq;
  }

  stop(): void {
    clearInterval(this.timer);
    this.unregister();
  }
}

/** The two replicas of the simulated availability group. */
export type ReplicaName = 'A' | 'B';

/** Where the availability group stands. */
export interface AgState {
  /** The replica in the primary role (during a failover: the one becoming primary). */
  primary: ReplicaName;
  secondary: ReplicaName;
  /** 'resolving' while a failover is under way: both replicas refuse the AG's databases with 983. */
  phase: 'online' | 'resolving';
  /** The secondary role allows read-intent connections (ALLOW_CONNECTIONS = READ_ONLY); false: 976 / 982. */
  secondaryReadable: boolean;
  failovers: number;
}

/** Options of {@link AvailabilityGroup.failover}. */
export interface FailoverOptions {
  /** How long both replicas stay in the RESOLVING role (983) before the roles settle; default 0. */
  resolvingMs?: number;
  /** Whether the new secondary (the old primary) allows read-intent connections afterwards; default true. */
  secondaryReadable?: boolean;
}

/**
 * A two-replica availability group over one engine (so a failover loses nothing: a planned, synchronous-commit
 * failover). Three endpoints serve it: the listener, which always reaches the primary and routes read-intent logins
 * to a readable secondary (ENVCHANGE 20), and each replica's own endpoint, which serves the role that replica has.
 *
 * - A primary serves every login. A secondary serves read-intent logins to the AG's databases at the redo point
 *   (snapshot reads, 3906 on writes); without read intent they get 978 (ALLOW_CONNECTIONS = READ_ONLY), and when
 *   the secondary is not readable, 976. The listener answers a read-intent login with no readable secondary with 982.
 * - During a failover both replicas are RESOLVING: logins to the AG's databases get 983 until the roles settle
 *   ("About Client Connection Access to Availability Replicas": during a failover all client connections to both
 *   replicas are terminated; afterwards the listener reaches the new primary and read-intent requests are routed to
 *   a readable secondary). The simulator terminates the connections (sim/index.ts); this object only holds roles.
 * - Databases of the AG: every user database (master, tempdb, model and msdb are not).
 */
export class AvailabilityGroup {
  readonly clock: RedoClock;
  private readonly readIntentOnly: boolean;
  private readonly endpoints = new Map<ReplicaName, { host: string; port: number }>();
  private current: AgState = { primary: 'A', secondary: 'B', phase: 'online', secondaryReadable: true, failovers: 0 };
  private settle: NodeJS.Timeout | undefined;
  /** The engine the listener serves. */
  readonly listener: Engine;

  constructor(
    private readonly engine: SimEngine,
    options: SecondaryOptions,
  ) {
    this.clock = new RedoClock(engine, options.redoLagMs ?? 0);
    this.readIntentOnly = options.readIntentOnly ?? true;
    this.listener = { login: (req) => this.listenerLogin(req) };
  }

  /** The engine replica `name`'s own endpoint serves. */
  replica(name: ReplicaName): Engine {
    return { login: (req) => this.replicaLogin(name, req) };
  }

  /** Where replica `name` listens: read-only routing sends read-intent logins there. */
  setEndpoint(name: ReplicaName, host: string, port: number): void {
    this.endpoints.set(name, { host, port });
  }

  state(): AgState {
    return { ...this.current };
  }

  /**
   * Starts a failover: the secondary becomes primary and the primary secondary; until `resolvingMs` has passed both
   * are RESOLVING. Resolves once the roles have settled.
   */
  async failover(options: FailoverOptions = {}): Promise<AgState> {
    if (this.current.phase === 'resolving') throw new Error('a failover is already in progress');
    const { primary, secondary } = this.current;
    this.current = {
      primary: secondary,
      secondary: primary,
      phase: 'resolving',
      secondaryReadable: options.secondaryReadable ?? true,
      failovers: this.current.failovers + 1,
    };
    await new Promise<void>((resolve) => {
      this.settle = setTimeout(resolve, Math.max(0, options.resolvingMs ?? 0));
      this.settle.unref();
    });
    this.settle = undefined;
    this.current = { ...this.current, phase: 'online' };
    return this.state();
  }

  /** ALLOW_CONNECTIONS of the secondary role: READ_ONLY (true) or NO (false, reads get 976 / 982). */
  setSecondaryReadable(readable: boolean): void {
    this.current = { ...this.current, secondaryReadable: readable };
  }

  stop(): void {
    if (this.settle) clearTimeout(this.settle);
    this.clock.stop();
  }

  private async listenerLogin(req: LoginRequest): Promise<LoginResult> {
    const r = await this.engine.login(req);
    if (r.kind !== 'session') return r;
    // The listener reaches the primary: only a failover under way can refuse the AG's databases.
    (r.session as SessionImpl).databaseGate = (db) => {
      if (isAgDatabase(db.name) && this.current.phase === 'resolving') throw extError(983, db.name);
    };
    if (!isAgDatabase(r.database)) return r;
    const refuse = (e: SqlError): LoginResult => {
      r.session.close();
      return { kind: 'error', error: e };
    };
    const s = this.current;
    if (s.phase === 'resolving') return refuse(extError(983, r.database).sqlError);
    // Routing applies to a login that names the database (a login landing in its default database is served here).
    if (!req.readOnlyIntent || !req.database) return r;
    // Read-only routing (2.2.7.9 type 20) only to a readable secondary; none: 982.
    const target = this.endpoints.get(s.secondary);
    if (!s.secondaryReadable) return refuse(extError(982, r.database).sqlError);
    if (!target) return r;
    r.session.close();
    return { kind: 'route', host: target.host, port: target.port };
  }

  private async replicaLogin(name: ReplicaName, req: LoginRequest): Promise<LoginResult> {
    const r = await this.engine.login(req);
    if (r.kind !== 'session') return r;
    const s = this.current;
    const refuse = (e: SqlError): LoginResult => {
      r.session.close();
      return { kind: 'error', error: e };
    };
    const refusal = this.refusal(name, r.database, req.readOnlyIntent);
    if (refusal) return refuse(refusal.sqlError);
    const session = r.session as SessionImpl;
    session.databaseGate = (db) => {
      const e = this.refusal(name, db.name, req.readOnlyIntent);
      if (e) throw e;
    };
    if (name !== s.primary) session.replica = this.clock;
    return r;
  }

  /** Why replica `name` cannot serve `database` to a login with or without read intent now, if it cannot. */
  private refusal(name: ReplicaName, database: string, readOnlyIntent: boolean) {
    if (!isAgDatabase(database)) return undefined;
    const s = this.current;
    if (s.phase === 'resolving') return extError(983, database);
    if (name === s.primary) return undefined;
    if (this.readIntentOnly && !readOnlyIntent) return extError(978, database);
    if (!s.secondaryReadable) return extError(976, database);
    return undefined;
  }
}

function isAgDatabase(name: string): boolean {
  return !SYSTEM_DATABASES.includes(name.toLowerCase());
}

/** DATABASEPROPERTYEX(db, property): the properties a connector checks to know where it landed. */
export function installReplica(engine: SimEngine): void {
  engine.admin.registerFunction('DATABASEPROPERTYEX', {
    arity: [2, 2],
    bind: (args) => ({
      type: { name: 'nvarchar', length: 128 },
      nullable: true,
      constant: false,
      eval: (row, ctx) => {
        const [db, prop] = args.map((a) => a.eval(row, ctx));
        if (typeof db !== 'string' || typeof prop !== 'string') return null;
        const d = ctx.session.engine.database(db);
        if (!d) return null;
        switch (prop.toLowerCase()) {
          case 'updateability':
            return ctx.session.replica || d.isReadOnly ? 'READ_ONLY' : 'READ_WRITE';
          case 'status':
            return 'ONLINE';
          case 'recovery':
            return 'FULL';
          case 'collation':
            return 'SQL_Latin1_General_CP1_CI_AS';
          default:
            return null;
        }
      },
    }),
  });
}
