/**
 * What `tidemark status` shows beside the workflow's status query, from the other two sources of truth:
 *
 * - the lake's manifests (no worker needed): the **last data-quality result** (the newest manifest's receipt) and
 *   the **freshness** bound of the newest window that landed events;
 * - the source's catalog (the retention functions of src/source/retention.ts, the worker's probe uses the same):
 *   the **retention horizon**, hours until CDC cleanup or Change Tracking retention overtakes the table's
 *   committed position.
 *
 * Each is best effort: a lake or source that cannot be read makes its values `unknown` with the reason, never a
 * failure of `status` (status is what an operator runs when something is wrong).
 */
import type { TableConfig, TidemarkConfig } from '../../config/types.js';
import type { CaptureStrategyName, TableRef } from '../../domain/table.js';
import { windowOf, type Manifest } from '../../lake/manifest.js';
import type { TableSyncStatus } from '../../state/table-sync-state.js';
import { stopFailureType } from '../../state/failure-policy.js';
import { maskSecretsInText } from '../../util/logger.js';

/** The freshness of the newest window that landed events, as an upper bound (see {@link freshnessBound}). */
export interface StatusFreshness {
  /** At most this many seconds passed between an event's source commit and its manifest. */
  readonly seconds: number;
  /** Always `upper_bound` today (as the metric's `basis`): no strategy's commit time is read per event here. */
  readonly basis: 'upper_bound';
  /** The manifest sequence of that window. */
  readonly window: number;
}

/** Hours until the source's change retention overtakes the table's committed position. */
export interface StatusRetentionHorizon {
  /** What removes changes at the source; null for strategies that read the table itself (no horizon: `-`). */
  readonly by: 'cdc_cleanup' | 'change_tracking' | null;
  /** The source's retention in hours; null when `by` is null or it could not be read. */
  readonly retentionHours: number | null;
  /** Retention − how far behind the committed position is; null when `by` is null or not known (`unknown`). */
  readonly hours: number | null;
  /** Why `hours` is not known, when `by` is set and it is not. */
  readonly unknown?: string;
}

/** The last data-quality result of a table. */
export interface StatusDataQuality {
  /**
   * `passed`: the newest manifest's receipt (a committed window passed every check); `failed`: the table stopped
   * on a DataQualityError (the window was not committed); `no receipt`: no manifest yet, or one written before
   * receipts existed; `unknown`: the lake could not be read.
   */
  readonly result: 'passed' | 'failed' | 'no receipt' | 'unknown';
  /** The manifest sequence the receipt is from (passed). */
  readonly window?: number;
  /** The checks the receipt records, each with its count (all 0 when passed). */
  readonly checks?: { readonly nullKeys: number; readonly duplicateKeyPositions: number };
  /** Whether the window's totals were compared at the source (`quality.sourceCheckEvery`) and agreed. */
  readonly source?: 'agreed' | 'not sampled';
  /** Rows the source comparison read (its cost), when compared. */
  readonly sourceRowsRead?: number;
  /** Why it failed (the stop reason) or is unknown. */
  readonly reason?: string;
}

/** What the lake says of a table. */
export interface LakeFacts {
  readonly newest: Manifest | null;
  readonly freshness: StatusFreshness | null;
  /** Set when the lake could not be read. */
  readonly error?: string;
}

/** How many manifests back the freshness bound is looked for (idle tables commit empty windows). */
const FRESHNESS_LOOKBACK = 20;

/** How long status waits for the source or the lake before showing `unknown`. */
export const DETAILS_TIMEOUT_MS = 15_000;

const message = (err: unknown): string => maskSecretsInText(err instanceof Error ? err.message : String(err));

/** `p`, or a rejection after `ms` (its timer does not keep the process alive). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Upper bound of the freshness (source commit → manifest) of the events of change window N: every event of N
 * committed at the source after N's lower bound was read, which is when the previous change window P was planned;
 * a table's turns run one at a time, so P was planned after manifest P−1 committed. Hence every event of N waited
 * at most committedAt(N) − committedAt(P−1) (plus the safety lag for updated_at, whose bounds stay that far behind
 * the source clock). Null when the manifests do not show both (the first windows, or none within the lookback).
 */
export function freshnessBound(
  manifests: readonly Manifest[],
  committedAt: (seq: number) => string | undefined,
  safetyLagMs: number,
): StatusFreshness | null {
  // manifests: newest first, consecutive sequences.
  const changes = manifests.filter((m) => windowOf(m).chunk === undefined);
  const newest = changes.find((m) => m.controlTotals.rows > 0);
  if (!newest) return null;
  const previous = changes.find((m) => m.sequence < newest.sequence);
  if (!previous) return null;
  const before = committedAt(previous.sequence - 1);
  if (before === undefined) return null;
  const seconds = (Date.parse(newest.committedAt) - Date.parse(before) + safetyLagMs) / 1000;
  return { seconds: Math.max(0, Math.round(seconds)), basis: 'upper_bound', window: newest.sequence };
}

/** The newest manifest and the freshness bound, from the lake's manifests. */
export async function lakeFacts(config: TidemarkConfig, table: TableConfig): Promise<LakeFacts> {
  try {
    return await within(readLakeFacts(config, table), DETAILS_TIMEOUT_MS, 'the lake');
  } catch (err) {
    return { newest: null, freshness: null, error: message(err) };
  }
}

