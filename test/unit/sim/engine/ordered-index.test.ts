/**
 * sim/engine/ordered-index.ts: entries come back in key order through inserts, removals and leaf splits
 * (checked against a sorted array), and a search compares against the leaves' kept last keys instead of
 * deriving keys from entries — for a table's records, deriving a key decodes the packed row's key columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlValue } from '../../../../sim/engine/api.js';
import { OrderedIndex, compareKeys } from '../../../../sim/engine/ordered-index.js';
import { prng } from '../../../../sim/seed.js';

interface Entry {
  k: bigint;
  n: number;
}

/** An index over (k, n) whose keyOf counts its calls. */
function counted(): { ix: OrderedIndex<Entry>; calls: () => number } {
  let calls = 0;
  const ix = new OrderedIndex<Entry>((e) => {
    calls++;
    return [e.k, BigInt(e.n)];
  });
  return { ix, calls: () => calls };
}

const order = (a: Entry, b: Entry): number => compareKeys([a.k, BigInt(a.n)], [b.k, BigInt(b.n)]);

test('random inserts and removals, across leaf splits and emptied leaves, keep key order and every range exact', () => {
  const rnd = prng(7);
  const { ix } = counted();
  const model: Entry[] = [];
  let n = 0;
  for (let step = 0; step < 20_000; step++) {
    const r = rnd();
    if (r < 0.35 || model.length === 0) {
      // Appends at the right edge (the fast path)…
      const e = { k: BigInt(1_000_000 + step), n: n++ };
      ix.insert(e);
      model.push(e);
    } else if (r < 0.7) {
      // …and inserts anywhere, duplicates of the first key column included.
      const e = { k: BigInt(Math.floor(rnd() * 2_000)), n: n++ };
      ix.insert(e);
      model.push(e);
    } else {
      // Removals, often of a leaf's last entry or a whole run of entries.
      const at = rnd() < 0.5 ? model.length - 1 : Math.floor(rnd() * model.length);
      model.sort(order);
      const [gone] = model.splice(at, 1);
      assert.equal(ix.remove(gone as Entry), true);
    }
    if (step % 997 === 0 || step === 19_999) {
      model.sort(order);
      assert.equal(ix.size, model.length);
      assert.deepEqual([...ix.all()], model);
      assert.deepEqual([...ix.range(undefined, undefined, true)], [...model].reverse());
      // Seeks by the first key column, both bounds, both directions.
      for (let q = 0; q < 20; q++) {
        const lo = BigInt(Math.floor(rnd() * 2_100));
        const hi = lo + BigInt(Math.floor(rnd() * 50));
        const want = model.filter((e) => e.k > lo && e.k <= hi);
        const lower = { key: [lo] as SqlValue[], inclusive: false };
        const upper = { key: [hi] as SqlValue[], inclusive: true };
        assert.deepEqual([...ix.range(lower, upper)], want);
        assert.deepEqual([...ix.range(lower, upper, true)], [...want].reverse());
        const eq = model.filter((e) => e.k === lo);
        assert.deepEqual([...ix.equal([lo])], eq);
      }
      // Past the right edge and before the left one.
      assert.deepEqual([...ix.range({ key: [10n ** 12n], inclusive: true })], []);
      assert.deepEqual([...ix.range(undefined, { key: [-1n], inclusive: true })], []);
    }
  }
});

test('removing every entry leaves an empty index that takes entries again', () => {
  const { ix } = counted();
  const es = Array.from({ length: 3_000 }, (_, i) => ({ k: BigInt(i), n: 0 }));
  for (const e of es) ix.insert(e);
  for (const e of [...es].reverse()) assert.equal(ix.remove(e), true);
  assert.equal(ix.size, 0);
  assert.deepEqual([...ix.all()], []);
  assert.equal(ix.first([5n]), undefined);
  ix.insert({ k: 9n, n: 1 });
  ix.insert({ k: 3n, n: 1 });
  assert.deepEqual(
    [...ix.all()].map((e) => e.k),
    [3n, 9n],
  );
});

