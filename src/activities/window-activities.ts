/**
 * The activities of one incremental window: readWatermark, planWindow, extractWindow (or one extractSubRange per
 * sub-range of a split window), validateWindow,
 * commitManifest (then the Delta log's publication), advanceWatermark — each thin over src/capture (plan, read → stage) and src/lake (the commit
 * protocol). Everything returned carries positions, paths, counts and timings only.
 */
import { Context } from '@temporalio/activity';
import { tablePosition } from '../lake/table-position.js';
import { advanceWatermark as lakeAdvanceWatermark } from '../lake/watermark.js';
import { commitManifest as lakeCommitManifest } from '../lake/commit-manifest.js';
import { allSettledOrThrow } from '../util/settle-all.js';
import { windowRefOf } from '../lake/manifest.js';
import { decodeControlTotals, encodeControlTotals } from '../lake/control-totals.js';
import { validateWindow as lakeValidateWindow } from '../lake/validate-window.js';
import { readSchema, type SchemaDoc } from '../lake/schema-registry.js';
import { LakeIntegrityError } from '../lake/errors.js';
import type {
  AdvanceWatermarkInput,
  AdvanceWatermarkOutput,
  CommitManifestInput,
  CommitManifestOutput,
  ExtractSubRangeInput,
  ExtractWindowInput,
  ExtractWindowOutput,
  PlanWindowInput,
  PlanWindowOutput,
  ReadWatermarkInput,
  ReadWatermarkOutput,
  ValidateWindowInput,
  ValidateWindowOutput,
} from './contracts.js';
import type { TableRef } from '../domain/table.js';
import type { ActivityDeps } from './dependencies.js';
import { activityProgress } from './heartbeat.js';
import { extractWindow as captureWindow, planWindow as planSourceWindow } from '../capture/window.js';
import { tableContext, tableLakeContext, type TableLakeContext } from '../capture/table-context.js';
import { publishTableDelta } from '../capture/delta-publication.js';
import { checkAtSource, checkPositionBounds, sourceCheckDue } from '../capture/receipt.js';

export function windowActivities(deps: ActivityDeps) {
  const log = (ref: TableRef) => deps.logger.child({ table: ref.id });

  async function readWatermark(input: ReadWatermarkInput): Promise<ReadWatermarkOutput> {
    const ctx = await tableContext(deps, input.table);
    const out = { ...(await tablePosition(ctx.lake)) };
    log(input.table).info(
      { lastSeq: out.lastSeq, hasPosition: out.position !== null },
      'watermark read from manifests',
    );
    return out;
  }

  async function planWindow(input: PlanWindowInput): Promise<PlanWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    return planSourceWindow(ctx, input.lastPosition, input.seq, { split: input.subRangeActivity === true });
  }

  async function extractWindow(input: ExtractWindowInput): Promise<ExtractWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    return captureWindow(deps, ctx, activityProgress(), input.window, input.attempt, input.subRange);
  }

  async function extractSubRange(input: ExtractSubRangeInput): Promise<ExtractWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    return captureWindow(deps, ctx, activityProgress(), input.window, input.attempt, input.subRange);
  }

  // validate, commit and advance work on the lake alone (tableLakeContext): no catalog queries at the source,
  // which cost each of them seconds on a loaded source. Only a window due a source check asks the source.
  async function validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput> {
    const ctx = tableLakeContext(deps, input.table);
    const schema = await schemaVersion(ctx, input.extract.schemaVersion);
    const v = await lakeValidateWindow({
      lake: ctx.lake,
      schema,
      window: windowRefOf(input.window),
      staged: input.extract,
      ...(deps.scratchDir ? { scratchDir: deps.scratchDir } : {}),
      controlColumns: ctx.config.quality?.controlTotals ?? [],
    });
    // Before the source check: events outside the bounds would also make the source's totals differ, and the
    // bounds are the more precise reason.
    checkPositionBounds(ctx, input.window, input.extract);
    const checked = sourceCheckDue(ctx, input.window)
      ? await checkAtSource(await tableContext(deps, input.table), input.window, v.controlTotals)
      : { controlTotals: v.controlTotals };
    return {
      controlTotals: encodeControlTotals(checked.controlTotals),
      ...(checked.sourceRowsRead !== undefined ? { sourceRowsRead: checked.sourceRowsRead } : {}),
    };
  }

  async function commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput> {
    const ctx = tableLakeContext(deps, input.table);
    const out = await lakeCommitManifest({
      lake: ctx.lake,
      window: windowRefOf(input.window, input.extract.resumePosition),
      staged: input.extract,
      validated: { controlTotals: decodeControlTotals(input.validation.controlTotals) },
      committedBy: committedBy(),
    });
    log(input.table).info(
      { window: input.window.seq, kind: input.window.kind, rows: out.rows, files: out.files, status: out.status },
      'window committed',
    );
    // Both follow the manifest and neither needs the other, so they run at once (each is a few storage round
    // trips, one after the other). The Delta log (capture/delta-publication.ts): a retry of this activity after a
    // crash here finds the manifest committed and publishes again; a Delta refusal is logged, never thrown. The
    // watermark: after the manifest, never before it (lake/watermark.ts checks it is there); a retry advances
    // again, which moves nothing twice (the watermark never moves backwards).
    const [delta] = await allSettledOrThrow([
      publishTableDelta({
        lake: ctx.lake,
        logger: log(input.table),
        ...(deps.scratchDir ? { scratchDir: deps.scratchDir } : {}),
      }),
      input.advanceWatermark ? lakeAdvanceWatermark({ lake: ctx.lake, sequence: input.window.seq }) : undefined,
    ]);
    return {
      manifestPath: out.manifestPath,
      alreadyCommitted: out.status === 'already-committed',
      resumePosition: out.resumePosition,
      deltaVersion: delta.version,
    };
  }

  async function advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput> {
    const ctx = tableLakeContext(deps, input.table);
    // The pointer carries the sync position the manifests give (a job's chunk windows do not move it), so
    // `_state/watermark.json` still says where incremental sync stands after a backfill, sweep or reconciliation.
    await lakeAdvanceWatermark({ lake: ctx.lake, sequence: input.seq });
    return { position: input.position };
  }

  return {
    readWatermark,
    planWindow,
    extractWindow,
    extractSubRange,
    validateWindow,
    commitManifest,
    advanceWatermark,
  };
}

async function schemaVersion(ctx: TableLakeContext, version: number): Promise<SchemaDoc> {
  const schema = await readSchema(ctx.lake.store, ctx.lake.layout, version);
  if (!schema)
    throw new LakeIntegrityError(
      `Schema version ${version} is not registered`,
      ctx.ref.id,
      ctx.lake.layout.schemasPrefix,
    );
  return schema;
}

/** Who commits: `<workflow id>/<activity id>` of the running activity ("tidemark" outside one, as in tests). */
function committedBy(): string {
  try {
    const info = Context.current().info;
    return `${info.workflowExecution?.workflowId ?? info.workflowType ?? 'workflow'}/${info.activityId}`;
  } catch {
    return 'tidemark';
  }
}