async function readLakeFacts(config: TidemarkConfig, table: TableConfig): Promise<LakeFacts> {
  const { AzureBlobStore } = await import('../../lake/blob-store.js');
  const { TableLayout } = await import('../../lake/layout.js');
  const { committedSequences, readManifest } = await import('../../lake/manifest.js');
  const { resolveSecret } = await import('../../config/secrets.js');
  const sink = config.sink;
  const reach =
    sink.auth === 'connectionString'
      ? { connectionString: await resolveSecret(sink.connectionString) }
      : { accountUrl: sink.accountUrl };
  const store = new AzureBlobStore({ container: sink.container, ...reach, maxTries: 2 });
  const lake = {
    store,
    layout: new TableLayout(sink.prefix, { db: config.source.database, schema: table.schema, table: table.table }),
  };
  const seqs = await committedSequences(lake);
  const manifests: Manifest[] = [];
  for (let seq = seqs.length; seq >= 1 && manifests.length <= FRESHNESS_LOOKBACK; seq--) {
    const m = await readManifest(lake, seq);
    if (!m) break;
    manifests.push(m);
  }
  const at = new Map(manifests.map((m) => [m.sequence, m.committedAt]));
  const safetyLagMs = table.capture.strategy === 'updated_at' ? table.capture.safetyLag.ms : 0;
  return { newest: manifests[0] ?? null, freshness: freshnessBound(manifests, (s) => at.get(s), safetyLagMs) };
}

/** The last data-quality result: a stop on a DataQualityError, else the newest manifest's receipt. */
export function lastDataQuality(status: TableSyncStatus | null, lake: LakeFacts): StatusDataQuality {
  if (status?.stoppedReason && stopFailureType(status.stoppedReason) === 'DataQualityError')
    return { result: 'failed', reason: status.stoppedReason };
  if (lake.error !== undefined) return { result: 'unknown', reason: `the lake could not be read: ${lake.error}` };
  const receipt = lake.newest?.controlTotals.receipt;
  if (!lake.newest || !receipt)
    return { result: 'no receipt', ...(lake.newest ? { window: lake.newest.sequence } : {}) };
  return {
    result: 'passed',
    window: lake.newest.sequence,
    checks: { nullKeys: receipt.nullKeys, duplicateKeyPositions: receipt.duplicateKeyPositions },
    source: receipt.source ? 'agreed' : 'not sampled',
    ...(receipt.source ? { sourceRowsRead: receipt.source.sourceRowsRead } : {}),
  };
}

/** What removes a strategy's changes at the source (null: it reads the table itself, nothing expires). */
export function retentionKind(strategy: CaptureStrategyName): StatusRetentionHorizon['by'] {
  return strategy === 'cdc' ? 'cdc_cleanup' : strategy === 'change_tracking' ? 'change_tracking' : null;
}

/** Seconds the source keeps changes, per strategy that has a retention; a failure is the reason, per strategy. */
export type SourceRetention = ReadonlyMap<CaptureStrategyName, number | string>;

/**
 * Reads each strategy's retention once (it is per database): seconds, or why it is unknown (the login may not
 * read `sys.sp_cdc_help_jobs`, the source is unreachable).
 */
export async function sourceRetention(config: TidemarkConfig, refs: readonly TableRef[]): Promise<SourceRetention> {
  const wanted = [...new Set(refs.map((r) => r.strategy).filter((s) => retentionKind(s) !== null))];
  const out = new Map<CaptureStrategyName, number | string>();
  if (wanted.length === 0) return out;
  const { SourceConnection } = await import('../../source/index.js');
  const { changeRetentionSeconds } = await import('../../source/retention.js');
  const { createSecretProvider } = await import('../../config/secret-provider.js');
  let conn: InstanceType<typeof SourceConnection> | undefined;
  try {
    const opening = SourceConnection.open(config.source, { secrets: createSecretProvider() });
    try {
      conn = await within(opening, DETAILS_TIMEOUT_MS, 'the source');
    } catch (err) {
      // A connection that opens after the timeout is closed again.
      opening.then((c) => c.close()).catch(() => undefined);
      throw err;
    }
    for (const strategy of wanted) {
      const seconds = await within(changeRetentionSeconds(conn, strategy), DETAILS_TIMEOUT_MS, 'the source');
      out.set(
        strategy,
        seconds ??
          (strategy === 'cdc'
            ? 'the CDC cleanup job is not readable by this login (sys.sp_cdc_help_jobs needs db_owner)'
            : 'Change Tracking is not enabled on the database, or not readable by this login'),
      );
    }
  } catch (err) {
    for (const strategy of wanted)
      if (!out.has(strategy)) out.set(strategy, `the source could not be read: ${message(err)}`);
  } finally {
    await conn?.close().catch(() => undefined);
  }
  return out;
}

/**
 * The retention horizon: the source's retention − how far behind the committed position is. "Behind" is the
 * larger of the status query's lag (how far the committed position was behind the source at the last planning)
 * and the time since the last commit (the committed position was read before it was committed, so it is at least
 * that old; this is what ages on an idle table, whose empty windows commit only every idleCommitInterval). Without
 * a worker's answer, the newest manifest's commit time stands in for the last commit.
 */
export function retentionHorizon(
  strategy: CaptureStrategyName,
  retention: SourceRetention,
  status: TableSyncStatus | null,
  lake: LakeFacts,
  nowMs: number,
): StatusRetentionHorizon {
  const by = retentionKind(strategy);
  if (by === null) return { by, retentionHours: null, hours: null };
  const kept = retention.get(strategy);
  if (kept === undefined || typeof kept === 'string')
    return { by, retentionHours: null, hours: null, unknown: kept ?? 'the source was not asked' };
  const retentionHours = round1(kept / 3600);
  const committedAt = status?.lastCommitted?.committedAt ?? lake.newest?.committedAt;
  if (committedAt === undefined)
    return { by, retentionHours, hours: null, unknown: 'no committed position yet (nothing to overtake)' };
  const behind = Math.max(status?.lagSeconds ?? 0, (nowMs - Date.parse(committedAt)) / 1000);
  return { by, retentionHours, hours: round1((kept - behind) / 3600) };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
