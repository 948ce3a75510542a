/**
 * Shared slabs for packed rows: packed row bytes are appended into a few large Buffers instead of one Buffer
 * per row, so a packed row costs no heap object of its own — its record holds a slab number and an offset
 * (two small integers). The garbage collector's work, and above all every old-generation mark, scales with
 * the number of live objects; with one Buffer per row a 5M-row table was ~10M objects and GC took about half
 * of the time spent serving keyset pages (see sim/README.md, Scale).
 *
 * Space is bump-allocated; freeing only counts dead bytes. A slab whose rows are all dead is dropped, and when
 * dead bytes outweigh live ones the owner copies the live rows into fresh slabs (`startCompaction` /
 * `move`), so memory stays proportional to live data (at most about twice it, plus one slab).
 */

/** Slabs start small (many tables hold a handful of rows) and double up to this size. */
const MAX_SLAB = 4 * 1024 * 1024;
const MIN_SLAB = 4 * 1024;
/** Compaction is worth it only above this much dead space. */
const COMPACT_MIN_DEAD = 8 * 1024 * 1024;

export class RowSlabs {
  private slabs: (Buffer | undefined)[] = [];
  /** Live and used (live + dead) bytes per slab. */
  private live: number[] = [];
  private used: number[] = [];
  private current = -1;
  private pos = 0;
  private nextSize = MIN_SLAB;
  private liveBytes = 0;
  private deadBytes = 0;
  /** Set by `append`: where the bytes went. */
  lastSlab = -1;
  lastOffset = 0;

  /** The slab holding a row (valid until that row is freed or moved). */
  slab(i: number): Buffer {
    return this.slabs[i] as Buffer;
  }

  /** Copies `len` bytes of `src` into a slab; the position is left in `lastSlab`/`lastOffset`. */
  append(src: Buffer, len: number): void {
    let cur = this.slabs[this.current];
    if (!cur || this.pos + len > cur.length) {
      const size = Math.max(this.nextSize, len);
      this.nextSize = Math.min(this.nextSize * 2, MAX_SLAB);
      cur = Buffer.allocUnsafeSlow(size);
      this.current = this.slabs.length;
      this.slabs.push(cur);
      this.live.push(0);
      this.used.push(0);
      this.pos = 0;
    }
    src.copy(cur, this.pos, 0, len);
    this.lastSlab = this.current;
    this.lastOffset = this.pos;
    this.pos += len;
    this.live[this.current] = (this.live[this.current] ?? 0) + len;
    this.used[this.current] = (this.used[this.current] ?? 0) + len;
    this.liveBytes += len;
  }

  /** Marks a row's bytes dead; drops its slab when nothing in it is live any more. */
  free(slab: number, len: number): void {
    const left = (this.live[slab] ?? 0) - len;
    this.live[slab] = left;
    this.liveBytes -= len;
    this.deadBytes += len;
    if (left === 0 && slab !== this.current) {
      this.deadBytes -= this.used[slab] ?? 0;
      this.used[slab] = 0;
      this.slabs[slab] = undefined;
    }
  }

  /** True when a compaction would give back enough memory to pay for copying the live rows. */
  get wantsCompaction(): boolean {
    return this.deadBytes > COMPACT_MIN_DEAD && this.deadBytes > this.liveBytes;
  }

  /** Bytes held by slabs (live, dead and unused tails). */
  get allocatedBytes(): number {
    let n = 0;
    for (const s of this.slabs) if (s) n += s.length;
    return n;
  }

  /**
   * Begins a compaction: later appends go to fresh slabs, and the caller must `move` every live row out of
   * the old ones, then call `finishCompaction` to drop them.
   */
  startCompaction(): number {
    const firstNew = this.slabs.length;
    this.current = -1;
    this.nextSize = MAX_SLAB;
    return firstNew;
  }

  /** Copies a row living below `firstNew` into the fresh slabs (position in `lastSlab`/`lastOffset`). */
  move(slab: number, offset: number, len: number): void {
    const src = this.slabs[slab] as Buffer;
    this.live[slab] = (this.live[slab] ?? 0) - len;
    this.liveBytes -= len;
    this.deadBytes += len;
    this.append(src.subarray(offset, offset + len), len);
  }

  /** Drops the slabs a compaction emptied. */
  finishCompaction(firstNew: number): void {
    for (let i = 0; i < firstNew; i++) {
      this.deadBytes -= this.used[i] ?? 0;
      this.used[i] = 0;
      this.live[i] = 0;
      this.slabs[i] = undefined;
    }
  }
}
