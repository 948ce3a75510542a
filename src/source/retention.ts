/**
 * How long the source keeps changes, for the retention horizon (metrics: `tidemark_retention_horizon_seconds`,
 * the alert that comes before data is lost): the CDC cleanup job's retention and the database's Change Tracking
 * retention, and the source's clock (lag and freshness are only as right as the skew is small). Small catalog
 * queries, run by the worker's probe at most once a minute.
 */
import type { CaptureStrategyName } from '../domain/table.js';
import type { SourceConnection } from './connection.js';
import { cdcRetentionMinutes } from './source-health.js';

/** Seconds the source keeps a table's changes (CDC cleanup / CT retention); null when unknown or not applicable. */
export async function changeRetentionSeconds(
  conn: SourceConnection,
  strategy: CaptureStrategyName,
): Promise<number | null> {
  if (strategy === 'cdc') {
    const minutes = await cdcRetentionMinutes(conn);
    return minutes === null ? null : minutes * 60;
  }
  if (strategy !== 'change_tracking') return null;
  try {
    const [d] = await conn.query<{ retention_period: number; retention_period_units: number }>(
      'probe.ct_retention',
      'SELECT retention_period, retention_period_units FROM sys.change_tracking_databases WHERE database_id = DB_ID()',
    );
    if (!d) return null;
    // units: 1 = minutes, 2 = hours, 3 = days
    const mult = d.retention_period_units === 3 ? 1440 : d.retention_period_units === 2 ? 60 : 1;
    return Number(d.retention_period) * mult * 60;
  } catch {
    return null;
  }
}

/** The source's clock minus the worker's, in seconds (measured mid-query). */
export async function sourceClockSkewSeconds(conn: SourceConnection): Promise<number> {
  const t0 = Date.now();
  const [r] = await conn.query<{ now: Date }>('probe.clock', 'SELECT SYSUTCDATETIME() AS now');
  const mid = (t0 + Date.now()) / 2;
  return r ? (r.now.getTime() - mid) / 1000 : 0;
}
