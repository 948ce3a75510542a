/**
 * The commit protocol of one window: stage → validate → commit manifest → advance watermark (and the audit
 * entry of each commit), one module per step. This module names the steps and re-exports them, so a caller can
 * import the protocol from one place.
 *
 * Each step is a plain function that Temporal activities wrap. Inputs and outputs carry positions, paths,
 * counts and checksums only — never row values — so they may be recorded in workflow histories.
 *
 * - stage (stage-window.ts): Parquet parts uploaded with `If-None-Match: *` under names unique to (window,
 *   attempt); a retry or zombie attempt writes different names, which no manifest references.
 * - validate (validate-window.ts): re-reads the staged files (MD5-verified) with DuckDB and checks them against
 *   the staged counts, the registered schema, key nulls and (key, position) uniqueness; computes control totals.
 * - commit (commit-manifest.ts, manifest.ts): the manifest `_manifests/<seq>.json` created with
 *   `If-None-Match: *` is the commit point; the same window again is a no-op, a different one a
 *   `WindowConflictError`. The audit entry (audit-ledger.ts) follows, idempotently.
 * - advance (watermark.ts, table-position.ts): the watermark pointer moves by ETag compare-and-swap to the
 *   newest committed window and the position the manifests give; it never moves backwards.
 */
export type { LakeTable } from './lake-table.js';
export { stageWindow, type ChangeEvent, type StageWindowInput, type StagedAttempt } from './stage-window.js';
export {
  dataFileColumns,
  validateWindow,
  type ValidateWindowInput,
  type ValidateWindowOutput,
} from './validate-window.js';
export { decodeControlTotals, encodeControlTotals, type ControlTotals } from './control-totals.js';
export {
  MANIFEST_FORMAT,
  committedSequences,
  readManifest,
  resumePositionOf,
  windowOf,
  windowRefOf,
  type ChunkRef,
  type Manifest,
  type ManifestWindow,
  type WindowRef,
} from './manifest.js';
export { commitManifest, type CommitManifestInput, type CommitManifestOutput } from './commit-manifest.js';
export { AUDIT_FORMAT } from './audit-ledger.js';
export {
  WATERMARK_FORMAT,
  advanceWatermark,
  readWatermark,
  type AdvanceWatermarkInput,
  type AdvanceWatermarkOutput,
  type Watermark,
} from './watermark.js';
export { tablePosition, type TablePosition } from './table-position.js';
