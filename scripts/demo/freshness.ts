/**
 * Freshness of a table from the lake itself: for every change event whose source commit time is known
 * (`_commit_ts`, CDC), the time from that commit to its window's manifest being committed. p50/p95 in seconds.
 * One query serves the demo, `bench:e2e` (the whole run) and `bench:load` (a slice of it: `commitsBetween`).
 */
import { LakeReader } from '../../src/lake/reader.js';
import type { LakeTable } from '../../src/lake/lake-table.js';
import { quoteLiteral } from '../../src/lake/parquet-writer.js';

export interface Freshness {
  events: number;
  p50Seconds: number | null;
  p95Seconds: number | null;
}

/** Freshness of the events committed at the source in [t0Ms, t1Ms) (all events when absent). */
export async function lakeFreshness(
  lake: LakeTable,
  commitsBetween?: { t0Ms: number; t1Ms: number },
): Promise<Freshness> {
  const reader = await LakeReader.open({ lake });
  try {
    const windows = reader.manifests.map((m) => `(${m.sequence}, ${quoteLiteral(m.committedAt)}::TIMESTAMP)`);
    if (windows.length === 0) return { events: 0, p50Seconds: null, p95Seconds: null };
    const [row] = await reader.scalars(
      `WITH w(seq, committed) AS (VALUES ${windows.join(', ')}),
            lag AS (SELECT (epoch_ms(w.committed) - epoch_ms(c._commit_ts)) / 1000.0 AS s
                      FROM changes c JOIN w ON w.seq = c._window_id
                     WHERE c._commit_ts IS NOT NULL AND c._op IN ('c', 'u', 'd')${
                       commitsBetween
                         ? ` AND epoch_ms(c._commit_ts) >= ${commitsBetween.t0Ms} AND epoch_ms(c._commit_ts) < ${commitsBetween.t1Ms}`
                         : ''
                     })
       SELECT count(*)::BIGINT AS n, quantile_cont(s, 0.5) AS p50, quantile_cont(s, 0.95) AS p95 FROM lag`,
    );
    const n = Number(row?.n ?? 0);
    return {
      events: n,
      p50Seconds: n ? Number(row?.p50) : null,
      p95Seconds: n ? Number(row?.p95) : null,
    };
  } finally {
    await reader.close();
  }
}
