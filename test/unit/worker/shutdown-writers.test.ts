/**
 * A worker signalled while a Parquet writer thread is inside DuckDB exits cleanly: before, the process exited
 * under the thread and aborted with a native error (exit 134, "terminate called after throwing an instance of
 * 'Napi::Error'") in most runs; now the worker lets its writer threads end before it exits. Three child
 * processes (test/unit/worker/fixtures/writer-mid-copy.ts), each sent SIGTERM while a 300K-row part is being
 * written (50, 100 and 150 ms into its COPY); each must exit 0 with no native error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const FIXTURE = join(process.cwd(), 'test', 'unit', 'worker', 'fixtures', 'writer-mid-copy.ts');

function signalledMidWrite(
  intoCopyMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, '300000', String(intoCopyMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    if (c.toString().includes('writing')) child.kill('SIGTERM');
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, err });
    }),
  );
}

test('SIGTERM while a writer thread writes a part: the worker lets it end, then exits 0 without a native abort', async () => {
  // Signalled at three points of the part's COPY (before, an exit there aborted in most runs; signalled before
  // the COPY started, it did not).
  for (const [run, intoCopyMs] of [50, 100, 150].entries()) {
    const r = await signalledMidWrite(intoCopyMs);
    assert.doesNotMatch(r.err, /terminate called|Napi::Error|Aborted/, `run ${run}: ${r.err}`);
    assert.deepEqual([r.code, r.signal], [0, null], `run ${run}: exit code 0 (${r.err})`);
  }
});
