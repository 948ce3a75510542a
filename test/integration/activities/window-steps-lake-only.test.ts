/**
 * The steps after a window's read — validate, commit, advance the watermark — work on the lake alone: they ask
 * the source nothing (each used to run the source's catalog queries first, seconds per step on a loaded source,
 * docs/performance.md). Shown by stopping the source between the read and those steps: the window still commits
 * and the watermark moves to it — in the commit step itself, which now advances it after the manifest.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { Activities } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { tableLakeContext } from '../../../src/capture/table-context.js';
import { readWatermark } from '../../../src/lake/watermark.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { syncTableWithActivities } from '../../support/activity-sync.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../../scripts/demo/harness.js';

let source: ClaimsSource | undefined;
let deps: ActivityDeps;
let acts: Activities;
const table: TableRef = { id: 'Claims.dbo.Claims', strategy: 'cdc' };

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `lake-only-${randomBytes(4).toString('hex')}`,
    tables: [CLAIMS_PIPELINE_TABLES.cdc!],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }), { partRows: 40 });
  acts = createActivities(deps);
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

test('a read window is validated, committed and becomes the watermark in the commit step, with the source stopped', async () => {
  const claims = source!;
  await claims.workload.run({ operations: 60 });
  await claims.workload.drain();
  await claims.admin.request().batch('EXEC sim.run_cdc_capture');
  const synced = await syncTableWithActivities(acts, table);
  await claims.workload.run({ operations: 60 });
  await claims.workload.drain();
  await claims.admin.request().batch('EXEC sim.run_cdc_capture');
  const seq = synced.seq + 1;
  const plan = await acts.planWindow({ table, lastPosition: synced.position, seq });
  assert.ok(plan.window, 'the workload changed the table: a window is planned');
  const extract = await acts.extractWindow({ table, window: plan.window, attempt: 1 });
  assert.ok(extract.rows > 0, 'the window read changes');

  source = undefined;
  await claims.stop();

  const validation = await acts.validateWindow({ table, window: plan.window, extract });
  const lake = tableLakeContext(deps, table).lake;
  const before = await readWatermark(lake);
  assert.equal(before?.doc.sequence, synced.seq);
  // The commit step advances the watermark itself (patch 'commit-advances-watermark'), after the manifest.
  const commit = await acts.commitManifest({ table, window: plan.window, extract, validation, advanceWatermark: true });
  assert.equal(commit.alreadyCommitted, false);
  const position = commit.resumePosition ?? plan.window.to;
  const mark = await readWatermark(lake);
  assert.deepEqual([mark?.doc.sequence, mark?.doc.position], [seq, position]);
  // A retry of the step is a no-op, and so is the separate step of runs recorded before the patch.
  const again = await acts.commitManifest({ table, window: plan.window, extract, validation, advanceWatermark: true });
  assert.equal(again.alreadyCommitted, true);
  await acts.advanceWatermark({ table, seq, position, manifestPath: commit.manifestPath });
  const after = await readWatermark(lake);
  assert.deepEqual([after?.doc.sequence, after?.doc.position, after?.etag], [seq, position, mark?.etag]);
});
