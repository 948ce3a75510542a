/**
 * An ordered index: a two-level B-tree (a sorted list of sorted leaves) with binary search, appends at the
 * right edge in O(1) (identity and rowversion keys grow monotonically), and range iteration that survives
 * concurrent inserts and deletes: an iterator re-seeks from the last key it returned whenever the index
 * changed under it, so lazily pulled results never skip or repeat an entry.
 *
 * Each leaf's last key is kept beside it (`lastKeys`), so choosing a leaf, and the right-edge check of every
 * append, compare keys without calling `keyOf` — which for a table's records decodes the key columns of a packed
 * row (a BigInt or a Buffer per column, garbage at every comparison), about log2(leaves) times per seek. An
 * entry's key never changes while it is in the index (a clustered key change moves the row to a new record;
 * ALTER COLUMN refuses a column an index uses), so a kept key stays true until its leaf changes.
 */
import type { SqlValue } from './api.js';
import { compareValues } from './values.js';

const LEAF_MAX = 512;

/** Compares key arrays column by column; NULL sorts first; `desc[i]` reverses column i. */
export function compareKeys(
  a: readonly SqlValue[],
  b: readonly SqlValue[],
  desc?: readonly boolean[],
  n = b.length,
): number {
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    let c: number;
    if (x === null) c = y === null ? 0 : -1;
    else if (y === null) c = 1;
    else if (typeof x === 'bigint' && typeof y === 'bigint') c = x < y ? -1 : x > y ? 1 : 0;
    else c = compareValues(x, y);
    if (c !== 0) return desc?.[i] ? -c : c;
  }
  return 0;
}

/** One end of a range: entries whose first `key.length` columns compare to `key` per `inclusive`. */
export interface Bound {
  key: SqlValue[];
  inclusive: boolean;
}

export class OrderedIndex<E> {
  private leaves: E[][] = [[]];
  /** The key of each leaf's last entry (undefined for the empty leaf of an empty index). */
  private lastKeys: (SqlValue[] | undefined)[] = [undefined];
  private count = 0;
  /** Bumped on every change; iterators compare it to know when to re-seek. */
  modCount = 0;

  constructor(
    readonly keyOf: (e: E) => SqlValue[],
    readonly desc: readonly boolean[] = [],
  ) {}

  get size(): number {
    return this.count;
  }

  private cmp(a: readonly SqlValue[], b: readonly SqlValue[], n = b.length): number {
    return compareKeys(a, b, this.desc, n);
  }