test('appends derive one key each, and a seek derives keys only inside its leaf', () => {
  const { ix, calls } = counted();
  const n = 200_000; // ~260 leaves
  for (let i = 0; i < n; i++) ix.insert({ k: BigInt(i), n: 0 });
  // One key per appended entry (its own), plus one per leaf split: the last entry's key is kept, not re-derived.
  assert.ok(calls() <= n * 1.01, `keyOf calls for ${n} appends: ${calls()}`);

  const before = calls();
  let found = 0;
  for (let i = 0; i < 1_000; i++) if (ix.first([BigInt((i * 7919) % n), 0n])) found++;
  assert.equal(found, 1_000);
  // A binary search inside one leaf (≤ 1,024 entries: ~10 keys) and the entry returned; the leaf is chosen by
  // kept keys (it took ~8 more derived keys per seek, one per leaf probed, and one for the right edge).
  const perSeek = (calls() - before) / 1_000;
  assert.ok(perSeek <= 13, `keyOf calls per seek: ${perSeek}`);
});

test('a range walk derives keys only to seek its start and in the leaf where it ends', () => {
  const { ix, calls } = counted();
  const n = 100_000; // ~130 leaves
  for (let i = 0; i < n; i++) ix.insert({ k: BigInt(i), n: 0 });
  const walk = (lower: bigint, upper: bigint, reverse: boolean): number => {
    const before = calls();
    const got = [...ix.range({ key: [lower], inclusive: true }, { key: [upper], inclusive: false }, reverse)];
    assert.equal(got.length, Number(upper - lower));
    assert.equal(got[0]?.k, reverse ? upper - 1n : lower);
    return calls() - before;
  };
  // 80K entries: a seek (~13 keys) and at most one leaf's entries (≤ 1,024) compared to the far bound. Before,
  // every entry's key was derived: 80K.
  for (const reverse of [false, true]) {
    const derived = walk(10_000n, 90_000n, reverse);
    assert.ok(derived <= 13 + 1_024, `keys derived by an 80K-entry walk (reverse ${reverse}): ${derived}`);
  }
});

test('a range walk pulled lazily while entries come and go returns each entry it passes once, in order', () => {
  const rnd = prng(11);
  for (const reverse of [false, true]) {
    const { ix } = counted();
    const live = new Set<Entry>();
    let n = 0;
    for (let i = 0; i < 30_000; i++) {
      const e = { k: BigInt(i * 2), n: n++ };
      ix.insert(e);
      live.add(e);
    }
    const stable = new Set(live);
    const lower = { key: [2_000n] as SqlValue[], inclusive: true };
    const upper = { key: [58_000n] as SqlValue[], inclusive: false };
    const got: Entry[] = [];
    for (const e of ix.range(lower, upper, reverse)) {
      assert.ok(live.has(e), 'an entry returned is in the index when returned');
      got.push(e);
      // Between pulls: inserts anywhere (leaf splits), removals of entries ahead, behind and just returned.
      const r = rnd();
      if (r < 0.3) {
        const f = { k: BigInt(Math.floor(rnd() * 60_000)), n: n++ };
        ix.insert(f);
        live.add(f);
      } else if (r < 0.45) {
        const victim = rnd() < 0.3 ? e : [...live][Math.floor(rnd() * live.size)]!;
        assert.equal(ix.remove(victim), true);
        live.delete(victim);
        stable.delete(victim);
      }
    }
    for (let i = 1; i < got.length; i++) {
      const c = order(got[i - 1]!, got[i]!);
      assert.ok(reverse ? c > 0 : c < 0, 'strictly in key order: nothing repeated');
    }
    const inRange = (e: Entry) => e.k >= 2_000n && e.k < 58_000n;
    const returned = new Set(got);
    for (const e of stable)
      if (inRange(e)) assert.ok(returned.has(e), `entry ${e.k}/${e.n}, there throughout, returned`);
    for (const e of got) assert.ok(inRange(e), 'only entries inside the bounds');
  }
});
