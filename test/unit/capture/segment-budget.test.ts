import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SegmentSource, type EventRead, type FilledSegment } from '../../../src/capture/segment-source.js';
import { SEGMENT_WRITER_SLOTS, segmentBudget } from '../../../src/capture/segment-budget.js';
import { noProgress } from '../../../src/capture/progress.js';
import { startingProgress } from '../../../src/capture/stage-progress.js';
import type { ChangeEvent } from '../../../src/lake/stage-window.js';

const schema = {
  version: 1,
  keyColumns: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'note', type: { kind: 'string' }, nullable: true },
  ],
};

/** A window's segment source over `rows` events, as stage-stream builds it (only what it uses of its deps). */
function source(w: number, rows: number): SegmentSource {
  async function* batches(): AsyncGenerator<ChangeEvent[]> {
    const batch: ChangeEvent[] = [];
    for (let i = 0; i < rows; i++)
      batch.push({
        op: 'c',
        position: (i + 1).toString(16).padStart(16, '0'),
        commitTs: null,
        values: [BigInt(i), 'x'],
      });
    await Promise.resolve();
    yield batch;
  }
  const read: EventRead = { events: batches(), digest: createHash('sha256'), seen: 0 };
  return new SegmentSource(
    { partRows: 100, config: { sink: {} } } as never,
    { lake: { layout: { id: `dbo.T${w}` }, store: {} }, config: {} } as never,
    noProgress,
    {
      window: { kind: 'changes', seq: 1, from: '0', to: 'f' } as never,
      schema: schema as never,
      progress: startingProgress(noProgress, 1, 1),
      read,
    },
  );
}

async function until(ok: () => boolean): Promise<void> {
  for (let waited = 0; !ok(); waited += 50) {
    if (waited > 60_000) throw new Error('timed out');
    await sleep(50);
  }
}

test('windows staged at once in one process hold at most the budget of segment writers, whatever their number', async () => {
  const windows = SEGMENT_WRITER_SLOTS + 2;
  const filled: (FilledSegment | undefined)[] = [];
  const pending = Array.from({ length: windows }, (_v, w) =>
    source(w, 50)
      .next()
      .then((s) => void (filled[w] = s)),
  );
  const count = () => filled.filter(Boolean).length;
  await until(() => count() >= SEGMENT_WRITER_SLOTS);
  await sleep(1000);
  // Every filled segment still holds its writer (not encoded yet): only the budget's worth were opened.
  assert.equal(filled.filter(Boolean).length, SEGMENT_WRITER_SLOTS);
  assert.equal(segmentBudget.used, SEGMENT_WRITER_SLOTS);
  // Encoding one segment (its writer closes) lets one more window open its segment.
  const first = filled.find(Boolean)!;
  await first.stage.finish();
  await first.stage.discard();
  await until(() => count() > SEGMENT_WRITER_SLOTS);
  await sleep(1000);
  assert.equal(count(), SEGMENT_WRITER_SLOTS + 1);
  // Discarding the rest frees every slot, and every window gets its segment.
  for (const s of filled) if (s && s !== first) await s.stage.discard();
  await Promise.all(pending);
  assert.equal(filled.filter(Boolean).length, windows);
  for (const s of filled) await s?.stage.discard();
  assert.equal(segmentBudget.used, 0);
});
