import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SegmentSource, type EventRead } from '../../../src/capture/segment-source.js';
import { cancellableWaits, type ProgressSink } from '../../../src/capture/progress.js';
import { startingProgress } from '../../../src/capture/stage-progress.js';
import type { ChangeEvent } from '../../../src/lake/stage-window.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('a segment does not keep the batches it consumed reachable while the window runs', async () => {
  // The activity's sink: its cancellation promise stays pending for the whole window, as Temporal's does.
  const sink: ProgressSink = {
    previous: undefined,
    attempt: 1,
    record: () => undefined,
    isCancelled: () => false,
    cancellationError: () => new Error('cancelled'),
    whenCancelled: new Promise<never>(() => undefined),
  };
  const alive: WeakRef<ChangeEvent[]>[] = [];
  async function* batches(): AsyncGenerator<ChangeEvent[]> {
    for (let b = 0; b < 40; b++) {
      const batch: ChangeEvent[] = [];
      for (let i = 0; i < 50; i++) {
        const pos = (b * 50 + i + 1).toString(16).padStart(16, '0');
        batch.push({ op: 'c', position: pos, commitTs: null, values: [BigInt(b * 50 + i), `row ${b}-${i}`] });
      }
      alive.push(new WeakRef(batch));
      await Promise.resolve(); // a driver's batch arrives asynchronously
      yield batch;
    }
  }
  const schema = {
    version: 1,
    keyColumns: ['id'],
    columns: [
      { name: 'id', type: { kind: 'int64' }, nullable: false },
      { name: 'note', type: { kind: 'string' }, nullable: true },
    ],
  };
  const read: EventRead = { events: batches(), digest: createHash('sha256'), seen: 0 };
  // Only what SegmentSource uses of its dependencies: the segment size, the sink's Parquet settings (none: the
  // default), and the lake's table id for messages.
  const source = new SegmentSource(
    { partRows: 10_000, config: { sink: {} } } as never,
    { lake: { layout: { id: 'dbo.T' }, store: {} }, config: {} } as never,
    sink,
    {
      window: { kind: 'changes', seq: 1, from: '0', to: 'f' } as never,
      schema: schema as never,
      progress: startingProgress(sink, 1, 1),
      read,
    },
  );
  const segment = await source.next();
  assert.equal(segment?.tally.count, 2000);
  await new Promise((r) => setImmediate(r));
  gc();
  const reachable = alive.filter((w) => w.deref() !== undefined).length;
  await segment?.stage.discard();
  // The source holds at most the batch it is taking events from; the others are garbage.
  assert.ok(reachable <= 1, `${reachable} of 40 consumed batches are still reachable`);
});

test('a cancellable wait gives up with the cancellation, then and after', async () => {
  let cancel: (e: Error) => void = () => undefined;
  const whenCancelled = new Promise<never>((_r, reject) => (cancel = reject));
  const sink = { whenCancelled, cancellationError: () => new Error('cancelled') } as unknown as ProgressSink;
  const wait = cancellableWaits(sink);
  assert.equal(await wait(Promise.resolve(1)), 1);
  const pending = wait(new Promise(() => undefined));
  cancel(new Error('paused'));
  await assert.rejects(pending, /paused/);
  await assert.rejects(wait(Promise.resolve(2)), /paused/);
});
