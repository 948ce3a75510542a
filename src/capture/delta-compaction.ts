/**
 * The nightly compaction of one table (and `tidemark compact` for one day): publish the Delta log up to the last
 * committed manifest, then compact each closed day that has small files (lake/delta/compaction.ts), oldest
 * first, at most `maxDays` per run so a first run over a long-existing lake spreads over several nights.
 *
 * A day is closed once `closedAfterMs` (default 24 h) has passed since it ended (UTC): windows landing events of
 * a day stop soon after it ends, so its files are final. Correctness never depends on it — a file landing in a
 * compacted day later is simply compacted by a later run.
 *
 * A refused Delta publication (a schema Delta cannot declare, a foreign version: capture/delta-publication.ts)
 * means no compaction either: the log waits for the operator, and so does the compaction (reported as refused).
 */
import {
  compactDay,
  daysToCompact,
  deltaHead,
  DEFAULT_COMPACTION_TARGET_BYTES,
  type CompactionReport,
} from '../lake/delta/compaction.js';
import { liveFiles } from '../lake/delta/live-files.js';
import { DeltaLogPaths } from '../lake/delta/log-paths.js';
import { DEFAULT_CHECKPOINT_INTERVAL } from '../lake/delta/protocol.js';
import { TableLayout } from '../lake/layout.js';
import type { LakeTable } from '../lake/lake-table.js';
import { ConfigError } from '../config/config-error.js';
import { findTable } from '../config/tables.js';
import type { TableRef } from '../domain/table.js';
import type { ParquetCompression } from '../config/types.js';
import type { Logger } from '../util/logger.js';
import { logLastCheckpointRefused, publishTableDelta } from './delta-publication.js';
import type { CaptureDeps } from './deps.js';

/** Days compacted per run at most. */
export const DEFAULT_COMPACTION_MAX_DAYS = 7;
/** Time after a day's end (UTC) before it counts as closed. */
export const DEFAULT_CLOSED_AFTER_MS = 24 * 3_600_000;

export interface CompactTableInput {
  readonly lake: LakeTable;
  readonly logger: Logger;
  /** One day only (`YYYY-MM-DD`, closed or not: the operator asked for it); default: every closed day. */
  readonly day?: string;
  readonly targetFileBytes?: number;
  /** The compacted files' compression (config `sink.parquet`); default zstd level 3. */
  readonly compression?: ParquetCompression;
  readonly maxDays?: number;
  readonly closedAfterMs?: number;
  /** The clock (epoch ms), for which days are closed. */
  readonly now?: number;
  readonly checkpointInterval?: number;
  readonly scratchDir?: string;
  /** Called after each day (activities heartbeat with it). */
  readonly onDay?: (report: CompactionReport) => void;
}

/** What a table's compaction run did (counts, bytes, timings; never a row value). */
export interface CompactTableOutput {
  readonly days: CompactionReport[];
  /** Totals over the compacted days. */
  readonly filesRemoved: number;
  readonly filesAdded: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly durationMs: number;
  /** Why nothing was compacted: the Delta publication was refused (see docs/operations.md). */
  readonly refused?: string;
}

/** The UTC date before which days are closed at `now`. */
export function closedBefore(now: number, closedAfterMs: number): string {
  return new Date(now - closedAfterMs).toISOString().slice(0, 10);
}

/** Compacts a table's closed days (or one given day). Idempotent: a rerun finds nothing left to do. */
export async function compactTable(input: CompactTableInput): Promise<CompactTableOutput> {
  const started = Date.now();
  const { lake, logger } = input;
  const target = input.targetFileBytes ?? DEFAULT_COMPACTION_TARGET_BYTES;
  const interval = input.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
  const scratch = input.scratchDir !== undefined ? { scratchDir: input.scratchDir } : {};
  const done = (days: CompactionReport[], refused?: string): CompactTableOutput => {
    const compacted = days.filter((d) => d.status === 'compacted');
    return {
      days,
      filesRemoved: compacted.reduce((n, d) => n + d.filesRemoved, 0),
      filesAdded: compacted.reduce((n, d) => n + d.filesAdded, 0),
      bytesBefore: compacted.reduce((n, d) => n + d.bytesBefore, 0),
      bytesAfter: compacted.reduce((n, d) => n + d.bytesAfter, 0),
      durationMs: Date.now() - started,
      ...(refused !== undefined ? { refused } : {}),
    };
  };

  // Every publication call writes at most a bounded number of versions: catch up fully before planning.
  for (;;) {
    const published = await publishTableDelta({ lake, logger, checkpointInterval: interval, ...scratch });
    if (published.refused !== undefined) return done([], published.refused);
    if (published.written === 0) break;
  }
  let days: string[];
  if (input.day !== undefined) days = [input.day];
  else {
    const paths = new DeltaLogPaths(lake.layout);
    const head = await deltaHead(lake, paths);
    if (!head) return done([]);
    const live = await liveFiles({ lake, paths, version: head.version, interval, ...scratch });
    const before = closedBefore(input.now ?? Date.now(), input.closedAfterMs ?? DEFAULT_CLOSED_AFTER_MS);
    days = daysToCompact(live, before, target).slice(0, input.maxDays ?? DEFAULT_COMPACTION_MAX_DAYS);
  }
  const reports: CompactionReport[] = [];
  for (const commitDate of days) {
    const report = await compactDay({
      lake,
      commitDate,
      targetFileBytes: target,
      checkpointInterval: interval,
      ...(input.compression ? { compression: input.compression } : {}),
      ...scratch,
    });
    logger.info(
      {
        commitDate,
        status: report.status,
        deltaVersion: report.version,
        files: [report.filesBefore, report.filesAfter],
        bytes: [report.bytesBefore, report.bytesAfter],
        rows: report.rows,
        durationMs: report.durationMs,
      },
      'delta partition compacted',
    );
    if (report.lastCheckpointRefused !== undefined) logLastCheckpointRefused(logger, report.lastCheckpointRefused);
    reports.push(report);
    input.onDay?.(report);
  }
  return done(reports);
}

/** A configured table's place in the lake, without touching the source (the compaction reads the lake only). */
export function lakeTableOf(
  deps: Pick<CaptureDeps, 'config' | 'store' | 'stateStore'>,
  ref: Pick<TableRef, 'id'>,
): LakeTable {
  const config = findTable(deps.config, ref.id);
  if (!config)
    throw new ConfigError([
      {
        path: 'tables',
        message: `table ${ref.id} is not in the configuration this worker loaded`,
        fix: 'correct the tables section of the configuration and restart the worker',
      },
    ]);
  const layout = new TableLayout(deps.config.sink.prefix, {
    db: deps.config.source.database,
    schema: config.schema,
    table: config.table,
  });
  return { store: deps.store, layout, ...(deps.stateStore ? { stateStore: deps.stateStore } : {}) };
}
