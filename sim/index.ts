/**
 * The SQL Server simulator: the engine behind a TDS endpoint. `startSimulator({ port: 0 })` starts it in-process
 * (tests); `sim/cli.ts` runs it as a process. Credentials are test-only and documented in sim/README.md.
 */
import { createEngine, type LoginSpec, type SimEngine } from './engine/index.js';
import { startTdsServer, type TlsMaterial } from './tds/server.js';
import { seedClaimLines } from './seed.js';
import { cdcAdmin, type CdcJobOptions } from './engine/cdc/index.js';
import { availabilityGroup, type SecondaryOptions } from './engine/replica/index.js';
import { ctAdmin } from './engine/change-tracking/index.js';

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
   * An AlwaysOn readable secondary on its own port: logins with read-only intent to the primary are routed
   * there (ENVCHANGE 20); it serves the same databases `redoLagMs` behind, read-only, under snapshot isolation.
   */
  secondary?: SecondaryOptions & { port?: number };
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
  let ag: ReturnType<typeof availabilityGroup> | undefined;
  let secondary: Awaited<ReturnType<typeof startTdsServer>> | undefined;
  if (options.secondary) {
    ag = availabilityGroup(engine, options.secondary);
    secondary = await startTdsServer({
      engine: ag.secondary,
      port: options.secondary.port ?? 0,
      host: options.host,
      tls: options.tls,
    });
    ag.route(secondary.host, secondary.port);
  }
  const server = await startTdsServer({
    engine: ag ? ag.primary : engine,
    port: options.port ?? 0,
    host: options.host,
    tls: options.tls,
  });
  const sim: Simulator = {
    host: server.host,
    port: server.port,
    engine,
    stop: async () => {
      cdcAdmin(engine).stopAll();
      ctAdmin(engine).stopAll();
      ag?.clock.stop();
      await secondary?.stop();
      return server.stop();
    },
  };
  if (ag && secondary) {
    const clock = ag.clock;
    sim.secondary = {
      host: secondary.host,
      port: secondary.port,
      setRedoLag: (ms) => {
        clock.lagMs = ms;
      },
    };
  }
  if (server.certificate) sim.certificate = server.certificate;
  return sim;
}

export { createEngine, cdcAdmin, ctAdmin };
export type { SimEngine, LoginSpec };
