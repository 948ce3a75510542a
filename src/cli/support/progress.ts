/**
 * Progress of a long operator verb (verify, backfill, reconcile, `start --wait`), always on stderr so stdout
 * stays what scripts read. Three modes, chosen by {@link progressMode}:
 *
 * - `tty`: one line rewritten in place (`\r`, then erase to the end of the line): label, bar, done/total,
 *   rows, rows/s, ETA, elapsed. Cut to the terminal's width so it never wraps (a wrapped line cannot be
 *   rewritten).
 * - `lines` (stderr is a file, a pipe, CI): a plain line at most every `intervalMs` and one at the end; no
 *   control characters, so logs stay readable.
 * - `off` (`--json`, or `TIDEMARK_PROGRESS=off`): nothing.
 *
 * Counts only: a progress line carries positions, counts and durations, never row values.
 */

export type ProgressMode = 'tty' | 'lines' | 'off';

/** What one progress line shows. */
export interface ProgressFrame {
  label: string;
  /** Units done (chunks, steps, …). */
  done: number;
  /** Units in all; null while unknown (no bar, no ETA). */
  total: number | null;
  /** Name of the unit, plural (`chunks`). */
  unit: string;
  /** Rows handled so far, where the operation counts them (gives rows/s). */
  rows: number | null;
  /** A short word on what happens now (`waiting for a worker`, `comparing`). */
  phase?: string;
  elapsedMs: number;
}

const BAR_WIDTH = 20;

/** `1h02m`, `4m05s`, `12s`. */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** One progress line (pure: the same frame always renders the same text). */
export function renderProgress(f: ProgressFrame, options: { bar: boolean; width?: number }): string {
  const parts: string[] = [f.label];
  const known = f.total !== null && f.total > 0;
  const fraction = known ? Math.min(1, Math.max(0, f.done / f.total!)) : null;
  if (options.bar && fraction !== null) {
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
  }
  parts.push(f.total !== null ? `${count(f.done)}/${count(f.total)} ${f.unit}` : `${count(f.done)} ${f.unit}`);
  const stats: string[] = [];
  if (f.rows !== null) {
    stats.push(`${count(f.rows)} rows`);
    if (f.elapsedMs >= 1000) stats.push(`${count((f.rows * 1000) / f.elapsedMs)} rows/s`);
  }
  if (fraction !== null && f.done > 0 && fraction < 1)
    stats.push(`ETA ${formatEta((f.elapsedMs * (f.total! - f.done)) / f.done)}`);
  stats.push(`${formatEta(f.elapsedMs)} elapsed`);
  if (f.phase) stats.unshift(f.phase);
  const line = `${parts.join(' ')} · ${stats.join(' · ')}`;
  const width = options.width;
  return width !== undefined && width > 1 && line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
}

/** The mode for a stream: off with `--json` or `TIDEMARK_PROGRESS=off`, tty on a terminal, else lines. */
export function progressMode(
  stream: NodeJS.WritableStream,
  options: { json?: boolean; env?: Readonly<Record<string, string | undefined>> } = {},
): ProgressMode {
  const setting = options.env?.TIDEMARK_PROGRESS?.toLowerCase();
  if (options.json || setting === 'off') return 'off';
  if (setting === 'lines') return 'lines';
  const tty = (stream as { isTTY?: boolean }).isTTY === true && options.env?.TERM !== 'dumb';
  return tty ? 'tty' : 'lines';
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  label: string;
  unit: string;
  mode: ProgressMode;
  /** Milliseconds clock; injected by tests. */
  now?: () => number;
  /** Lines mode: at most one line per this many ms (default 15 s). */
  intervalMs?: number;
  /** TTY mode: the terminal's width (default the stream's `columns`, else 100). */
  columns?: number;
}

/** A progress display for one operation; `update` as often as you like, `finish` once. */
export class Progress {
  private readonly now: () => number;
  private readonly started: number;
  private frame: Omit<ProgressFrame, 'elapsedMs'>;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private finished = false;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.frame = { label: o.label, done: 0, total: null, unit: o.unit, rows: null };
  }

  /** New counts; drawn at once on a terminal (at most 10 times a second), every `intervalMs` as lines. */
  update(p: { done?: number; total?: number | null; rows?: number | null; phase?: string }): void {
    if (this.finished) return;
    this.frame = {
      ...this.frame,
      ...(p.done !== undefined ? { done: p.done } : {}),
      ...(p.total !== undefined ? { total: p.total } : {}),
      ...(p.rows !== undefined ? { rows: p.rows } : {}),
      phase: p.phase,
    };
    const t = this.now();
    const every = this.o.mode === 'tty' ? 100 : (this.o.intervalMs ?? 15_000);
    if (t - this.lastDraw >= every) this.draw(t);
  }

  /** A message of its own line (e.g. a warning) that does not break the progress line. */
  note(line: string): void {
    if (this.o.mode === 'tty' && this.drawn) this.o.stream.write('\r\x1b[K');
    this.o.stream.write(`${line}\n`);
    if (this.o.mode === 'tty' && this.drawn && !this.finished) this.draw(this.now());
  }

  /** The last line (with `phase`, e.g. `done`), ending the display; later updates are ignored. */
  finish(phase?: string): void {
    if (this.finished) return;
    if (phase !== undefined) this.frame = { ...this.frame, phase };
    if (this.o.mode !== 'off') this.draw(this.now());
    if (this.o.mode === 'tty') this.o.stream.write('\n');
    this.finished = true;
  }

  private draw(t: number): void {
    if (this.o.mode === 'off') return;
    this.lastDraw = t;
    const frame = { ...this.frame, elapsedMs: t - this.started };
    if (this.o.mode === 'tty') {
      const width = this.o.columns ?? (this.o.stream as { columns?: number }).columns ?? 100;
      this.o.stream.write(`\r${renderProgress(frame, { bar: true, width })}\x1b[K`);
      this.drawn = true;
    } else {
      this.o.stream.write(`${renderProgress(frame, { bar: false })}\n`);
    }
  }
}
