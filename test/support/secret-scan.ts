/**
 * Scanning what a run left behind (logs, the Temporal database, the lake's non-data objects, command output) for
 * values that must never be there: secrets and patient values. Plain byte search of each value's UTF-8 form —
 * what a person or a grep would find; SQLite and JSON store text as UTF-8.
 */
import type { BlobStore } from '../../src/lake/blob-store.js';

/** One place scanned, as bytes. */
export interface ScanSource {
  readonly name: string;
  readonly bytes: Buffer;
}

/** A value to look for, with what it is (the label is what a failure prints; never the value itself). */
export interface Needle {
  readonly label: string;
  readonly value: string;
}

/** Every (source, needle) pair where the needle occurs. */
export function scan(sources: readonly ScanSource[], needles: readonly Needle[]): string[] {
  const found: string[] = [];
  for (const source of sources)
    for (const needle of needles)
      if (source.bytes.includes(needle.value)) found.push(`${needle.label} in ${source.name}`);
  return found;
}

/** Every object of the lake but its data files (manifests, schemas, ledgers, the watermark, anything else). */
export async function lakeNonDataObjects(store: BlobStore, prefix = ''): Promise<ScanSource[]> {
  const out: ScanSource[] = [];
  for await (const item of store.list(prefix)) {
    if (item.path.endsWith('.parquet')) continue;
    const content = await store.get(item.path);
    if (content) out.push({ name: `lake:${item.path}`, bytes: content.body });
  }
  return out;
}
