/**
 * The audit ledger: one immutable object per commit, `_audit/<seq>.json` — who committed which manifest (with
 * its MD5), when, the window, the schema version, rows and files. Never a row value.
 */
import { BlobAlreadyExistsError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import type { Manifest } from './manifest.js';

export const AUDIT_FORMAT = 'tidemark.audit/1';

/**
 * Creates the audit entry of a committed manifest. Idempotent: an entry already there (a retry, or an earlier
 * attempt that crashed right after its manifest and is completed now) is left as it is.
 */
export async function writeAuditEntry(
  lake: LakeTable,
  manifest: Manifest,
  manifestPath: string,
  manifestMd5: string,
): Promise<void> {
  const entry = {
    format: AUDIT_FORMAT,
    table: manifest.table,
    sequence: manifest.sequence,
    action: 'commit-window',
    manifest: manifestPath,
    manifestMd5,
    committedBy: manifest.committedBy,
    committedAt: manifest.committedAt,
    schemaVersion: manifest.schemaVersion,
    window: manifest.window,
    rows: manifest.controlTotals.rows,
    files: manifest.files.map((f) => ({ path: f.path, bytes: f.bytes, rows: f.rows, md5: f.md5 })),
  };
  try {
    await lake.store.putIfAbsent(lake.layout.auditPath(manifest.sequence), `${JSON.stringify(entry)}\n`, {
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof BlobAlreadyExistsError)) throw err;
  }
}
