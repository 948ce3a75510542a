/**
 * The latency probe's own thread: one connection of its own, the probe statement every `intervalMs`, each
 * round trip timed and posted to the worker's main thread (latency-monitor.ts).
 *
 * Why a thread: while Tidemark reads at speed the main thread is busy decoding rows, and a probe timed there would
 * measure that wait too — the back-off would then slow the reads for the worker's own CPU, not the source's
 * latency. Here nothing else runs, so the figure is the round trip the application sees (plus the network).
 * Why a connection of its own: a probe waiting for a pool connection behind Tidemark's reads would measure the
 * pool. Secrets are resolved in this thread from the same config (env / Key Vault), never posted between threads.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import sql from 'mssql';
import type { SourceConfig } from '../config/types.js';
import { createSecretProvider } from '../config/secret-provider.js';
import { buildPoolConfig } from './connection.js';

/** What the thread is started with (structured-cloned: plain data only). */
export interface ProbeThreadInput {
  /** The source as configured (the worker), or a plain pool config (tests against the simulator). */
  readonly target: { readonly source: SourceConfig } | { readonly pool: sql.config };
  readonly statement: string;
  readonly intervalMs: number;
}

/** One message of the thread: a sample (start in ms since the epoch, round trip in ms) or a failed probe. */
export type ProbeThreadMessage =
  | { readonly kind: 'sample'; readonly at: number; readonly ms: number }
  | { readonly kind: 'error'; readonly message: string };

const input = workerData as ProbeThreadInput;
const port = parentPort;
let stopped = false;
port?.on('message', (m: unknown) => {
  if (m === 'stop') stopped = true;
});

async function run(): Promise<void> {
  const base =
    'source' in input.target
      ? await buildPoolConfig(input.target.source, { secrets: createSecretProvider() })
      : input.target.pool;
  // At most one probe at a time; a probe slower than this is reported as this long (the source is that slow).
  const timeoutMs = Math.max(5_000, 20 * input.intervalMs);
  const pool = new sql.ConnectionPool({
    ...base,
    requestTimeout: timeoutMs,
    pool: { max: 1, min: 1, idleTimeoutMillis: 3_600_000 },
  });
  try {
    await pool.connect();
    let next = performance.now();
    while (!stopped) {
      next += input.intervalMs;
      const t0 = performance.now();
      try {
        await pool.request().query(input.statement);
        port?.postMessage({
          kind: 'sample',
          at: performance.timeOrigin + t0,
          ms: performance.now() - t0,
        } satisfies ProbeThreadMessage);
      } catch (err) {
        // The message only: driver errors name the statement and server, never row values or secrets.
        port?.postMessage({
          kind: 'error',
          message: err instanceof Error ? err.message : String(err),
        } satisfies ProbeThreadMessage);
      }
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else next = performance.now();
    }
  } finally {
    await pool.close().catch(() => undefined);
  }
}

run().then(
  () => process.exit(0),
  (err: unknown) => {
    port?.postMessage({
      kind: 'error',
      message: `the latency probe could not connect: ${err instanceof Error ? err.message : String(err)}`,
    } satisfies ProbeThreadMessage);
    process.exit(1);
  },
);
