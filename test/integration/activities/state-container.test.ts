/**
 * `sink.stateContainer`: with a WORM data container, the one mutable object per table (the watermark) lives in
 * a separate container. Against Azurite: after a sync, the data container holds manifests and data but no
 * `_state/`; the state container holds the watermark; a fresh set of activities resumes from it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { syncTableWithActivities } from '../../support/activity-sync.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../../scripts/demo/harness.js';

const table: TableRef = { id: 'Claims.dbo.ClaimPayments', strategy: 'rowversion' };
const suffix = randomBytes(4).toString('hex');
const dataContainer = `worm-${suffix}`;
const stateContainer = `state-${suffix}`;

let source: ClaimsSource;
let deps: ActivityDeps;
let blobs: BlobServiceClient;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  const connectionString = await azuriteForTests();
  blobs = BlobServiceClient.fromConnectionString(connectionString);
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: connectionString,
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: dataContainer,
    tables: [CLAIMS_PIPELINE_TABLES.rowversion!],
  });
  deps = await buildDependencies(
    { ...config, sink: { ...config.sink, stateContainer } },
    createLogger({ name: 'test', level: 'warn' }),
  );
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

async function names(container: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of blobs.getContainerClient(container).listBlobsFlat()) out.push(b.name);
  return out;
}

test('the watermark is written to the state container only, and a fresh worker resumes from it', async () => {
  await source.workload.run({ operations: 80 });
  await source.workload.drain();
  const first = await syncTableWithActivities(createActivities(deps), table);
  assert.ok(first.seq > 0);

  const data = await names(dataContainer);
  assert.ok(data.some((n) => n.includes('/_manifests/')));
  assert.deepEqual(
    data.filter((n) => n.includes('/_state/')),
    [],
  );
  const state = await names(stateContainer);
  assert.deepEqual(state, [`Claims.dbo.ClaimPayments/_state/watermark.json`]);
  const body = await blobs.getContainerClient(stateContainer).getBlobClient(state[0]!).downloadToBuffer();
  const mark = JSON.parse(body.toString('utf8')) as { sequence: number; position: string };
  assert.equal(mark.sequence, first.seq);
  assert.equal(mark.position, first.position);

  const again = await createActivities(deps).readWatermark({ table });
  assert.deepEqual(again, { position: first.position, lastSeq: first.seq });
});
