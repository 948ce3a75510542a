/**
 * Validate: proves a window's staged files are in the store as staged — each present, of the recorded size and
 * the recorded MD5 (the store's properties, one HEAD per file; no download) — and the staged record consistent
 * (schema version, file rows adding up to the window's rows, op counts adding up to it), then computes the
 * control totals the manifest records (rows, rows per op). Nothing is committed unless every check passes.
 *
 * What the files hold was checked before upload, on the local parts (lake/check-parts.ts: row counts per file and
 * per op, schema, key nulls, (key, position) uniqueness, window id), and the upload stores exactly the bytes
 * hashed (every block MD5-checked by the store, the file's MD5 recorded as its Content-MD5). So an MD5 and size
 * equal to the staged record prove the checked bytes are the stored ones, without reading them back. The sums of
 * the control-total columns were computed on the same local parts (check-parts.ts) and come with the staged
 * record; only a record staged without them (before they were recorded) downloads its files to sum them
 * (lake/control-sums.ts).
 */
import { CHANGE_OPS } from '../domain/values.js';
import type { ControlTotals } from './control-totals.js';
import { controlSums } from './control-sums.js';
import { WindowValidationError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import type { WindowRef } from './manifest.js';
import type { SchemaDoc } from './schema-registry.js';
import type { StagedAttempt } from './stage-window.js';

export { dataFileColumns } from './check-parts.js';

export interface ValidateWindowInput {
  readonly lake: LakeTable;
  readonly schema: SchemaDoc;
  /** The window validated (its sequence names the failure). */
  readonly window: WindowRef;
  readonly staged: StagedAttempt;
  /** Parent of the scratch directory the control sums download to (the OS temp directory by default). */
  readonly scratchDir?: string;
  /** Numeric columns whose sums over the `c`, `u` and `r` events become control totals (`tables[].quality`). */
  readonly controlColumns?: readonly string[];
}

export interface ValidateWindowOutput {
  readonly controlTotals: ControlTotals;
}

/** Files at most this many HEAD requests at once. */
const CONCURRENT_HEADS = 8;

/**
 * Validate: every staged file present in the store with the staged size and MD5, the record consistent. Throws
 * {@link WindowValidationError} listing every problem.
 */
export async function validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput> {
  const { lake, schema, staged } = input;
  const problems: string[] = [];
  if (staged.schemaVersion !== schema.version)
    problems.push(`staged with schema version ${staged.schemaVersion}, validating against ${schema.version}`);
  if (staged.files.length === 0 && staged.rows !== 0) problems.push(`extracted ${staged.rows} rows but staged no file`);
  const fileRows = staged.files.reduce((n, f) => n + f.rows, 0);
  if (staged.files.length > 0 && fileRows !== staged.rows)
    problems.push(`staged files hold ${fileRows} rows, extracted ${staged.rows}`);
  const opRows = CHANGE_OPS.reduce((n, op) => n + staged.opCounts[op], 0);
  if (opRows !== staged.rows) problems.push(`op counts add up to ${opRows} rows, extracted ${staged.rows}`);
  for (let i = 0; i < staged.files.length; i += CONCURRENT_HEADS) {
    const batch = staged.files.slice(i, i + CONCURRENT_HEADS);
    const props = await Promise.all(batch.map((f) => lake.store.properties(lake.layout.resolve(f.path))));
    batch.forEach((f, j) => {
      const p = props[j];
      if (!p) problems.push(`${f.path}: not in the store`);
      else {
        if (p.bytes !== f.bytes) problems.push(`${f.path}: size differs from the staged record`);
        if (p.md5 !== f.md5) problems.push(`${f.path}: MD5 differs from the staged record`);
      }
    });
  }
  const columns = input.controlColumns ?? [];
  const sums =
    problems.length > 0
      ? {}
      : (stagedSums(staged, columns) ??
        (await controlSums(
          { lake, staged, columns, ...(input.scratchDir !== undefined ? { scratchDir: input.scratchDir } : {}) },
          problems,
        )));
  if (problems.length) throw new WindowValidationError(lake.layout.id, input.window.sequence, problems);
  // The parts were refused before upload on a NULL key or a duplicate (key, position): a receipt records them as 0.
  return {
    controlTotals: {
      rows: staged.rows,
      rowsByOp: { ...staged.opCounts },
      sums,
      receipt: { nullKeys: 0, duplicateKeyPositions: 0 },
    },
  };
}

/** The staged record's sums of `columns`, when it has one for each (else undefined: they are computed). */
function stagedSums(staged: StagedAttempt, columns: readonly string[]): Record<string, string | null> | undefined {
  if (columns.length === 0) return {};
  const recorded = staged.controlSums;
  if (!recorded || !columns.every((c) => Object.hasOwn(recorded, c))) return undefined;
  return Object.fromEntries(columns.map((c) => [c, recorded[c] ?? null]));
}
