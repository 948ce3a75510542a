/**
 * Where the lake says a table stands, from its manifests alone (the truth; the watermark pointer is rebuilt from
 * them): the position incremental sync resumes from, and the last committed sequence.
 */
import type { LakeTable } from './lake-table.js';
import { committedSequences, readManifest, resumePositionOf, windowOf } from './manifest.js';

export interface TablePosition {
  /** The position incremental sync resumes from, or null when the table has no complete load yet. */
  readonly position: string | null;
  /** The last committed manifest sequence considered (0 when none). */
  readonly lastSeq: number;
}

/**
 * The position as of window `lastSeq` (default: the newest of the unbroken chain). Walks the chain backwards:
 * the newest change window gives the position (where the window after it starts); a snapshot whose last chunk is
 * committed gives the position it was read at; a snapshot without its last chunk is incomplete (→ null: redo
 * it). Backfill, sweep and reconciliation chunks do not move the position.
 */
export async function tablePosition(lake: LakeTable, lastSeq?: number): Promise<TablePosition> {
  const last = lastSeq ?? (await committedSequences(lake)).length;
  for (let seq = last; seq >= 1; seq--) {
    const m = await readManifest(lake, seq);
    if (!m) break;
    const { chunk, to } = windowOf(m);
    if (!chunk) return { position: resumePositionOf(m), lastSeq: last };
    if (chunk.kind === 'snapshot')
      return { position: chunk.count > 0 && chunk.index === chunk.count - 1 ? to : null, lastSeq: last };
  }
  return { position: null, lastSeq: last };
}
