/**
 * The DuckDB `COPY … (FORMAT parquet, …)` options of a data file's compression (config `sink.parquet`): one place,
 * so the writer, its tests and its bench say the same.
 */
import { DEFAULT_PARQUET_COMPRESSION, type ParquetCompression } from '../config/types.js';

/** DuckDB's COPY options for a compression, e.g. `COMPRESSION zstd, COMPRESSION_LEVEL 3`. */
export function copyCompressionSql(c: ParquetCompression): string {
  if (c.codec !== 'zstd') return `COMPRESSION ${c.codec}`;
  return `COMPRESSION zstd, COMPRESSION_LEVEL ${c.level ?? DEFAULT_PARQUET_COMPRESSION.level ?? 3}`;
}
