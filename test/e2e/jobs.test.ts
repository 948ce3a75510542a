/**
 * End to end, the nightly jobs of an identity table (the strategy that sees neither updates nor deletes) on the
 * real stack: simulator → a real worker in this process → Temporal dev server → Azurite. The table runs under
 * its table-sync workflow (`tidemark start`); `tidemark sweep` finds and fixes an update the capture missed,
 * `tidemark reconcile` tombstones deleted rows, and the nightly schedule (`tidemark schedules`) does both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JobOutput } from '../../src/domain/jobs.js';
import type { TableRef } from '../../src/domain/table.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { runTidemark } from './support/pipeline-helpers.js';
import { startClaimsSource, waitUntilVerified, type ClaimsSource } from '../../scripts/demo/harness.js';

const NOTES: TableRef = { id: 'Claims.dbo.Notes', strategy: 'identity' };

let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.admin.request().batch(`CREATE TABLE dbo.Notes (
      id bigint IDENTITY(1,1) PRIMARY KEY, note nvarchar(40) NULL, amount decimal(12,2) NOT NULL, noted date NULL);
    INSERT INTO dbo.Notes (note, amount, noted) VALUES ${Array.from({ length: 60 }, (_v, i) => `(N'n${i}', ${i}.50, '2026-01-01')`).join(', ')};`);
  p = await startPipelineWorker(source, 'e2e-jobs', [
    { name: 'dbo.Notes', capture: '{ strategy: identity, column: id }' },
  ]);
  Object.assign(process.env, p.env);
  const started = await tidemark('start');
  assert.equal(started.code, 0, started.out);
});

after(async () => {
  await p?.client.workflow
    .getHandle(tableSyncWorkflowId(NOTES.id))
    .terminate('test done')
    .catch(() => undefined);
  await p?.close();
  await source?.stop();
});

const tidemark = (...args: string[]) => runTidemark(p.configFile, p.dir, args);

async function converged(phase: string): Promise<void> {
  const v = await waitUntilVerified(p.deps, p.client, NOTES, { timeoutMs: 120_000 });
  assert.deepEqual(
    { phase, missing: v.missingInLake, extra: v.extraInLake, different: v.different, dups: v.duplicateEvents },
    { phase, missing: 0, extra: 0, different: 0, dups: 0 },
  );
}

test('tidemark sweep fixes an update the identity capture missed, through the running table-sync workflow', async () => {
  await converged('after the snapshot');
  await source.admin.request().batch(`INSERT INTO dbo.Notes (note, amount) VALUES (N'new', 2.00)`);
  await converged('after an insert');
  await source.admin.request().batch(`UPDATE dbo.Notes SET amount = 9.99, note = N'late' WHERE id = 7`);
  const stale = await verifyTable(p.deps, NOTES);
  assert.equal(stale.different, 1, 'identity capture cannot see the update');

  const bad = await tidemark('sweep', '--table', 'dbo.Notes', '--days', 'zero');
  assert.equal(bad.code, 2, 'wrong input exits 2, nothing started');
  const r = await tidemark('sweep', '--table', 'dbo.Notes', '--json');
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as JobOutput;
  assert.equal(out.kind, 'sweep');
  assert.deepEqual(
    { compared: out.chunksCompared, reextracted: out.chunksReextracted },
    { compared: 1, reextracted: 1 },
  );
  assert.equal(out.rows, 61, 'the differing chunk re-extracted');
  assert.equal(out.sourceRowsRead, 122, 'compared, then re-read');
  await converged('after the sweep');

  const again = JSON.parse((await tidemark('sweep', '--table', 'dbo.Notes', '--json')).out) as JobOutput;
  assert.deepEqual({ reextracted: again.chunksReextracted, rows: again.rows }, { reextracted: 0, rows: 0 });
});

test('tidemark reconcile tombstones rows deleted at the source; the nightly schedule runs reconcile and sweep', async () => {
  await source.admin.request().batch('DELETE FROM dbo.Notes WHERE id IN (3, 40)');
  const r = await tidemark('reconcile', '--table', 'dbo.Notes', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as JobOutput).rows, 2);
  await converged('after reconciliation');

  const s = await tidemark('schedules');
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /nightly\/Claims\.dbo\.Notes created .*reconcile, sweep/);
  const handle = p.client.schedule.getHandle('nightly/Claims.dbo.Notes');
  try {
    await source.admin
      .request()
      .batch(`DELETE FROM dbo.Notes WHERE id = 50; UPDATE dbo.Notes SET note = N'again' WHERE id = 12`);
    await handle.trigger();
    const v = await waitUntilVerified(p.deps, p.client, NOTES, { timeoutMs: 120_000, wake: false });
    assert.equal(v.ok, true, JSON.stringify(v));
  } finally {
    await handle.delete().catch(() => undefined);
  }
});
