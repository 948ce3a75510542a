/**
 * Date/time arithmetic shared by the encoders and decoders. All SqlValue temporal types count days since
 * 0001-01-01 and 100 ns ticks since midnight; TDS counts datetime/smalldatetime days from 1900-01-01
 * (2.2.5.5.1.8) and time(n) in units of 10^-n seconds (2.2.5.5.1.9 TIMENTYPE).
 */

/** Days from 0001-01-01 to 1900-01-01 (the datetime/smalldatetime epoch). */
export const DAYS_0001_TO_1900 = 693595;
/** 100 ns ticks per day. */
export const TICKS_PER_DAY = 864_000_000_000;
/** datetime counts 1/300 s: 300 units per second, 25 920 000 per day (2.2.5.5.1.8). */
export const DATETIME_UNITS_PER_DAY = 25_920_000;
/** 100 ns ticks per minute (smalldatetime resolution). */
export const TICKS_PER_MINUTE = 600_000_000;

/** 10^(7-scale): ticks per unit of a time(scale) value. */
export const TICKS_PER_UNIT: readonly number[] = [10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/** Bytes of a time(scale) value: 3 for scale 0–2, 4 for 3–4, 5 for 5–7 (2.2.5.5.1.9). */
export function timeLength(scale: number): 3 | 4 | 5 {
  return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

/** datetime: 1/300 s units of a tick count, rounded as SQL Server converts (0.000/0.003/0.007 ms steps). */
export function ticksToDatetimeUnits(ticks: number): number {
  return Math.round((ticks * 3) / 100_000);
}

/** datetime: ticks of a 1/300 s unit count, rounded to whole milliseconds as SQL Server presents them. */
export function datetimeUnitsToTicks(units: number): number {
  return Math.round((units * 10) / 3) * 10_000;
}
