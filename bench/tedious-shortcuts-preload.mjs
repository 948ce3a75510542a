/**
 * Installs bench/tedious-shortcuts.ts' experiment (synchronous token dispatch) and the worker's one-`Date`
 * datetime2/date read (src/source/date-decode.ts, which a worker installs itself anyway) in a
 * process before anything else runs, to try them against the tests that already pin the read path, e.g.
 *   node --import tsx --import ./bench/tedious-shortcuts-preload.mjs --test test/integration/source/types.test.ts
 * (each test file's process loads it: it says so on stderr). Never used by Tidemark itself.
 */
import { URL } from 'node:url';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

// The main thread only: worker threads (Temporal's workflow threads, the Parquet writers) do not read the source,
// and they inherit this --import without tsx's loader.
if (isMainThread) {
  const { installSyncDispatch } = await import(new URL('./tedious-shortcuts.ts', import.meta.url).href);
  const { installFastDateDecode } = await import(new URL('../src/source/date-decode.ts', import.meta.url).href);
  installSyncDispatch();
  installFastDateDecode();
  process.stderr.write(`[tedious shortcuts installed in pid ${process.pid}]\n`);
}
