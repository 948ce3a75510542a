/**
 * A Tidemark worker as its own OS process (`node --import tsx src/worker.ts --config FILE`), for end-to-end tests
 * that kill a worker the way a crashed host would (SIGKILL: no graceful shutdown, no final heartbeat) and start
 * others on the same task queue. Output goes to a log file; the worker is ready when it logs "worker started".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WORKER_NODE_FLAGS } from '../../../src/worker-heap.js';

const WORKER_ENTRY = fileURLToPath(new URL('../../../src/worker.ts', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** The identity Temporal records for this worker's tasks (the SDK's default, `pid@host`). */
  readonly identity: string;
  readonly logFile: string;
  /** Whether it loaded the pre-built workflow bundle, and its activity slots (its "worker started" log line). */
  readonly bundle: boolean;
  readonly activityConcurrency: number;
  /** SIGKILL: the host dies mid-task. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Starts a worker process and waits until it polls its task queue. */
export async function startWorkerProcess(options: {
  configFile: string;
  env: Record<string, string>;
  logFile: string;
  activityConcurrency?: number;
  readyTimeoutMs?: number;
  /** `production`: the worker loads the pre-built workflow bundle (dist/workflow-bundle.js). */
  nodeEnv?: string;
}): Promise<WorkerProcess> {
  // The node flags `npm run worker` starts it with (its heap cap): the tests run the worker as it is deployed.
  const args = [...WORKER_NODE_FLAGS, '--import', 'tsx', WORKER_ENTRY, '--config', options.configFile];
  if (options.activityConcurrency !== undefined)
    args.push('--activity-concurrency', String(options.activityConcurrency));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env, ...(options.nodeEnv ? { NODE_ENV: options.nodeEnv } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  child.stderr.pipe(log);
  // A test process that dies must not leave its workers polling.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  type Started = { bundle?: boolean; activityConcurrency?: number };
  const ready = new Promise<Started>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `worker ${child.pid} not ready after ${options.readyTimeoutMs ?? 90_000} ms; see ${options.logFile}`,
          ),
        ),
      options.readyTimeoutMs ?? 90_000,
    );
    let found = false;
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (found) return;
      const lines = (seen + chunk.toString('utf8')).split('\n');
      seen = lines.pop() ?? ''; // an incomplete last line waits for the next chunk
      const line = lines.find((l) => l.includes('"msg":"worker started"'));
      if (line) {
        found = true;
        clearTimeout(timer);
        resolve(JSON.parse(line) as Started);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker ${child.pid} exited (${code ?? signal}) before it was ready; see ${options.logFile}`));
    });
  });
  let started: Started;
  try {
    started = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    identity: `${child.pid}@${hostname()}`,
    logFile: options.logFile,
    bundle: started.bundle === true,
    activityConcurrency: started.activityConcurrency ?? 0,
    kill: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited(child);
    },
  };
}
