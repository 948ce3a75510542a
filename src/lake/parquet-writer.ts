/**
 * Streaming Parquet writer on DuckDB (`@duckdb/node-api`): rows are appended in data chunks of 2,048 to an
 * in-memory DuckDB table, and every `partRows` rows the table is written with
 * `COPY … (FORMAT parquet, COMPRESSION zstd, …)` (parquet-compression.ts) to a local part file and dropped. Memory is therefore bounded by
 * one part (per open partition, and by `maxBufferedRows` across partitions), whatever the window's size.
 *
 * Why DuckDB and not hyparquet-writer / parquetjs-lite: see docs/raw-layer.md ("Parquet writer") and
 * bench/parquet-writers.ts — it was the fastest exact writer measured here, writes DECIMAL and TIMESTAMP with
 * statistics, and the reader uses the same engine. How each type is stored: lake-types.ts, docs/type-mapping.md.
 */
import { DuckDBDataChunk, DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType } from '@duckdb/node-bindings';
import { join } from 'node:path';
import { LakeValueError, duckdbTypeSql, storedColumns } from './lake-types.js';
import type { LakeColumn, LakeValue } from '../domain/values.js';
import type { PackedColumn } from './parquet-writer-thread-protocol.js';
import { ChunkFiller } from './parquet-writer-vectors.js';
import { copyCompressionSql } from './parquet-compression.js';
import { DEFAULT_PARQUET_COMPRESSION, type ParquetCompression } from '../config/types.js';

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DuckDB SQL. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
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
  /** The part files' codec (and zstd level); default {@link DEFAULT_PARQUET_COMPRESSION}. */
  readonly compression?: ParquetCompression;
  /** File name of a part (no directory); default `<partition>-<index>.parquet` sanitised. */
  readonly fileName?: (partition: string, partIndex: number) => string;
  /** DuckDB memory limit, default '512MB'. */
  readonly memoryLimit?: string;
  /**
   * DuckDB threads (encoding a part), default 1: a second thread cost 12–24% more CPU per encoded row and buys no
   * wall time on a worker whose cores are already busy reading (docs/performance.md, branch i14-zstd).
   */
  readonly threads?: number;
}

interface OpenPartition {
  readonly table: string;
  appender: DuckDBAppender;
  /** The chunk being filled (parquet-writer-vectors.ts), appended when full and at the part's end. */
  filler: ChunkFiller;
  /** The filler's chunk as the appender takes it. */
  chunk: DuckDBDataChunk;
  rowsInPart: number;
  nextPartIndex: number;
}

/**
 * Writes rows into Parquet part files (zstd unless told otherwise), partitioned by a caller-given key, with bounded memory.
 * Not safe for concurrent use; `append` is synchronous except when a part is flushed.
 */
export class ParquetWriter {
  private readonly partitions = new Map<string, OpenPartition>();
  /** The files' columns (stored columns). */
  private readonly stored: LakeColumn[];
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
  }

  static async create(options: ParquetWriterOptions): Promise<ParquetWriter> {
    const partRows = options.partRows ?? 500_000;
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: options.memoryLimit ?? '512MB',
      threads: String(options.threads ?? 1),
    });
    const conn = await instance.connect();
    return new ParquetWriter(instance, conn, {
      columns: options.columns,
      dir: options.dir,
      partRows,
      maxBufferedRows: options.maxBufferedRows ?? 2 * partRows,
      rowGroupRows: options.rowGroupRows ?? 122_880,
      compression: options.compression ?? DEFAULT_PARQUET_COMPRESSION,
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
    const types: LogicalType[] = [];
    for (let i = 0; i < appender.columnCount; i++) types.push(appender.columnType(i).toLogicalType().logical_type);
    const filler = new ChunkFiller(this.opts.columns, types);
    const p: OpenPartition = {
      table,
      appender,
      filler,
      chunk: new DuckDBDataChunk(filler.chunk),
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
    // A refused value leaves the row uncounted: the next row overwrites its slot.
    p.filler.putRow(row);
    p.rowsInPart++;
    this.buffered++;
    if (p.filler.free === 0) this.appendChunk(p);
    if (p.rowsInPart >= this.opts.partRows) return this.flushPartition(partition);
    if (this.buffered >= this.opts.maxBufferedRows) return this.flushFullest();
    return undefined;
  }

  /**
   * Appends rows `from .. from + count` of a packed batch (parquet-writer-thread-protocol.ts: one array or one
   * packed text per column) to a partition, column by column: what {@link append} does for each row, without
   * making a row or, for short text, a string. `textAt` holds, per text column, where row `from`'s value starts
   * in its text; it is advanced past the rows written. Throws {@link LakeValueError} on an inexact value, after
   * which the writer must be closed (rows of the failing call may be partly written).
   */
  async appendPacked(
    partition: string,
    columns: readonly PackedColumn[],
    textAt: Int32Array,
    from: number,
    count: number,
  ): Promise<void> {
    if (this.closed) throw new Error('ParquetWriter is closed');
    if (columns.length !== this.opts.columns.length)
      throw new LakeValueError('(row)', `expected ${this.opts.columns.length} values, got ${columns.length}`);
    let k = from;
    const end = from + count;
    while (k < end) {
      const p =
        this.partitions.get(partition) ?? (await this.openPartition(partition, this.nextIndex.get(partition) ?? 0));
      const n = Math.min(
        end - k,
        p.filler.free,
        this.opts.partRows - p.rowsInPart,
        Math.max(1, this.opts.maxBufferedRows - this.buffered),
      );
      p.filler.putPacked(columns, textAt, k, n);
      k += n;
      p.rowsInPart += n;
      this.buffered += n;
      if (p.filler.free === 0) this.appendChunk(p);
      if (p.rowsInPart >= this.opts.partRows) await this.flushPartition(partition);
      else if (this.buffered >= this.opts.maxBufferedRows) await this.flushFullest();
    }
  }

  private appendChunk(p: OpenPartition): void {
    if (p.filler.rows === 0) return;
    p.filler.seal();
    p.appender.appendDataChunk(p.chunk);
    p.filler.reset();
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
        `COPY ${p.table} TO ${quoteLiteral(localPath)} (FORMAT parquet, ${copyCompressionSql(this.opts.compression)}, ROW_GROUP_SIZE ${this.opts.rowGroupRows})`,
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
