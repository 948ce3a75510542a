/**
 * Advance: the watermark pointer `_state/watermark.json` (the only mutable object of a table) is replaced by
 * compare-and-swap on its ETag; when missing or behind it is rebuilt from the manifests, which are the truth. It
 * never moves backwards, and carries the sync position the manifests give (a job's chunks do not move it).
 */
import { BlobAlreadyExistsError, ConditionNotMetError, LakeIntegrityError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import { committedSequences } from './manifest.js';
import { tablePosition } from './table-position.js';

export const WATERMARK_FORMAT = 'tidemark.watermark/1';

/** The watermark pointer as stored. */
export interface Watermark {
  readonly format: typeof WATERMARK_FORMAT;
  readonly table: string;
  /** Last committed window (0 = none). */
  readonly sequence: number;
  readonly manifest: string | null;
  /** Where incremental sync resumes as of that window ({@link tablePosition}), or null. */
  readonly position: string | null;
  readonly updatedAt: string;
}

export interface AdvanceWatermarkInput {
  readonly lake: LakeTable;
  /** The window just committed; the watermark moves at least to it (or further, if later ones are committed). */
  readonly sequence: number;
  readonly now?: () => Date;
}

export interface AdvanceWatermarkOutput {
  readonly sequence: number;
  readonly position: string | null;
  readonly manifest: string | null;
  /** `advanced`, `unchanged` (already there or beyond), or `rebuilt` (was missing). */
  readonly status: 'advanced' | 'unchanged' | 'rebuilt';
}

/** Reads the watermark (from the state store), or undefined. */
export async function readWatermark(lake: LakeTable): Promise<{ doc: Watermark; etag: string } | undefined> {
  const store = lake.stateStore ?? lake.store;
  const got = await store.get(lake.layout.watermarkPath);
  if (!got) return undefined;
  return { doc: JSON.parse(got.body.toString('utf8')) as Watermark, etag: got.etag };
}

/** Advance: moves the watermark to the highest committed window ≥ `sequence`, by ETag compare-and-swap. */
export async function advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput> {
  const { lake } = input;
  const { layout } = lake;
  const state = lake.stateStore ?? lake.store;
  const now = input.now ?? (() => new Date());
  if (!(await lake.store.exists(layout.manifestPath(input.sequence))))
    throw new LakeIntegrityError(
      `Window ${input.sequence} has no manifest: the watermark only moves to committed windows`,
      layout.id,
      layout.manifestPath(input.sequence),
    );
  for (let round = 0; round < 10; round++) {
    const current = await readWatermark(lake);
    const head = await chainHead(lake, current?.doc, input.sequence);
    if (current && current.doc.sequence >= head) return { ...pick(current.doc), status: 'unchanged' };
    const doc: Watermark = {
      format: WATERMARK_FORMAT,
      table: layout.id,
      sequence: head,
      manifest: head > 0 ? layout.manifestPath(head) : null,
      position: head > 0 ? (await tablePosition(lake, head)).position : null,
      updatedAt: now().toISOString(),
    };
    const body = `${JSON.stringify(doc, null, 2)}\n`;
    try {
      if (current)
        await state.replaceIfMatch(layout.watermarkPath, body, current.etag, { contentType: 'application/json' });
      else await state.putIfAbsent(layout.watermarkPath, body, { contentType: 'application/json' });
      return { ...pick(doc), status: current ? 'advanced' : 'rebuilt' };
    } catch (err) {
      if (!(err instanceof ConditionNotMetError) && !(err instanceof BlobAlreadyExistsError)) throw err;
      // Another advancer moved it: re-read and try again (it never moves backwards).
    }
  }
  throw new LakeIntegrityError('Watermark kept changing under compare-and-swap', layout.id, layout.watermarkPath);
}

/** The truth: the highest window of the unbroken manifest chain (from the pointer on, when there is one). */
async function chainHead(lake: LakeTable, current: Watermark | undefined, atLeast: number): Promise<number> {
  if (!current) return (await committedSequences(lake)).length;
  let head = Math.max(current.sequence, atLeast);
  while (await lake.store.exists(lake.layout.manifestPath(head + 1))) head++;
  return head;
}

function pick(w: Watermark): Omit<AdvanceWatermarkOutput, 'status'> {
  return { sequence: w.sequence, position: w.position, manifest: w.manifest };
}
