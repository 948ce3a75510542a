/** SQL Server datetime text (style 121) ⇄ 100 ns ticks since 0001-01-01 (updated_at positions, timestamp keys). */

export const TICKS_PER_MS = 10_000n;
/** Ticks between 0001-01-01 and 1970-01-01. */
export const EPOCH_TICKS = 621_355_968_000_000_000n;
const TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/** `YYYY-MM-DD hh:mm:ss[.fffffff]` → 100 ns ticks since 0001-01-01. */
export function textToTicks(text: string): bigint {
  const m = TEXT.exec(text);
  if (!m) throw new Error('datetime text is not in style 121');
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const dt = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  dt.setUTCFullYear(Number(y));
  return BigInt(dt.getTime()) * TICKS_PER_MS + EPOCH_TICKS + BigInt(frac.padEnd(7, '0'));
}

/** 100 ns ticks since 0001-01-01 → `YYYY-MM-DD hh:mm:ss.fffffff` (for datetime2(7) parameters). */
export function ticksToText(ticks: bigint): string {
  const t = ticks < 0n ? 0n : ticks;
  const rel = t - EPOCH_TICKS;
  let ms = rel / TICKS_PER_MS;
  let sub = rel % TICKS_PER_MS;
  if (sub < 0n) {
    sub += TICKS_PER_MS;
    ms -= 1n;
  }
  const dt = new Date(Number(ms));
  const y = String(dt.getUTCFullYear()).padStart(4, '0');
  const p2 = (n: number) => String(n).padStart(2, '0');
  const frac = String(dt.getUTCMilliseconds()).padStart(3, '0') + sub.toString().padStart(4, '0');
  return `${y}-${p2(dt.getUTCMonth() + 1)}-${p2(dt.getUTCDate())} ${p2(dt.getUTCHours())}:${p2(dt.getUTCMinutes())}:${p2(dt.getUTCSeconds())}.${frac}`;
}
