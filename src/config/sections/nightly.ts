/** The `nightly` section: the heavy-read window in which reconciliation may scan whole tables. */
import { DEFAULTS } from '../defaults.js';
import { durationOf } from '../duration.js';
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type NightlyConfig } from '../types.js';

const checkTime: StringCheck = (time) =>
  /^([01]\d|2[0-3]):[0-5]\d$/.test(time)
    ? undefined
    : { message: 'is not a time of day', fix: 'write `HH:MM` in 24-hour time, quoted, e.g. `windowStart: "01:00"`' };

const checkTimezone: StringCheck = (zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return { message: 'is not an IANA time zone', fix: 'write e.g. `timezone: America/Chicago` or `timezone: UTC`' };
  }
};

export function readNightly(o: ObjectReader): NightlyConfig {
  o.allow(['windowStart', 'duration', 'timezone']);
  return {
    windowStart: o.requiredString('windowStart', {
      what: 'the start of the heavy-read window (HH:MM)',
      example: '"01:00"',
      check: checkTime,
    }),
    duration: o.duration('duration', {
      what: 'the length of the heavy-read window',
      example: '2h',
      fallback: DEFAULTS.nightlyDuration,
      min: durationOf(15 * 60_000),
      max: durationOf(12 * 3_600_000),
    }),
    timezone: o.optionalString('timezone', {
      what: 'the time zone',
      example: 'America/Chicago',
      fallback: DEFAULTS.timezone,
      check: checkTimezone,
    }),
  };
}
