/**
 * The nightly compaction activity: thin over capture/delta-compaction.ts. It reads and writes the lake only (no
 * source connection), heartbeats after each day, and returns counts, bytes and timings.
 */
import { compactTable as compactLakeTable, lakeTableOf } from '../capture/delta-compaction.js';
import type { CompactTableInput, CompactTableOutput, CompactionActivities } from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { heartbeat } from './heartbeat.js';

export function compactionActivities(deps: ActivityDeps): CompactionActivities {
  async function compactTable(input: CompactTableInput): Promise<CompactTableOutput> {
    const out = await compactLakeTable({
      lake: lakeTableOf(deps, input.table),
      logger: deps.logger.child({ table: input.table.id }),
      ...(input.day !== undefined ? { day: input.day } : {}),
      ...(input.targetFileBytes !== undefined ? { targetFileBytes: input.targetFileBytes } : {}),
      ...(input.maxDays !== undefined ? { maxDays: input.maxDays } : {}),
      ...(deps.scratchDir ? { scratchDir: deps.scratchDir } : {}),
      ...(deps.config.sink.parquet ? { compression: deps.config.sink.parquet } : {}),
      onDay: (d) => heartbeat({ commitDate: d.commitDate, status: d.status }),
    });
    return {
      days: out.days.map((d) => ({
        commitDate: d.commitDate,
        status: d.status,
        version: d.version,
        filesBefore: d.filesBefore,
        filesAfter: d.filesAfter,
        bytesBefore: d.bytesBefore,
        bytesAfter: d.bytesAfter,
        rows: d.rows,
        durationMs: d.durationMs,
      })),
      filesRemoved: out.filesRemoved,
      filesAdded: out.filesAdded,
      bytesBefore: out.bytesBefore,
      bytesAfter: out.bytesAfter,
      durationMs: out.durationMs,
      ...(out.refused !== undefined ? { refused: out.refused } : {}),
    };
  }
  return { compactTable };
}
