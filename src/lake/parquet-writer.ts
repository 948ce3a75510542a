/**
 * Streaming Parquet writer on DuckDB (`@duckdb/node-api`): rows are appended in data chunks of 2,048 to an
 * in-memory DuckDB table, and every `partRows` rows the table is written with
 * `COPY … (FORMAT parquet, COMPRESSION zstd)` to a local part file and dropped. Memory is therefore bounded by
 * one part (per open partition, and by `maxBufferedRows` across partitions), whatever the window's size.
 *
 * Why DuckDB and not hyparquet-writer / parquetjs-lite: see docs/raw-layer.md ("Parquet writer") and
 * bench/parquet-writers.ts — it was the fastest exact writer measured here, writes DECIMAL and TIMESTAMP with
 * statistics, and the reader uses the same engine. How each type is stored: lake-types.ts, docs/type-mapping.md.
 */
import {
  DuckDBDataChunk,
  DuckDBInstance,
  blobValue,
  dateValue,
  decimalValue,
  structValue,
  timestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import { join } from 'node:path';
import {
  LakeValueError,
  dateToDays,
  decimalToUnscaled,
  duckdbTypeSql,
  hasHundredNsCompanion,
  smallDecimalTextToUnscaled,
  storedColumns,
  storedTimestamp,
  timeText,
  uuidText,
} from './lake-types.js';
import {
  type InstantWithOffset,
  type LakeColumn,
  type LakeType,
  type LakeValue,
  type UnscaledDecimal,
} from '../domain/values.js';

/** DuckDB's vector size: the natural chunk for the appender. */
const CHUNK_ROWS = 2048;

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DuckDB SQL. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

type Convert = (v: Exclude<LakeValue, null>) => DuckDBValue;

function isUnscaled(v: unknown): v is UnscaledDecimal {
  return typeof v === 'object' && v !== null && 'unscaled' in v;
}
function isInstant(v: unknown): v is InstantWithOffset {
  return typeof v === 'object' && v !== null && 'epochNanos' in v;
}

function wrongJsType(column: string, type: LakeType, expected: string): LakeValueError {
  return new LakeValueError(column, `a ${type.kind} value must be ${expected}`);
}

/** The per-value conversion of one column: validates exactness and builds DuckDB's value. */
function converterFor(column: LakeColumn): Convert {
  const name = column.name;
  const t = column.type;
  const intIn = (min: number, max: number): Convert => {
    return (v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        throw wrongJsType(name, t, `an integer number in ${min}..${max}`);
      return v;
    };
  };
  switch (t.kind) {
    case 'boolean':
      return (v) => {
        if (typeof v !== 'boolean') throw wrongJsType(name, t, 'a boolean');
        return v;
      };
    case 'uint8':
      return intIn(0, 255);
    case 'int16':
      return intIn(-32768, 32767);
    case 'int32':
      return intIn(-2147483648, 2147483647);
    case 'int64':
      return (v) => {
        if (typeof v !== 'bigint') throw wrongJsType(name, t, 'a bigint');
        if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new LakeValueError(name, 'int64 out of range');
        return v;
      };
    case 'decimal':
      return (v) => {
        if (typeof v !== 'string' && !isUnscaled(v))
          throw wrongJsType(name, t, 'a decimal string or {unscaled, scale}');
        return decimalValue(decimalToUnscaled(name, v, t.precision, t.scale), t.precision, t.scale);
      };
    case 'float32':
    case 'float64':
      return (v) => {
        if (typeof v !== 'number') throw wrongJsType(name, t, 'a number');
        return v;
      };
    case 'string':
      return (v) => {
        if (typeof v !== 'string') throw wrongJsType(name, t, 'a string');
        return v;
      };
    case 'binary':
      return (v) => {
        if (!(v instanceof Uint8Array)) throw wrongJsType(name, t, 'a Uint8Array');
        return blobValue(v);
      };
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return temporalConverter(name, t);
    case 'uuid':
      return (v) => {
        if (typeof v !== 'string') throw wrongJsType(name, t, 'a uuid string');
        return uuidText(name, v);
      };
  }
}

type TemporalType = Extract<LakeType, { kind: 'date' | 'time' | 'timestamp' | 'timestamptz' }>;

/** {@link converterFor} of the date and time kinds. */
function temporalConverter(name: string, t: TemporalType): Convert {
  switch (t.kind) {
    case 'date':
      return (v) => {
        if (typeof v !== 'string' && typeof v !== 'number') throw wrongJsType(name, t, 'YYYY-MM-DD or a day number');
        return dateValue(dateToDays(name, v));
      };
    case 'time':
      return (v) => {
        if (typeof v !== 'bigint') throw wrongJsType(name, t, 'bigint nanoseconds since midnight');
        return timeText(name, v, t.fractionalDigits);
      };
    case 'timestamp':
      return (v) => {
        if (typeof v !== 'bigint') throw wrongJsType(name, t, 'bigint epoch nanoseconds');
        return timestampValue(storedTimestamp(name, v, t.fractionalDigits).micros);
      };
    case 'timestamptz':
      return (v) => {
        if (!isInstant(v)) throw wrongJsType(name, t, '{epochNanos, offsetMinutes}');
        if (!Number.isInteger(v.offsetMinutes) || v.offsetMinutes < -840 || v.offsetMinutes > 840)
          throw new LakeValueError(name, 'offsetMinutes must be an integer in -840..840');
        return structValue({
          utc: timestampValue(storedTimestamp(name, v.epochNanos, t.fractionalDigits).micros),
          offset_minutes: v.offsetMinutes,
        });
      };
  }
}

/**
 * Writes one column's (non-null) value into the current chunk's vectors at `row`, validating it exactly as
 * {@link converterFor} does. Fixed-width kinds are written through one reused scratch object per column (the
 * vectors copy the value at once), so a row allocates no DuckDB value objects; a 7-digit timestamp writes its
 * `__100ns` companion in the same call, from one split of the value.
 */
type ColumnWrite = (vectors: readonly DuckDBVector[], row: number, v: Exclude<LakeValue, null>) => void;

/** A chunk vector as the writes use it: each kind's vector takes its own input shape (checked by the writes). */
interface VectorSlot {
  setItem(row: number, value: unknown): void;
}

function vectorAt(vectors: readonly DuckDBVector[], at: number): VectorSlot {
  return vectors[at] as unknown as VectorSlot;
}

/** The {@link ColumnWrite} of a column stored at vector index `at` (its companion, if any, at `at + 1`). */
function columnWriteFor(column: LakeColumn, at: number): ColumnWrite {
  const name = column.name;
  const t = column.type;
  switch (t.kind) {
    case 'decimal': {
      // DuckDB keeps DECIMAL(p ≤ 9) in 16/32-bit integers (the vector takes a number) and wider ones in 64/128
      // bits (a bigint). Short plain text (the driver's toFixed) is parsed without BigInt; the rest exactly.
      const scratch: { value: number | bigint } = { value: 0 };
      const narrow = t.precision <= 9;
      return (vectors, row, v) => {
        if (typeof v !== 'string' && !isUnscaled(v))
          throw wrongJsType(name, t, 'a decimal string or {unscaled, scale}');
        const small = typeof v === 'string' ? smallDecimalTextToUnscaled(v, t.precision, t.scale) : undefined;
        if (small !== undefined) scratch.value = narrow ? small : BigInt(small);
        else {
          const unscaled = decimalToUnscaled(name, v, t.precision, t.scale);
          scratch.value = narrow ? Number(unscaled) : unscaled;
        }
        vectorAt(vectors, at).setItem(row, scratch);
      };
    }
    case 'timestamp': {
      const scratch = { micros: 0n };
      const companion = hasHundredNsCompanion(t);
      // The same instant on every row (a window's `_extracted_at`, a snapshot's `_commit_ts`) is split once.
      let last: bigint | undefined;
      let lastHundredNs = 0;
      return (vectors, row, v) => {
        if (typeof v !== 'bigint') throw wrongJsType(name, t, 'bigint epoch nanoseconds');
        if (v !== last) {
          const stored = storedTimestamp(name, v, t.fractionalDigits);
          last = v;
          scratch.micros = stored.micros;
          lastHundredNs = stored.hundredNs;
        }
        vectorAt(vectors, at).setItem(row, scratch);
        if (companion) vectorAt(vectors, at + 1).setItem(row, lastHundredNs);
      };
    }
    case 'date': {
      const scratch = { days: 0 };
      return (vectors, row, v) => {
        if (typeof v !== 'string' && typeof v !== 'number') throw wrongJsType(name, t, 'YYYY-MM-DD or a day number');
        scratch.days = dateToDays(name, v);
        vectorAt(vectors, at).setItem(row, scratch);
      };
    }
    case 'timestamptz': {
      const convert = converterFor(column);
      return (vectors, row, v) => {
        vectorAt(vectors, at).setItem(row, convert(v));
        if (t.fractionalDigits === 7)
          vectorAt(vectors, at + 1).setItem(
            row,
            storedTimestamp(name, (v as InstantWithOffset).epochNanos, 7).hundredNs,
          );
      };
    }
    default: {
      // Booleans, integers, floats and strings are passed as they are (the converter only checks them).
      const convert = converterFor(column);
      return (vectors, row, v) => vectorAt(vectors, at).setItem(row, convert(v));
    }
  }
}

/** One finished local part file. */
export interface WrittenPart {
  /** Absolute local path. */
  readonly localPath: string;
  /** The caller's partition key the part belongs to (e.g. a commit date). */
  readonly partition: string;
  /** 0-based index of this part within its partition. */
  readonly partIndex: number;
  readonly rows: number;
}

/** Options of {@link ParquetWriter.create}. */
export interface ParquetWriterOptions {
  /**
   * The rows' columns, in row order (one value per column in `append`). The files store
   * {@link storedColumns} of them: a 7-digit timestamp column is followed by its `__100ns` companion.
   */
  readonly columns: readonly LakeColumn[];
  /** Local directory for part files (must exist). */
  readonly dir: string;
  /** Rows per part file (bounded memory); default 500,000. */
  readonly partRows?: number;
  /** Rows buffered across all partitions before the fullest one is flushed early; default 2 × partRows. */
  readonly maxBufferedRows?: number;
  /** Rows per Parquet row group; default 122,880 (DuckDB's default). */
  readonly rowGroupRows?: number;
  /** File name of a part (no directory); default `<partition>-<index>.parquet` sanitised. */
  readonly fileName?: (partition: string, partIndex: number) => string;
  /** DuckDB memory limit, default '512MB'. */
  readonly memoryLimit?: string;
  /** DuckDB threads (encoding a part), default 2. */
  readonly threads?: number;
}

interface OpenPartition {
  readonly table: string;
  appender: DuckDBAppender;
  types: DuckDBType[];
  /** The chunk being filled (rows are written straight into its vectors), created on its first row. */
  chunk: DuckDBDataChunk | undefined;
  vectors: DuckDBVector[];
  bufferedInChunk: number;
  rowsInPart: number;
  nextPartIndex: number;
}

/**
 * Writes rows into ZSTD Parquet part files, partitioned by a caller-given key, with bounded memory.
 * Not safe for concurrent use; `append` is synchronous except when a part is flushed.
 */
export class ParquetWriter {
  private readonly partitions = new Map<string, OpenPartition>();
  /** Per column, the write of its value (and of its companion column, 7-digit timestamps) into a chunk. */
  private readonly writes: ColumnWrite[];
  /** The files' columns (stored columns). */
  private readonly stored: LakeColumn[];
  /** Per column, the index of its vector among the stored columns. */
  private readonly storedIndex: number[];
  private readonly parts: WrittenPart[] = [];
  private buffered = 0;
  private tableCounter = 0;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly opts: Required<Omit<ParquetWriterOptions, 'memoryLimit' | 'threads'>>,
  ) {
    this.stored = storedColumns(opts.columns);
    this.storedIndex = [];
    let k = 0;
    for (const c of opts.columns) {
      this.storedIndex.push(k);
      k += hasHundredNsCompanion(c.type) ? 2 : 1;
    }
    this.writes = opts.columns.map((c, i) => columnWriteFor(c, this.storedIndex[i] as number));
  }

  static async create(options: ParquetWriterOptions): Promise<ParquetWriter> {
    const partRows = options.partRows ?? 500_000;
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: options.memoryLimit ?? '512MB',
      threads: String(options.threads ?? 2),
    });
    const conn = await instance.connect();
    return new ParquetWriter(instance, conn, {
      columns: options.columns,
      dir: options.dir,
      partRows,
      maxBufferedRows: options.maxBufferedRows ?? 2 * partRows,
      rowGroupRows: options.rowGroupRows ?? 122_880,
      fileName: options.fileName ?? ((p, i) => `${p.replace(/[^\w.=-]/g, '_')}-${i}.parquet`),
    });
  }

  /** Rows written so far (buffered or flushed). */
  get rowsWritten(): number {
    return this.parts.reduce((n, p) => n + p.rows, 0) + this.buffered;
  }

  private async openPartition(partition: string, nextPartIndex: number): Promise<OpenPartition> {
    const table = `part_${this.tableCounter++}`;
    const cols = this.stored.map((c) => `${quoteIdent(c.name)} ${duckdbTypeSql(c.type)}`).join(', ');
    await this.conn.run(`CREATE TABLE ${table} (${cols})`);
    const appender = await this.conn.createAppender(table);
    const types: DuckDBType[] = [];
    for (let i = 0; i < appender.columnCount; i++) types.push(appender.columnType(i));
    const p: OpenPartition = {
      table,
      appender,
      types,
      chunk: undefined,
      vectors: [],
      bufferedInChunk: 0,
      rowsInPart: 0,
      nextPartIndex,
    };
    this.partitions.set(partition, p);
    return p;
  }

  /**
   * Appends one row (values in column order) to a partition. Throws {@link LakeValueError} on an inexact value.
   * Returns a promise only when the row filled a part and a file is being written; `await` it then (awaiting
   * every row costs a microtask per row, which measurably slows a 27-column table). The row is copied at once:
   * the caller may reuse its array.
   */
  append(partition: string, row: readonly LakeValue[]): Promise<void> | undefined {
    if (this.closed) throw new Error('ParquetWriter is closed');
    const p = this.partitions.get(partition);
    if (!p)
      return this.openPartition(partition, this.nextIndex.get(partition) ?? 0).then(() => this.append(partition, row));
    const columns = this.opts.columns;
    if (row.length !== columns.length)
      throw new LakeValueError('(row)', `expected ${columns.length} values, got ${row.length}`);
    if (!p.chunk) {
      p.chunk = DuckDBDataChunk.create(p.types, CHUNK_ROWS);
      p.vectors = p.types.map((_t, i) => (p.chunk as DuckDBDataChunk).getColumnVector(i));
    }
    // Written straight into the chunk's row `at`. A refused value leaves the row uncounted: the next row
    // overwrites every column of that slot, and a chunk is appended with only its counted rows.
    const at = p.bufferedInChunk;
    const vectors = p.vectors;
    for (let i = 0; i < columns.length; i++) {
      const v = row[i] ?? null;
      if (v === null) {
        const col = columns[i] as LakeColumn;
        if (!col.nullable) throw new LakeValueError(col.name, 'NULL in a non-nullable column');
        const k = this.storedIndex[i] as number;
        vectorAt(vectors, k).setItem(at, null);
        if (hasHundredNsCompanion(col.type)) vectorAt(vectors, k + 1).setItem(at, null);
      } else (this.writes[i] as ColumnWrite)(vectors, at, v);
    }
    p.bufferedInChunk++;
    p.rowsInPart++;
    this.buffered++;
    if (p.bufferedInChunk === CHUNK_ROWS) this.appendChunk(p);
    if (p.rowsInPart >= this.opts.partRows) return this.flushPartition(partition);
    if (this.buffered >= this.opts.maxBufferedRows) return this.flushFullest();
    return undefined;
  }

  private appendChunk(p: OpenPartition): void {
    const chunk = p.chunk;
    if (!chunk || p.bufferedInChunk === 0) return;
    for (const v of p.vectors) v.flush();
    // Setting the row count drops the chunk's vector wrappers, so it comes after their flush.
    if (p.bufferedInChunk < CHUNK_ROWS) chunk.rowCount = p.bufferedInChunk;
    p.appender.appendDataChunk(chunk);
    p.chunk = undefined;
    p.vectors = [];
    p.bufferedInChunk = 0;
  }

  private async flushFullest(): Promise<void> {
    let best: string | undefined;
    let bestRows = -1;
    for (const [key, p] of this.partitions) {
      if (p.rowsInPart > bestRows) {
        best = key;
        bestRows = p.rowsInPart;
      }
    }
    if (best !== undefined) await this.flushPartition(best);
  }

  /** Writes a partition's buffered rows as one part file and frees them. */
  private async flushPartition(partition: string): Promise<void> {
    const p = this.partitions.get(partition);
    if (!p) return;
    this.appendChunk(p);
    p.appender.flushSync();
    p.appender.closeSync();
    this.partitions.delete(partition);
    if (p.rowsInPart > 0) {
      const localPath = join(this.opts.dir, this.opts.fileName(partition, p.nextPartIndex));
      await this.conn.run(
        `COPY ${p.table} TO ${quoteLiteral(localPath)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${this.opts.rowGroupRows})`,
      );
      this.parts.push({ localPath, partition, partIndex: p.nextPartIndex, rows: p.rowsInPart });
      this.buffered -= p.rowsInPart;
    }
    await this.conn.run(`DROP TABLE ${p.table}`);
    if (p.rowsInPart > 0) {
      // Re-open lazily on the next append with the next part index.
      this.nextIndex.set(partition, p.nextPartIndex + 1);
    }
  }

  private readonly nextIndex = new Map<string, number>();

  /** Flushes everything and returns all part files, in the order written. Closes the writer. */
  async finish(): Promise<WrittenPart[]> {
    for (const key of [...this.partitions.keys()]) await this.flushPartition(key);
    this.close();
    return [...this.parts];
  }

  /** Releases DuckDB (idempotent). Part files already written stay on disk. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.partitions.values()) {
      try {
        p.appender.closeSync();
      } catch {
        // closing after a failure: nothing more to release
      }
    }
    this.partitions.clear();
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
