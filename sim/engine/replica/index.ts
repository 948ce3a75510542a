/**
 * An AlwaysOn readable secondary (brief §E), simulated on the same engine: the primary endpoint routes logins
 * with read-only intent (LoginResult `route` → ENVCHANGE 20) to a secondary endpoint whose sessions read the
 * database as it was `redoLagMs` ago. There every statement runs under snapshot isolation (whatever the
 * session asks for; ALLOW_SNAPSHOT_ISOLATION is not needed), writes to user tables fail (3906), Change
 * Tracking fails (22117) and CDC reads work. A read-intent-only secondary refuses logins without read intent
 * (978).
 */
import { SqlError, type Engine, type LoginRequest, type LoginResult } from '../api.js';
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

/** The engines the two TDS endpoints serve: routing on the primary, lagged read-only sessions on the secondary. */
export function availabilityGroup(
  engine: SimEngine,
  options: SecondaryOptions,
): { primary: Engine; secondary: Engine; clock: RedoClock; route(host: string, port: number): void } {
  const clock = new RedoClock(engine, options.redoLagMs ?? 0);
  const readIntentOnly = options.readIntentOnly ?? true;
  let target: { host: string; port: number } | undefined;
  const dbOf = (req: LoginRequest): string => req.database;
  const primary: Engine = {
    login: async (req): Promise<LoginResult> => {
      const db = dbOf(req);
      // Read-only routing applies to a database of the availability group (every user database here).
      if (req.readOnlyIntent && target && db && !SYSTEM_DATABASES.includes(db.toLowerCase())) {
        const check = await engine.login(req);
        if (check.kind !== 'session') return check;
        check.session.close();
        return { kind: 'route', host: target.host, port: target.port };
      }
      return engine.login(req);
    },
  };
  const secondary: Engine = {
    login: async (req): Promise<LoginResult> => {
      if (readIntentOnly && !req.readOnlyIntent)
        return { kind: 'error', error: withState(extError(978, req.database || 'master').sqlError) };
      const r = await engine.login(req);
      if (r.kind === 'session') (r.session as SessionImpl).replica = clock;
      return r;
    },
  };
  return {
    primary,
    secondary,
    clock,
    route: (host, port) => {
      target = { host, port };
    },
  };
}

function withState(e: SqlError): SqlError {
  return new SqlError(e.number, e.severity, 1, e.message);
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
