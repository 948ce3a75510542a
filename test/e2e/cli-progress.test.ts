/**
 * The long operator verbs report progress on stderr and keep stdout for their results, on the real stack
 * (simulator → worker in this process → Temporal dev server → Azurite): `start --wait` follows the initial
 * load, `backfill` follows its job's progress query, `verify` its source read and comparisons. stderr here is
 * not a terminal, so progress comes as plain lines (no control characters); `--json` turns it off.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { runTidemark } from './support/pipeline-helpers.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { CLAIMS_PIPELINE_TABLES, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';

const TABLE = 'Claims.dbo.Claims';
let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: { rate: 0, longTransactionMs: 200, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 100 });
  await source.workload.drain();
  p = await startPipelineWorker(source, 'cli-progress', [CLAIMS_PIPELINE_TABLES.cdc!]);
});

after(async () => {
  await p?.client.workflow
    .getHandle(tableSyncWorkflowId(TABLE))
    .terminate('test done')
    .catch(() => undefined);
  await p?.close();
  await source?.stop();
});

/** Runs a verb with stdout and stderr kept apart. */
async function tidemark(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { TIDEMARK_PROGRESS: _ignored, ...rest } = process.env;
  const r = await runTidemark(p.configFile, p.dir, args, { ...rest, ...p.env });
  return { code: r.code, stdout: r.out, stderr: r.err };
}

const plain = (text: string) => !text.includes('\r') && !text.includes('\x1b');

test('start --wait follows the initial load and exits 0 once it committed', async () => {
  const r = await tidemark('start', '--wait');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Claims\.dbo\.Claims: table-sync\/Claims\.dbo\.Claims \(run /);
  assert.ok(plain(r.stderr));
  assert.match(r.stderr, /^Claims\.dbo\.Claims initial load .* loaded · .*elapsed$/m);

  // Already loaded, as JSON: stdout is one JSON line per table, stderr carries no progress.
  const j = await tidemark('start', '--wait', '--json');
  assert.equal(j.code, 0, j.stderr);
  assert.equal((JSON.parse(j.stdout) as { table: string }).table, TABLE);
  assert.equal(j.stderr, '');
});

test('backfill shows the job chunks done of planned and the rows read, then its result on stdout', async () => {
  const r = await tidemark('backfill', '--table', 'dbo.Claims', '--from', '2000-01-01', '--to', '2100-01-01');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(plain(r.stderr));
  const last = /^Claims\.dbo\.Claims backfill (\d+)\/(\d+) chunks · done · ([\d,]+) rows/m.exec(r.stderr);
  assert.ok(last, r.stderr);
  assert.equal(last[1], last[2], 'every chunk done');
  assert.ok(Number(last[3]!.replace(/,/g, '')) > 0, 'rows read');
  assert.match(r.stdout, /^Claims\.dbo\.Claims: backfill done — \d+ chunks/);
});

test('verify shows the source rows read and the comparison steps', async () => {
  const r = await tidemark('verify', '--table', 'dbo.Claims');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(plain(r.stderr));
  assert.match(r.stderr, /^Claims\.dbo\.Claims verify 9\/9 steps · done · [\d,]+ rows/m);
  assert.match(r.stdout, /^Claims\.dbo\.Claims: OK at /);
});
