/**
 * Calendar arithmetic and text forms of the temporal types. All values are days since 0001-01-01 (proleptic
 * Gregorian) plus 100 ns ticks since midnight, as in {@link SqlDateTime}: never a JS Date, so datetime2(7) keeps
 * all seven fractional digits.
 */
import type { SqlDateTime, SqlDateTimeOffset, SqlTime, SqlDate } from './api.js';

export const TICKS_PER_SECOND = 10_000_000n;
export const TICKS_PER_DAY = 864_000_000_000n;
/** Days from 0001-01-01 to 1970-01-01. */
export const UNIX_EPOCH_DAYS = 719_162;
/** Days from 0001-01-01 to 1900-01-01 (datetime's epoch). */
export const DATETIME_EPOCH_DAYS = 693_595;

/** Days since 0001-01-01 of a civil date (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 + UNIX_EPOCH_DAYS;
}

export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days - UNIX_EPOCH_DAYS + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: era * 400 + yoe + (m <= 2 ? 1 : 0), m, d };
}

export function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

/** Rounds ticks to `scale` fractional digits (half up, as SQL Server rounds on conversion). */
export function roundTicks(ticks: bigint, scale: number): bigint {
  if (scale >= 7) return ticks;
  const unit = 10n ** BigInt(7 - scale);
  return ((ticks + unit / 2n) / unit) * unit;
}

/** datetime keeps 1/300 s: rounds ticks to the nearest 300th (.000/.003/.007). */
export function roundDatetimeTicks(ticks: bigint): bigint {
  const n = (ticks * 300n + TICKS_PER_SECOND / 2n) / TICKS_PER_SECOND;
  return (n * TICKS_PER_SECOND + 150n) / 300n;
}

/** Normalises (days, ticks) after rounding carried past midnight. */
export function normalise(days: number, ticks: bigint): { days: number; ticks: bigint } {
  let d = days;
  let t = ticks;
  while (t >= TICKS_PER_DAY) {
    t -= TICKS_PER_DAY;
    d += 1;
  }
  while (t < 0n) {
    t += TICKS_PER_DAY;
    d -= 1;
  }
  return { days: d, ticks: t };
}

const pad = (n: number | bigint, w: number): string => String(n).padStart(w, '0');

