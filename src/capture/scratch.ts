/**
 * The one scaffold of the engine's local work on the lake: a scratch directory (the lake's withTempDir) and a
 * {@link LakeReader} over the table's committed files in it, both removed afterwards whatever happens. Row values
 * read here stay in the worker's scratch directory.
 */
import { join } from 'node:path';
import type { LakeTable } from '../lake/lake-table.js';
import { LakeReader } from '../lake/reader.js';
import { withTempDir } from '../lake/temp-dir.js';
import type { SchemaDoc } from '../lake/schema-registry.js';
import type { LakeColumn } from '../domain/values.js';

/** Runs `fn` with a LakeReader over `lake` and a scratch directory (`tidemark-<purpose>-…`), then cleans up. */
export async function withLakeReader<T>(
  lake: LakeTable,
  purpose: string,
  scratchDir: string | undefined,
  fn: (reader: LakeReader, scratch: string) => Promise<T>,
): Promise<T> {
  return withTempDir(`tidemark-${purpose}-`, scratchDir, async (scratch) => {
    const reader = await LakeReader.open({ lake, cacheDir: join(scratch, 'lake') });
    try {
      return await fn(reader, scratch);
    } finally {
      await reader.close();
    }
  });
}

/** The lake's current schema; throws `<tableId> has no schema in the lake…` + `hint` when nothing is loaded. */
export function lakeSchemaOf(reader: LakeReader, tableId: string, hint: string): SchemaDoc {
  const schema = reader.schema;
  if (!schema) throw new Error(`${tableId} has no schema in the lake${hint}`);
  return schema;
}

/** The lake columns of `keys` (source key column names, any case), in key order. */
export function lakeKeyColumns(schema: SchemaDoc, keys: readonly string[], tableId: string): LakeColumn[] {
  return keys.map((k) => {
    const c = schema.columns.find((s) => s.name.toLowerCase() === k.toLowerCase());
    if (!c) throw new Error(`key column ${k} of ${tableId} is not in the lake schema`);
    return c;
  });
}
