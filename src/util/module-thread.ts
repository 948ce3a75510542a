/**
 * Starts a worker thread (`node:worker_threads`) on one of our modules, whether the process runs the built
 * JavaScript (dist/*.js) or the TypeScript sources under tsx (tests, benches, `npm run worker`).
 *
 * Why a helper: a worker thread does not inherit the parent's `--import tsx` loader, so from the sources the
 * thread must register it before importing its module. The Parquet writer thread (src/lake) and the latency probe
 * (src/source) each carried these lines; one copy serves both.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A thread running the module `name` (no extension) beside the caller's module `callerUrl` (its
 * `import.meta.url`): `name.ts` registered through tsx when the caller is a `.ts` file, else `name.js` directly.
 * `options` go to the Worker as they are (workerData, resourceLimits, …).
 */
export function startModuleThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const file = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, callerUrl);
  if (!fromSources) return new Worker(file, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(file.href)}); })`,
    { ...options, eval: true },
  );
}
