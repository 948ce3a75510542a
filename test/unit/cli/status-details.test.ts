/**
 * The values `tidemark status` derives beside the status query: the freshness bound from the manifests, the
 * retention horizon from the source's retention and how far behind the table is, and the last data-quality result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  freshnessBound,
  lastDataQuality,
  retentionHorizon,
  type LakeFacts,
} from '../../../src/cli/support/status-details.js';
import { renderStatusTable, type TableStatusRow } from '../../../src/cli/status.js';
import type { Manifest } from '../../../src/lake/manifest.js';
import type { TableSyncStatus } from '../../../src/state/table-sync-state.js';
import { stopFailureType } from '../../../src/state/failure-policy.js';

const manifest = (
  sequence: number,
  committedAt: string,
  rows: number,
  chunk?: { kind: 'snapshot'; index: number; count: number },
): Manifest =>
  ({
    sequence,
    committedAt,
    window: chunk ? { from: null, to: 'p', chunk } : { from: `p${sequence - 1}`, to: `p${sequence}` },
    controlTotals: {
      rows,
      rowsByOp: { c: rows, u: 0, d: 0, r: 0 },
      sums: {},
      receipt: { nullKeys: 0, duplicateKeyPositions: 0 },
    },
  }) as unknown as Manifest;

const at = (ms: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, 0) + ms).toISOString();

test('freshness: committedAt(newest window with events) − committedAt(manifest before the previous change window)', () => {
  // 1-2 snapshot chunks, 3 a change window, 4 empty, 5 with events (newest first).
  const ms = [
    manifest(5, at(95_000), 7),
    manifest(4, at(60_000), 0),
    manifest(3, at(30_000), 4),
    manifest(2, at(10_000), 100, { kind: 'snapshot', index: 1, count: 2 }),
    manifest(1, at(5_000), 100, { kind: 'snapshot', index: 0, count: 2 }),
  ];
  const committed = (s: number) => ms.find((m) => m.sequence === s)?.committedAt;
  // Window 5's lower bound was read when window 4 was planned, after manifest 3 committed: 95 − 30 = 65 s.
  assert.deepEqual(freshnessBound(ms, committed, 0), { seconds: 65, basis: 'upper_bound', window: 5 });
  // updated_at: plus its safety lag.
  assert.equal(freshnessBound(ms, committed, 120_000)?.seconds, 185);
  // Right after the initial load (no previous change window): not known.
  assert.equal(freshnessBound(ms.slice(2), committed, 0), null);
});

const status = (over: Partial<TableSyncStatus>): TableSyncStatus =>
  ({ lagSeconds: null, lastCommitted: null, stoppedReason: null, ...over }) as TableSyncStatus;
const lake = (newest: Manifest | null): LakeFacts => ({ newest, freshness: null });

test('retention horizon: retention − the larger of the lag and the time since the last commit; - and unknown', () => {
  const now = Date.parse(at(3_600_000));
  const retention = new Map([['cdc' as const, 72 * 3600]]);
  const committed = { seq: 9, committedAt: at(0) } as TableSyncStatus['lastCommitted'];
  // Idle for an hour since the last commit, lag 0: the committed position is at least an hour old.
  assert.deepEqual(
    retentionHorizon('cdc', retention, status({ lagSeconds: 0, lastCommitted: committed }), lake(null), now),
    { by: 'cdc_cleanup', retentionHours: 72, hours: 71 },
  );
  // Two hours behind: the lag counts.
  assert.equal(
    retentionHorizon('cdc', retention, status({ lagSeconds: 7200, lastCommitted: committed }), lake(null), now).hours,
    70,
  );
  // No worker answered: the newest manifest's commit time stands in.
  assert.equal(retentionHorizon('cdc', retention, null, lake(manifest(3, at(0), 1)), now).hours, 71);
  assert.deepEqual(retentionHorizon('rowversion', retention, null, lake(null), now), {
    by: null,
    retentionHours: null,
    hours: null,
  });
  const unread = retentionHorizon('change_tracking', new Map([['change_tracking', 'refused']]), null, lake(null), now);
  assert.equal(unread.hours, null);
  assert.equal(unread.unknown, 'refused');
  const row: TableStatusRow = {
    table: 'Claims.dbo.Providers',
    strategy: 'change_tracking',
    state: 'running',
    status: null,
    freshness: null,
    retentionHorizon: unread,
    dataQuality: { result: 'no receipt' },
  };
  assert.match(renderStatusTable([row]), /^ {2}freshness - · retention horizon unknown · data quality -$/m);
});

test('data quality: the stop on a DataQualityError first, else the newest receipt', () => {
  const reason = 'DataQualityError: Window 12 of Claims.dbo.Claims: the data-quality receipt differs from the source';
  assert.equal(stopFailureType(reason), 'DataQualityError');
  assert.equal(stopFailureType('the snapshot job failed: x'), undefined);
  assert.deepEqual(lastDataQuality(status({ stoppedReason: reason }), lake(manifest(11, at(0), 3))), {
    result: 'failed',
    reason,
  });
  assert.deepEqual(lastDataQuality(status({}), lake(manifest(11, at(0), 3))), {
    result: 'passed',
    window: 11,
    checks: { nullKeys: 0, duplicateKeyPositions: 0 },
    source: 'not sampled',
  });
  assert.equal(lastDataQuality(null, { newest: null, freshness: null, error: 'x' }).result, 'unknown');
});
