/**
 * Durations as operators write them: `30s`, `15m`, `2h`, `30d`, or a sum such as `1h30m`.
 *
 * A duration is kept as milliseconds (for timers) together with its canonical text (for printing a
 * resolved config that reads like the file the operator wrote). Both are plain data, so a config that
 * crosses a JSON boundary keeps its meaning.
 */

/** A parsed duration. */
export interface Duration {
  /** Length in milliseconds. */
  readonly ms: number;
  /** Canonical text, largest units first, e.g. `1h30m` for an input of `90m`. */
  readonly text: string;
}

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const UNIT_MS: Readonly<Record<string, number>> = Object.fromEntries(UNITS);

// `ms` must be tried before `m`, or `500ms` would read as 500 minutes followed by garbage.
const WHOLE = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** Parses `15m`, `1h30m`, …; returns undefined for anything else (bare numbers, decimals, unknown units). */
export function parseDuration(text: string): Duration | undefined {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return undefined;
  let ms = 0;
  for (const match of trimmed.matchAll(PART)) {
    const [, amount, unit] = match;
    ms += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  if (!Number.isSafeInteger(ms)) return undefined;
  return { ms, text: formatDuration(ms) };
}

/** Builds a duration from milliseconds (used for defaults). */
export function durationOf(ms: number): Duration {
  return { ms, text: formatDuration(ms) };
}

/** Formats milliseconds with the largest units first: 5_400_000 → `1h30m`; 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      out += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return out;
}
