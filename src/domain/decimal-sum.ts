/**
 * Exact sums of integer and decimal values, written as DuckDB writes `sum(x)::VARCHAR` (integers as HUGEINT,
 * decimals at their scale; NULL when nothing was added), and the sums of control-total columns added up over a
 * window's pieces (segments, sub-ranges). Pure: the workflow merges sub-range stagings with it.
 */
import type { LakeValue } from './values.js';

/** Sums (exact decimal text, NULL for no value) by control-total column, as a staging records them. */
export type ControlSums = Readonly<Record<string, string | null>>;

/** An exact sum of integer and decimal values, written as DuckDB writes `sum(x)::VARCHAR`. */
export class DecimalSum {
  private unscaled = 0n;
  private scale = 0;
  private seen = false;

  add(v: LakeValue): void {
    if (v === null) return;
    this.seen = true;
    if (typeof v === 'bigint') this.addScaled(v, 0);
    else if (typeof v === 'number' && Number.isInteger(v)) this.addScaled(BigInt(v), 0);
    else if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) {
      // An exact decimal as text (`-12.30`), as the lake's value model allows (and DuckDB writes a sum).
      const [whole = '0', frac = ''] = v.split('.');
      this.addScaled(BigInt(`${whole}${frac}`), frac.length);
    } else if (typeof v === 'object' && v !== null && 'unscaled' in v) {
      const d = v;
      this.addScaled(d.unscaled, d.scale);
    } else throw new Error('control totals sum integer and decimal columns only');
  }

  private addScaled(unscaled: bigint, scale: number): void {
    if (scale > this.scale) {
      this.unscaled *= 10n ** BigInt(scale - this.scale);
      this.scale = scale;
    }
    this.unscaled += unscaled * 10n ** BigInt(this.scale - scale);
  }

  /** null when no value was added (SQL's SUM of nothing). */
  text(): string | null {
    if (!this.seen) return null;
    if (this.scale === 0) return this.unscaled.toString();
    const neg = this.unscaled < 0n;
    const digits = (neg ? -this.unscaled : this.unscaled).toString().padStart(this.scale + 1, '0');
    return `${neg ? '-' : ''}${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
  }
}

/**
 * The sums of a window from the sums of its pieces: each column added up over the pieces (a NULL piece adds
 * nothing). Undefined when a piece has no sums (staged before they were recorded) or sums other columns: the
 * window's sums are then unknown, and validation computes them from the files.
 */
export function addControlSums(pieces: readonly (ControlSums | undefined)[]): ControlSums | undefined {
  const first = pieces[0];
  if (!first) return undefined;
  const columns = Object.keys(first);
  const acc = new Map(columns.map((c) => [c, new DecimalSum()]));
  for (const p of pieces) {
    if (!p || Object.keys(p).length !== columns.length) return undefined;
    for (const c of columns) {
      if (!(c in p)) return undefined;
      acc.get(c)!.add(p[c] ?? null);
    }
  }
  return Object.fromEntries(columns.map((c) => [c, acc.get(c)!.text()]));
}
