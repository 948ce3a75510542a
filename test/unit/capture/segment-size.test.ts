/**
 * Segment sizes follow the plan's count (capture/segment-size.ts): a counted window ends in a small tail segment,
 * so that only the tail's encoding is left after the read's last row; a window not counted, or below
 * MIN_SPLIT_EVENTS, keeps full segments; a count that is off still puts every event in exactly one segment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SegmentSource, type EventRead } from '../../../src/capture/segment-source.js';
import { nextSegmentRows, MIN_SPLIT_EVENTS } from '../../../src/capture/segment-size.js';
import { noProgress } from '../../../src/capture/progress.js';
import { startingProgress } from '../../../src/capture/stage-progress.js';
import type { ChangeEvent } from '../../../src/lake/stage-window.js';

/** The sizes nextSegmentRows gives a window of `actual` events counted as `expected`. */
function cuts(segmentRows: number, expected: number | undefined, actual: number): number[] {
  const out: number[] = [];
  for (let taken = 0; taken < actual;) {
    const n = Math.min(nextSegmentRows(segmentRows, expected, taken), actual - taken);
    assert.ok(n > 0, `a segment takes something (taken ${taken})`);
    out.push(n);
    taken += n;
  }
  return out;
}

test('a counted window ends in a tail of a quarter of a segment (or of the window)', () => {
  assert.deepEqual(cuts(100_000, 50_000, 50_000), [37_500, 12_500]);
  assert.deepEqual(cuts(100_000, 100_000, 100_000), [75_000, 25_000]);
  assert.deepEqual(cuts(100_000, 125_000, 125_000), [100_000, 25_000]);
  assert.deepEqual(cuts(100_000, 250_000, 250_000), [100_000, 100_000, 25_000, 25_000]);
  assert.deepEqual(cuts(100_000, 1_000_000, 1_000_000), [...Array<number>(9).fill(100_000), 75_000, 25_000]);
});

test('a window not counted, or too small to be worth a file, keeps full segments', () => {
  assert.deepEqual(cuts(100_000, undefined, 50_000), [50_000]);
  assert.deepEqual(cuts(100_000, undefined, 250_000), [100_000, 100_000, 50_000]);
  assert.deepEqual(cuts(100_000, MIN_SPLIT_EVENTS - 1, MIN_SPLIT_EVENTS - 1), [MIN_SPLIT_EVENTS - 1]);
  assert.deepEqual(cuts(1_000, 5_000, 5_000), [1_000, 1_000, 1_000, 1_000, 1_000]);
});

test('a count that is off moves the cuts, never an event', () => {
  // More than counted: the tail segment takes the rest, up to a full segment.
  assert.deepEqual(cuts(100_000, 50_000, 65_000), [37_500, 27_500]);
  assert.deepEqual(cuts(100_000, 50_000, 180_000), [37_500, 100_000, 42_500]);
  // Fewer: the read ends inside the first segment.
  assert.deepEqual(cuts(100_000, 50_000, 30_000), [30_000]);
  for (const [expected, actual] of [
    [20_000, 1],
    [77_777, 77_778],
    [333_333, 123_456],
    [123_456, 333_333],
  ] as const) {
    const c = cuts(100_000, expected, actual);
    assert.equal(
      c.reduce((a, b) => a + b, 0),
      actual,
    );
    assert.ok(
      c.every((n) => n <= 100_000),
      c.join(),
    );
  }
});

const sink = noProgress;

const schema = {
  version: 1,
  keyColumns: ['id'],
  columns: [{ name: 'id', type: { kind: 'int64' }, nullable: false }],
};

/** The event counts of the segments SegmentSource fills from `total` events in 1000-event batches. */
async function segmentsOf(total: number, rows: number | undefined, skipped = 0): Promise<number[]> {
  async function* batches(): AsyncGenerator<ChangeEvent[]> {
    for (let at = 0; at < total; at += 1000) {
      const batch: ChangeEvent[] = [];
      for (let i = at; i < Math.min(total, at + 1000); i++)
        batch.push({ op: 'u', position: i.toString(16).padStart(16, '0'), commitTs: null, values: [BigInt(i)] });
      await Promise.resolve();
      yield batch;
    }
  }
  // `skipped`: events an earlier attempt staged, which the read counted as seen and did not yield.
  const events = batches();
  const read: EventRead = {
    events: {
      next: async () => {
        const r = await events.next();
        if (!r.done) read.seen += r.value.length;
        return r;
      },
    },
    digest: createHash('sha256'),
    seen: skipped,
  };
  const source = new SegmentSource(
    { config: { sink: {} } } as never,
    { lake: { layout: { id: 'dbo.T' }, store: {} }, config: {} } as never,
    sink,
    {
      window: { kind: 'changes', seq: 1, from: '0', to: 'f', ...(rows !== undefined ? { rows } : {}) } as never,
      schema: schema as never,
      progress: startingProgress(sink, 1, 1),
      read,
    },
  );
  const counts: number[] = [];
  for (let s = await source.next(); s; s = await source.next()) {
    counts.push(s.tally.count);
    await s.stage.discard();
  }
  return counts;
}

test('a counted 50K-change window is staged as 37.5K events, then a 12.5K tail; not counted, as one segment', async () => {
  assert.deepEqual(await segmentsOf(50_000, 50_000), [37_500, 12_500]);
  assert.deepEqual(await segmentsOf(50_000, undefined), [50_000]);
});

test('a resumed window sizes its segments by what is left of the count', async () => {
  // 30K of the counted 50K staged by an earlier attempt: 20K left, a 7.5K segment and the 12.5K tail.
  assert.deepEqual(await segmentsOf(20_000, 50_000, 30_000), [7_500, 12_500]);
});
