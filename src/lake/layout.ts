/**
 * Where everything of one table lives in the lake (paths relative to the container):
 *
 * ```
 * <prefix>/<db>.<schema>.<table>/
 *   data/commit_date=YYYY-MM-DD/w<seq>-a<attempt>-p<part>.parquet   change-log files (immutable)
 *   _manifests/<seq>.json                                            ordered commit log (immutable; the truth)
 *   _schemas/<version>.json                                          schema versions (immutable)
 *   _audit/<seq>.json                                                audit ledger, one object per commit (immutable)
 *   _state/watermark.json                                            pointer to the last manifest (the one mutable object)
 * ```
 *
 * Sequence numbers and versions are zero-padded to 12 digits so that a lexicographic listing is numeric order.
 * A data file's name contains the window sequence and the attempt id, so no two attempts share a name and a
 * zombie attempt (one that lost the race or outlived its timeout) can never replace a committed file: its
 * uploads either create new, unreferenced names or fail with 409.
 */
import { tableIdOf } from '../domain/table.js';

/** A source table. */
export interface TableRef {
  readonly db: string;
  readonly schema: string;
  readonly table: string;
}

/** `db.schema.table`, the table's id everywhere (workflow ids, logs, manifests). */
export function tableId(t: TableRef): string {
  return tableIdOf(t.db, t.schema, t.table);
}

const SEQ_WIDTH = 12;
const ATTEMPT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const COMMIT_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Zero-padded sequence/version for object names. */
export function padSequence(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`sequence must be a non-negative integer, got ${n}`);
  return String(n).padStart(SEQ_WIDTH, '0');
}

/** Encodes a name part so that `.` and `/` inside SQL Server names cannot change the layout. */
function encodePart(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

/** Checks an attempt id (letters, digits, `_`, `-`; ≤ 64). */
export function assertAttemptId(attemptId: string): void {
  if (!ATTEMPT_ID.test(attemptId)) throw new RangeError('attempt id must match [A-Za-z0-9_-]{1,64}');
}

const NANOS_PER_DAY = 86_400_000_000_000n;
/** The day {@link utcDateOfNanos} answered last: [lo, hi) in epoch ns, and its date. */
let lastDay: { lo: bigint; hi: bigint; date: string } | undefined;

/**
 * UTC calendar date (`YYYY-MM-DD`) of an epoch-nanosecond instant. Called per change event (its partition), where
 * consecutive events nearly always share a day — a 50K-row transaction shares one commit time — so the day last
 * answered is remembered: a Date and its ISO string per event cost ~0.7 µs (docs/performance.md, branch
 * i14-burst3). Instants before 1970 are computed each time (the division truncates towards zero there).
 */
export function utcDateOfNanos(epochNanos: bigint): string {
  const last = lastDay;
  if (last && epochNanos >= last.lo && epochNanos < last.hi) return last.date;
  const date = new Date(Number(epochNanos / 1_000_000n)).toISOString().slice(0, 10);
  if (epochNanos >= 0n) {
    const lo = epochNanos - (epochNanos % NANOS_PER_DAY);
    lastDay = { lo, hi: lo + NANOS_PER_DAY, date };
  }
  return date;
}

/** Paths of one table. */
export class TableLayout {
  /** Root of the table, ending in `/`. */
  readonly root: string;
  readonly id: string;

  constructor(
    readonly prefix: string,
    readonly table: TableRef,
  ) {
    const p = prefix.replace(/^\/+|\/+$/g, '');
    this.id = tableId(table);
    this.root = `${p ? `${p}/` : ''}${encodePart(table.db)}.${encodePart(table.schema)}.${encodePart(table.table)}/`;
  }

  /** Full path of a path relative to the table root. */
  resolve(relative: string): string {
    return `${this.root}${relative}`;
  }

  get manifestsPrefix(): string {
    return `${this.root}_manifests/`;
  }
  manifestPath(sequence: number): string {
    return `${this.manifestsPrefix}${padSequence(sequence)}.json`;
  }
  /** The sequence number of a manifest path, or undefined if it is not one. */
  sequenceOfManifest(path: string): number | undefined {
    const m = /_manifests\/(\d{12})\.json$/.exec(path);
    return m ? Number(m[1]) : undefined;
  }

  get schemasPrefix(): string {
    return `${this.root}_schemas/`;
  }
  schemaPath(version: number): string {
    return `${this.schemasPrefix}${padSequence(version)}.json`;
  }
  versionOfSchema(path: string): number | undefined {
    const m = /_schemas\/(\d{12})\.json$/.exec(path);
    return m ? Number(m[1]) : undefined;
  }

  auditPath(sequence: number): string {
    return `${this.root}_audit/${padSequence(sequence)}.json`;
  }

  get watermarkPath(): string {
    return `${this.root}_state/watermark.json`;
  }

  /** Data file path relative to the table root (as manifests record it). */
  dataFileRelative(commitDate: string, sequence: number, attemptId: string, partIndex: number): string {
    if (!COMMIT_DATE.test(commitDate)) throw new RangeError('commit date must be YYYY-MM-DD');
    assertAttemptId(attemptId);
    return `data/commit_date=${commitDate}/w${padSequence(sequence)}-a${attemptId}-p${String(partIndex).padStart(5, '0')}.parquet`;
  }
}