export function formatDate(days: number): string {
  const { y, m, d } = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** hh:mm:ss[.f…] with exactly `scale` fractional digits. */
export function formatTime(ticks: bigint, scale: number): string {
  const secs = ticks / TICKS_PER_SECOND;
  const frac = ticks % TICKS_PER_SECOND;
  const h = secs / 3600n;
  const mi = (secs / 60n) % 60n;
  const s = secs % 60n;
  let out = `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  if (scale > 0) out += '.' + pad(frac, 7).slice(0, scale);
  return out;
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Style 0/100 ("mon dd yyyy hh:miAM"), the default for CAST(datetime AS varchar). */
export function formatDatetimeStyle0(days: number, ticks: bigint): string {
  const { y, m, d } = civilFromDays(days);
  const mins = Number(ticks / (TICKS_PER_SECOND * 60n));
  const h = Math.floor(mins / 60);
  const mi = mins % 60;
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${MONTHS[m - 1] ?? ''} ${String(d).padStart(2, ' ')} ${y} ${String(h12).padStart(2, ' ')}:${pad(mi, 2)}${h < 12 ? 'AM' : 'PM'}`;
}

/** Milliseconds of a datetime, as SQL Server prints them (.000/.003/.007). */
export function datetimeMillis(ticks: bigint): bigint {
  const n = (ticks * 300n + TICKS_PER_SECOND / 2n) / TICKS_PER_SECOND;
  const msTotal = (n * 10n + 1n) / 3n;
  return msTotal;
}

export function formatDatetime(days: number, ticks: bigint): string {
  const ms = datetimeMillis(ticks);
  const secs = ms / 1000n;
  const frac = ms % 1000n;
  const h = secs / 3600n;
  const mi = (secs / 60n) % 60n;
  const s = secs % 60n;
  return `${formatDate(days)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(frac, 3)}`;
}

/** A date/time literal as parsed from text. */
export interface ParsedDateTime {
  days: number;
  ticks: bigint;
  /** Fractional digits written in the text. */
  fractionDigits: number;
  hasDate: boolean;
  hasTime: boolean;
  offsetMinutes?: number;
}

const DATE_TIME_RE =
  /^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{4})(\d{2})(\d{2})|(\d{1,2})\/(\d{1,2})\/(\d{4}))?(?:(?:[Tt]|\s+)?(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([AaPp][Mm])?)?\s*(Z|[+-]\d{2}:\d{2})?\s*$/;

/**
 * Parses the string forms SQL Server accepts for the temporal types with DATEFORMAT mdy: ISO 8601
 * (yyyy-mm-dd[Thh:mi:ss[.fffffff]][Z|±hh:mm]), unseparated yyyymmdd, and mm/dd/yyyy. Returns undefined when the
 * text is not a valid date/time (the caller raises 241).
 */
export function parseDateTime(text: string): ParsedDateTime | undefined {
  const m = DATE_TIME_RE.exec(text);
  if (!m || text.trim() === '') return undefined;
  let y: number | undefined;
  let mo = 1;
  let d = 1;
  if (m[1] !== undefined) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if (m[4] !== undefined) [y, mo, d] = [Number(m[4]), Number(m[5]), Number(m[6])];
  else if (m[7] !== undefined) [mo, d, y] = [Number(m[7]), Number(m[8]), Number(m[9])];
  const hasDate = y !== undefined;
  const hasTime = m[10] !== undefined;
  if (!hasDate && !hasTime) return undefined;
  const year = y ?? 1900;
  if (year < 1 || year > 9999 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(year, mo)) return undefined;
  let ticks = 0n;
  let fractionDigits = 0;
  if (hasTime) {
    let h = Number(m[10]);
    const mi = Number(m[11]);
    const s = m[12] !== undefined ? Number(m[12]) : 0;
    const ampm = m[14]?.toUpperCase();
    if (ampm) {
      if (h < 1 || h > 12) return undefined;
      if (ampm === 'AM' && h === 12) h = 0;
      if (ampm === 'PM' && h !== 12) h += 12;
    }
    if (h > 23 || mi > 59 || s > 59) return undefined;
    const frac = m[13] ?? '';
    fractionDigits = frac.length;
    if (frac.length > 7) return undefined;
    ticks = BigInt(h * 3600 + mi * 60 + s) * TICKS_PER_SECOND + BigInt((frac + '0000000').slice(0, 7));
  }
  const out: ParsedDateTime = { days: daysFromCivil(year, mo, d), ticks, fractionDigits, hasDate, hasTime };
  const off = m[15];
  if (off !== undefined) {
    out.offsetMinutes =
      off.toUpperCase() === 'Z'
        ? 0
        : (off.startsWith('-') ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)));
  }
  return out;
}

/** The current instant as (days, ticks) in UTC, at 100 ns resolution from the process clock. */
export function nowUtc(): { days: number; ticks: bigint } {
  const ns = process.hrtime.bigint() - HR_BASE + WALL_BASE_NS;
  const ticksTotal = ns / 100n;
  const days = Number(ticksTotal / TICKS_PER_DAY);
  return { days: days + UNIX_EPOCH_DAYS, ticks: ticksTotal % TICKS_PER_DAY };
}
const HR_BASE = process.hrtime.bigint();
const WALL_BASE_NS = BigInt(Date.now()) * 1_000_000n;

/** Local offset of the process (minutes), used for GETDATE/SYSDATETIME. */
export function localOffsetMinutes(): number {
  return -new Date().getTimezoneOffset();
}

export const mkDate = (days: number): SqlDate => ({ kind: 'date', days });
export const mkTime = (ticks: bigint): SqlTime => ({ kind: 'time', ticks });
export const mkDateTime = (days: number, ticks: bigint): SqlDateTime => ({ kind: 'datetime', days, ticks });
export const mkDto = (days: number, ticks: bigint, offsetMinutes: number): SqlDateTimeOffset => ({
  kind: 'datetimeoffset',
  days,
  ticks,
  offsetMinutes,
});
