/**
 * The SQL Server simulator: the engine behind a TDS endpoint. `startSimulator({ port: 0 })` starts it in-process
 * (tests); `sim/cli.ts` runs it as a process. Credentials are test-only and documented in sim/README.md.
 */
import { createEngine, type LoginSpec, type SimEngine } from './engine/index.js';
import { startTdsServer, type TdsServer, type TlsMaterial } from './tds/server.js';
import { seedClaimLines } from './seed.js';
import { cdcAdmin, type CdcJobOptions } from './engine/cdc/index.js';
import { AvailabilityGroup, type AgState, type ReplicaName, type SecondaryOptions } from './engine/replica/index.js';
import { ctAdmin } from './engine/change-tracking/index.js';
import { FaultInjector, type FaultTargets } from './faults/injector.js';
import { startControlServer, type ControlServer } from './faults/control-server.js';

/** The built-in logins (test-only credentials). */
export const SIM_CREDENTIALS = {
  admin: { user: 'sa', password: 'Tidemark!Sim2019' },
  extractor: { user: 'tidemark_extractor', password: 'Extractor!Sim2019' },
} as const;

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** TLS certificate and key, or 'generate' for a self-signed one; none = no TLS. */
  tls?: TlsMaterial | 'generate';
  /**
   * Seed data: a number loads a deterministic `dbo.ClaimLines` sample of `seedRows` rows generated from that
   * seed; a function receives the engine and may create anything.
   */
  seed?: number | ((engine: SimEngine) => Promise<void> | void);
  /** Rows of the numeric seed (default 10 000). */
  seedRows?: number;
  /** Extra logins. */
  logins?: LoginSpec[];
  /**
   * CDC job settings (defaults: capture polls every 5 s, retention 4320 min). `autoStart: false` leaves the
   * capture job idle so tests drive scans with `EXEC sys.sp_cdc_scan` / `sim.run_cdc_capture` or
   * `cdcAdmin(sim.engine).runCapture()`.
   */
  cdc?: Partial<CdcJobOptions>;
  /**
   * An AlwaysOn availability group with a readable secondary on its own port: `port` is then the listener, which
   * reaches the primary and routes logins with read-only intent to the secondary (ENVCHANGE 20); the secondary
   * serves the same databases `redoLagMs` behind, read-only, under snapshot isolation. The primary replica gets its
   * own endpoint too (`primaryPort`), so a failover (`sim.faults.failover()`) can swap the roles.
   */
  secondary?: SecondaryOptions & { port?: number; primaryPort?: number };
  /**
   * The HTTP control channel of the fault hooks (sim/faults/control-server.ts) on this port of 127.0.0.1 (0 picks a
   * free one); off when omitted. In-process callers use `sim.faults` directly.
   */
  control?: { port?: number };
}

/** A running simulator. */
export interface Simulator {
  host: string;
  port: number;
  engine: SimEngine;
  /** The TLS certificate (PEM) when TLS is on: clients can use it as their CA. */
  certificate?: string;
  /** The readable secondary, when started: its endpoint, and the redo lag (changeable while running). */
  secondary?: { host: string; port: number; setRedoLag(ms: number): void };
  /**
   * The availability group, when started with `secondary`: replica A (primary at start; its own endpoint) and B
   * (the secondary, `secondary.port`), and their current roles.
   */
  ag?: { replicas: { name: ReplicaName; host: string; port: number }[]; state(): AgState };
  /** Fault hooks (sim/README.md "Fault hooks"). */
  faults: FaultInjector;
  /** The HTTP control channel, when started with `control`. */
  control?: { host: string; port: number };
  stop(): Promise<void>;
}

/** Starts an engine with databases `master` and `Claims`, the `sa` and `tidemark_extractor` logins, and a TDS endpoint. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const engine = createEngine();
  if (options.cdc) cdcAdmin(engine).configure(options.cdc);
  engine.admin.createDatabase('Claims');
  engine.admin.createLogin({
    name: SIM_CREDENTIALS.extractor.user,
    password: SIM_CREDENTIALS.extractor.password,
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_datareader'] }],
  });
  for (const l of options.logins ?? []) engine.admin.createLogin(l);
  if (typeof options.seed === 'number')
    await seedClaimLines(engine, { seed: options.seed, rows: options.seedRows ?? 10_000 });
  else if (options.seed) await options.seed(engine);
  const endpoints = new Map<string, TdsServer>();
  const ag = options.secondary ? new AvailabilityGroup(engine, options.secondary) : undefined;
  const targets: FaultTargets = { engine, endpoints: () => endpoints };
  if (ag)
    targets.ag = {
      state: () => ag.state(),
      failover: (o) => ag.failover(o),
      setSecondaryReadable: (r) => ag.setSecondaryReadable(r),
    };
  const faults = new FaultInjector(targets);
  const serve = (e: Parameters<typeof startTdsServer>[0]['engine'], port: number) =>
    startTdsServer({ engine: e, port, host: options.host, tls: options.tls, faults: faults.tdsHooks });
  if (ag && options.secondary) {
    const b = await serve(ag.replica('B'), options.secondary.port ?? 0);
    const a = await serve(ag.replica('A'), options.secondary.primaryPort ?? 0);
    ag.setEndpoint('A', a.host, a.port);
    ag.setEndpoint('B', b.host, b.port);
    endpoints.set('A', a);
    endpoints.set('B', b);
  }
  const server = await serve(ag ? ag.listener : engine, options.port ?? 0);
  endpoints.set(ag ? 'listener' : 'primary', server);
  let control: ControlServer | undefined;
  if (options.control) control = await startControlServer(faults, { port: options.control.port ?? 0 });
  const sim: Simulator = {
    host: server.host,
    port: server.port,
    engine,
    faults,
    stop: async () => {
      faults.clear();
      await control?.stop();
      cdcAdmin(engine).stopAll();
      ctAdmin(engine).stopAll();
      ag?.stop();
      for (const s of endpoints.values()) if (s !== server) await s.stop();
      return server.stop();
    },
  };
  if (control) sim.control = { host: control.host, port: control.port };
  if (ag) {
    const replicas = (['A', 'B'] as const).map((name) => {
      const e = endpoints.get(name) as TdsServer;
      return { name, host: e.host, port: e.port };
    });
    sim.ag = { replicas, state: () => ag.state() };
    const b = endpoints.get('B') as TdsServer;
    sim.secondary = {
      host: b.host,
      port: b.port,
      setRedoLag: (ms) => {
        ag.clock.lagMs = ms;
      },
    };
  }
  if (server.certificate) sim.certificate = server.certificate;
  return sim;
}

export { createEngine, cdcAdmin, ctAdmin };
export type { SimEngine, LoginSpec };
export type {
  FaultInjector,
  FaultMatch,
  FaultStatus,
  ResetConnectionFault,
  StallFault,
  CdcCleanupFault,
} from './faults/injector.js';
export type { AgState, FailoverOptions, ReplicaName } from './engine/replica/index.js';
