import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  formatEta,
  Progress,
  progressMode,
  renderProgress,
  type ProgressMode,
} from '../../../src/cli/support/progress.js';

/** A stream that keeps what was written; `isTTY`/`columns` as a terminal would set them. */
function sink(tty = false, columns?: number): Writable & { text: () => string; isTTY?: boolean; columns?: number } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number };
  w.text = () => chunks.join('');
  if (tty) w.isTTY = true;
  if (columns !== undefined) w.columns = columns;
  return w;
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test('renders done/total, a bar, rows, rows/s, ETA and elapsed', () => {
  const line = renderProgress(
    { label: 'Claims.dbo.ClaimLines backfill', done: 3, total: 12, unit: 'chunks', rows: 1_500_000, elapsedMs: 30_000 },
    { bar: true },
  );
  assert.equal(
    line,
    'Claims.dbo.ClaimLines backfill [#####---------------] 3/12 chunks · 1,500,000 rows · 50,000 rows/s · ETA 1m30s · 30s elapsed',
  );
});

test('without a total: no bar, no ETA; without rows: no rate; a phase comes first', () => {
  assert.equal(
    renderProgress(
      {
        label: 'T snapshot',
        done: 0,
        total: null,
        unit: 'chunks',
        rows: null,
        phase: 'planning chunks',
        elapsedMs: 4_200,
      },
      { bar: true },
    ),
    'T snapshot 0 chunks · planning chunks · 4s elapsed',
  );
  // Less than a second in: a rate would be noise.
  assert.equal(
    renderProgress({ label: 'T', done: 1, total: 2, unit: 'steps', rows: 10, elapsedMs: 500 }, { bar: false }),
    'T 1/2 steps · 10 rows · ETA 1s · 1s elapsed',
  );
  // Complete: no ETA.
  assert.equal(
    renderProgress({ label: 'T', done: 2, total: 2, unit: 'steps', rows: null, elapsedMs: 3_725_000 }, { bar: true }),
    'T [####################] 2/2 steps · 1h02m elapsed',
  );
});

test('a line never exceeds the terminal width', () => {
  const line = renderProgress(
    {
      label: 'Claims.dbo.ClaimLines reconcile',
      done: 7,
      total: 9,
      unit: 'chunks',
      rows: 123_456_789,
      elapsedMs: 61_000,
    },
    { bar: true, width: 40 },
  );
  assert.equal(line.length, 39);
  assert.ok(line.endsWith('…'));
});

test('formatEta', () => {
  assert.equal(formatEta(0), '0s');
  assert.equal(formatEta(59_400), '59s');
  assert.equal(formatEta(65_000), '1m05s');
  assert.equal(formatEta(7_260_000), '2h01m');
  assert.equal(formatEta(-5), '0s');
});

test('mode: off with --json or TIDEMARK_PROGRESS=off, tty on a terminal, else plain lines', () => {
  const cases: [Writable, Parameters<typeof progressMode>[1], ProgressMode][] = [
    [sink(true), { json: true }, 'off'],
    [sink(true), { env: { TIDEMARK_PROGRESS: 'off' } }, 'off'],
    [sink(true), { env: { TIDEMARK_PROGRESS: 'lines' } }, 'lines'],
    [sink(true), { env: { TERM: 'dumb' } }, 'lines'],
    [sink(true), {}, 'tty'],
    [sink(false), {}, 'lines'],
  ];
  for (const [stream, options, mode] of cases) assert.equal(progressMode(stream, options), mode);
});

test('tty: one line rewritten in place, at most 10 redraws a second, newline at the end', () => {
  const out = sink(true, 200);
  const c = clock();
  const p = new Progress({ stream: out, label: 'job', unit: 'chunks', mode: 'tty', now: c.now });
  p.update({ done: 0, total: 4 });
  c.advance(50);
  p.update({ done: 1 }); // within 100 ms of the last draw: not drawn
  c.advance(1_950);
  p.update({ done: 2, rows: 1000 });
  p.finish('done');
  const frames = out.text().split('\r').filter(Boolean);
  assert.deepEqual(frames, [
    'job [--------------------] 0/4 chunks · 0s elapsed\x1b[K',
    'job [##########----------] 2/4 chunks · 1,000 rows · 500 rows/s · ETA 2s · 2s elapsed\x1b[K',
    'job [##########----------] 2/4 chunks · done · 1,000 rows · 500 rows/s · ETA 2s · 2s elapsed\x1b[K\n',
  ]);
  p.update({ done: 3 }); // after finish: ignored
  assert.equal(out.text().split('\r').filter(Boolean).length, 3);
});

test('lines: plain lines without control characters, one per interval and one at the end', () => {
  const out = sink(false);
  const c = clock();
  const p = new Progress({
    stream: out,
    label: 'verify',
    unit: 'steps',
    mode: 'lines',
    now: c.now,
    intervalMs: 10_000,
  });
  for (let i = 0; i <= 9; i++) {
    p.update({ done: i, total: 9, rows: i * 100 });
    c.advance(3_000);
  }
  p.note('a warning');
  p.finish('done');
  const text = out.text();
  assert.ok(!text.includes('\r') && !text.includes('\x1b'), 'no control characters');
  assert.deepEqual(text.trimEnd().split('\n'), [
    'verify 0/9 steps · 0 rows · 0s elapsed',
    'verify 4/9 steps · 400 rows · 33 rows/s · ETA 15s · 12s elapsed',
    'verify 8/9 steps · 800 rows · 33 rows/s · ETA 3s · 24s elapsed',
    'a warning',
    'verify 9/9 steps · done · 900 rows · 30 rows/s · 30s elapsed',
  ]);
});

test('off: writes nothing, not even at the end', () => {
  const out = sink(true);
  const p = new Progress({ stream: out, label: 'x', unit: 'chunks', mode: 'off' });
  p.update({ done: 1, total: 2 });
  p.finish('done');
  assert.equal(out.text(), '');
});

test('tty: a note clears the progress line, prints, and redraws it', () => {
  const out = sink(true, 200);
  const c = clock();
  const p = new Progress({ stream: out, label: 'job', unit: 'chunks', mode: 'tty', now: c.now });
  p.update({ done: 1, total: 2 });
  p.note('no worker has answered');
  assert.equal(
    out.text(),
    '\rjob [##########----------] 1/2 chunks · ETA 0s · 0s elapsed\x1b[K' +
      '\r\x1b[Kno worker has answered\n' +
      '\rjob [##########----------] 1/2 chunks · ETA 0s · 0s elapsed\x1b[K',
  );
});
