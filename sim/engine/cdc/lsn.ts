/**
 * Log sequence numbers as CDC exposes them: binary(10), compared as unsigned big-endian byte strings, shown as
 * `xxxxxxxx:xxxxxxxx:xxxx` (brief §A.4).
 *
 * The simulator derives LSNs from the engine's commit sequence `s` (strictly increasing): an LSN is the 80-bit
 * integer `s·2³² + k`. The i-th row change of transaction `s` has seqval `k = i` (i ≥ 1, in statement order),
 * its commit record `k = 2³¹` (all rows of a transaction share it as `__$start_lsn`, and it is greater than the
 * transaction's seqvals, as in SQL Server's log), and capture placeholders and enable points between commits
 * take `k > 2³¹`. So increment/decrement are ±1 and no other LSN can fall between adjacent ones.
 */
export const LSN_BYTES = 10;
const COMMIT_SLOT = 2n ** 31n;
const SHIFT = 2n ** 32n;
const MAX = 2n ** 80n - 1n;

export function lsnToBuffer(n: bigint): Buffer {
  const b = Buffer.alloc(LSN_BYTES);
  let v = n;
  for (let i = LSN_BYTES - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function lsnFromBuffer(b: Buffer): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/** The commit LSN of the transaction with commit sequence `seq`. */
export const commitLsn = (seq: number | bigint): bigint => BigInt(seq) * SHIFT + COMMIT_SLOT;
/** The seqval of the `i`-th change (1-based) of the transaction with commit sequence `seq`. */
export const seqvalLsn = (seq: number | bigint, i: number): bigint => BigInt(seq) * SHIFT + BigInt(i);
/** The first LSN after every commit up to and including `seq`. */
export const afterCommitLsn = (seq: number | bigint): bigint => commitLsn(seq) + 1n;

export const incrementLsn = (n: bigint): bigint => (n >= MAX ? MAX : n + 1n);
export const decrementLsn = (n: bigint): bigint => (n <= 0n ? 0n : n - 1n);

/** `xxxxxxxx:xxxxxxxx:xxxx` */
export function lsnText(n: bigint): string {
  const h = lsnToBuffer(n).toString('hex');
  return `${h.slice(0, 8)}:${h.slice(8, 16)}:${h.slice(16)}`;
}