  /** First leaf whose last entry is ≥ key (prefix comparison), or the last leaf. */
  private leafFor(key: readonly SqlValue[], strict: boolean): number {
    let lo = 0;
    let hi = this.leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const last = this.lastKeys[mid];
      const c = last === undefined ? -1 : this.cmp(last, key, key.length);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first entry ≥ key (or > key when strict), as [leaf, index]. */
  private seek(key: readonly SqlValue[], strict: boolean): [number, number] {
    // Past the right edge (an insert's duplicate check on an identity key): one comparison instead of a search.
    const lastLi = this.leaves.length - 1;
    const last = this.lastKeys[lastLi];
    if (last !== undefined) {
      const c = this.cmp(last, key, key.length);
      if (c < 0 || (strict && c === 0)) return [lastLi, (this.leaves[lastLi] as E[]).length];
    }
    const li = this.leafFor(key, strict);
    const leaf = this.leaves[li] as E[];
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = this.cmp(this.keyOf(leaf[mid] as E), key, key.length);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return [li, lo];
  }

  insert(e: E): void {
    const key = this.keyOf(e);
    this.modCount++;
    this.count++;
    const lastLi = this.leaves.length - 1;
    const lastLeaf = this.leaves[lastLi] as E[];
    const last = this.lastKeys[lastLi];
    if (last === undefined || this.cmp(last, key) <= 0) {
      // Fast path: appending at the right edge.
      lastLeaf.push(e);
      this.lastKeys[lastLi] = key;
      if (lastLeaf.length >= LEAF_MAX * 2) {
        this.leaves.push(lastLeaf.splice(LEAF_MAX));
        this.lastKeys.splice(lastLi, 0, this.keyOf(lastLeaf[lastLeaf.length - 1] as E));
      }
      return;
    }
    const [li, pos] = this.seek(key, true);
    const leaf = this.leaves[li] as E[];
    leaf.splice(pos, 0, e);
    if (pos === leaf.length - 1) this.lastKeys[li] = key;
    if (leaf.length >= LEAF_MAX * 2) {
      // The upper half keeps the leaf's last key; the lower half's is its new last entry's.
      this.leaves.splice(li + 1, 0, leaf.splice(LEAF_MAX));
      this.lastKeys.splice(li, 0, this.keyOf(leaf[leaf.length - 1] as E));
    }
  }

  /** Removes this exact entry (by identity); returns whether it was present. */
  remove(e: E): boolean {
    const key = this.keyOf(e);
    let [li, pos] = this.seek(key, false);
    for (;;) {
      const leaf = this.leaves[li];
      if (!leaf) return false;
      if (pos >= leaf.length) {
        li++;
        pos = 0;
        continue;
      }
      const cur = leaf[pos] as E;
      if (cur === e) {
        leaf.splice(pos, 1);
        this.count--;
        this.modCount++;
        if (leaf.length === 0 && this.leaves.length > 1) {
          this.leaves.splice(li, 1);
          this.lastKeys.splice(li, 1);
        } else if (pos === leaf.length) {
          const next = leaf[pos - 1];
          this.lastKeys[li] = next === undefined ? undefined : this.keyOf(next);
        }
        return true;
      }
      if (this.cmp(this.keyOf(cur), key) !== 0) return false;
      pos++;
    }
  }

  /** Entries whose key equals `key` on its full length (a unique lookup returns at most one). */
  *equal(key: SqlValue[]): Generator<E> {
    yield* this.range({ key, inclusive: true }, { key, inclusive: true });
  }

  first(key: SqlValue[]): E | undefined {
    for (const e of this.equal(key)) return e;
    return undefined;
  }

  /**
   * Entries between the bounds in key order (or reverse). Safe against changes between pulls: positions are
   * re-sought from the last returned entry's key whenever `modCount` moved.
   *
   * A walk derives no key per entry: a leaf whose kept last key is inside the far bound is inside it entirely
   * (reverse: a leaf after one whose last key is), so only the leaf where the range ends compares its entries;
   * and the last returned entry's key is derived only to re-seek after a change. An entry's key must therefore
   * stay derivable after the entry left the index: a table's removed records keep their values (a deleted row's
   * tombstone, an undone insert unpacked), and an index entry holds its key.
   */
  *range(lower?: Bound, upper?: Bound, reverse = false): Generator<E> {
    if (reverse) {
      yield* this.reverseRange(lower, upper);
      return;
    }
    let [li, pos] = lower ? this.seek(lower.key, !lower.inclusive) : [0, 0];
    let seen = this.modCount;
    let last: E | undefined;
    /** The leaf known to lie inside `upper` entirely (-1: none), valid while `modCount` stays. */
    let inside = -1;
    const beyond = (key: readonly SqlValue[]): boolean => {
      const c = this.cmp(key, (upper as Bound).key, (upper as Bound).key.length);
      return c > 0 || (c === 0 && !(upper as Bound).inclusive);
    };
    for (;;) {
      if (seen !== this.modCount) {
        if (last !== undefined) [li, pos] = this.seek(this.keyOf(last), true);
        seen = this.modCount;
        inside = -1;
      }
      const leaf = this.leaves[li];
      if (!leaf) return;
      if (pos >= leaf.length) {
        li++;
        pos = 0;
        continue;
      }
      const e = leaf[pos] as E;
      if (upper && inside !== li) {
        const kept = this.lastKeys[li];
        if (kept !== undefined && !beyond(kept)) inside = li;
        else if (beyond(this.keyOf(e))) return;
      }
      last = e;
      pos++;
      yield e;
    }
  }

  private *reverseRange(lower?: Bound, upper?: Bound): Generator<E> {
    // Position after the last entry ≤ upper (or < upper when exclusive).
    let li: number;
    let pos: number;
    if (upper) [li, pos] = this.seek(upper.key, upper.inclusive);
    else [li, pos] = [this.leaves.length - 1, (this.leaves[this.leaves.length - 1] as E[]).length];
    let seen = this.modCount;
    let last: E | undefined;
    /** The leaf known to lie inside `lower` entirely (-1: none), valid while `modCount` stays. */
    let inside = -1;
    const before = (key: readonly SqlValue[]): boolean => {
      const c = this.cmp(key, (lower as Bound).key, (lower as Bound).key.length);
      return c < 0 || (c === 0 && !(lower as Bound).inclusive);
    };
    for (;;) {
      if (seen !== this.modCount) {
        if (last !== undefined) [li, pos] = this.seek(this.keyOf(last), false);
        seen = this.modCount;
        inside = -1;
      }
      pos--;
      while (pos < 0) {
        li--;
        if (li < 0) return;
        pos = (this.leaves[li] as E[]).length - 1;
      }
      const e = (this.leaves[li] as E[])[pos] as E;
      if (lower && inside !== li) {
        // Every entry of a leaf is ≥ the last key of the leaf before it.
        const kept = li > 0 ? this.lastKeys[li - 1] : undefined;
        if (kept !== undefined && !before(kept)) inside = li;
        else if (before(this.keyOf(e))) return;
      }
      last = e;
      yield e;
    }
  }

  *all(): Generator<E> {
    yield* this.range();
  }
}
