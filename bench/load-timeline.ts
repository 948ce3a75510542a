/**
 * Per minute of a sustained-load run, from the lake itself: change events written in the source in that minute
 * (by their source commit time, `_commit_ts`), events landed (their window's manifest committed in that minute),
 * and the freshness (manifest committed − source commit) of the events written in that minute, p50/p95.
 * Counted after the run has drained, so every event written is in the lake (the bench checks the totals).
 */
import { LakeReader } from '../src/lake/reader.js';
import type { LakeTable } from '../src/lake/lake-table.js';
import { quoteLiteral } from '../src/lake/parquet-writer.js';
import { lakeFreshness, type Freshness } from '../scripts/demo/freshness.js';

export interface MinuteOfLake {
  minute: number;
  written: number;
  landed: number;
  freshnessP50Seconds: number | null;
  freshnessP95Seconds: number | null;
}

/** Minutes counted from `t0Ms` (epoch ms); events before it (the initial load, earlier phases) are left out. */
export async function lakeTimeline(lake: LakeTable, t0Ms: number, t1Ms: number): Promise<MinuteOfLake[]> {
  const reader = await LakeReader.open({ lake });
  try {
    const windows = reader.manifests.map((m) => `(${m.sequence}, ${quoteLiteral(m.committedAt)}::TIMESTAMP)`);
    if (windows.length === 0) return [];
    const events = `WITH w(seq, committed) AS (VALUES ${windows.join(', ')}),
      ev AS (SELECT epoch_ms(c._commit_ts) AS src, epoch_ms(w.committed) AS lake
               FROM changes c JOIN w ON w.seq = c._window_id
              WHERE c._commit_ts IS NOT NULL AND c._op IN ('c', 'u', 'd')
                AND epoch_ms(c._commit_ts) >= ${t0Ms} AND epoch_ms(c._commit_ts) < ${t1Ms})`;
    const written = await reader.scalars(
      `${events} SELECT floor((src - ${t0Ms}) / 60000)::INTEGER AS m, count(*)::BIGINT AS n,
              quantile_cont((lake - src) / 1000.0, 0.5) AS p50, quantile_cont((lake - src) / 1000.0, 0.95) AS p95
         FROM ev GROUP BY 1 ORDER BY 1`,
    );
    const landed = await reader.scalars(
      `${events} SELECT floor((lake - ${t0Ms}) / 60000)::INTEGER AS m, count(*)::BIGINT AS n FROM ev GROUP BY 1`,
    );
    const landedBy = new Map(landed.map((r) => [Number(r.m), Number(r.n)]));
    const minutes = Math.max(0, ...written.map((r) => Number(r.m)), ...landedBy.keys());
    const byMinute = new Map(written.map((r) => [Number(r.m), r]));
    const out: MinuteOfLake[] = [];
    for (let m = 0; m <= minutes; m++) {
      const r = byMinute.get(m);
      out.push({
        minute: m + 1,
        written: Number(r?.n ?? 0),
        landed: landedBy.get(m) ?? 0,
        freshnessP50Seconds: r ? +Number(r.p50).toFixed(2) : null,
        freshnessP95Seconds: r ? +Number(r.p95).toFixed(2) : null,
      });
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** Freshness p50/p95 over all events of [t0, t1) (scripts/demo/freshness.ts), to 0.01 s. */
export async function lakeFreshnessBetween(lake: LakeTable, t0Ms: number, t1Ms: number): Promise<Freshness> {
  const f = await lakeFreshness(lake, { t0Ms, t1Ms });
  const round = (v: number | null) => (v === null ? null : +v.toFixed(2));
  return { events: f.events, p50Seconds: round(f.p50Seconds), p95Seconds: round(f.p95Seconds) };
}
