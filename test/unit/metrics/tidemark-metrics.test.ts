/**
 * The worker's registry and the catalogue (docs/metrics.md) say the same: every Tidemark metric the catalogue
 * lists is registered with its type and labels, and nothing else is; counters start at 0 for a configured table
 * (so `rate()` sees the first event); labels never carry more than the fixed sets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TidemarkMetrics } from '../../../src/metrics/tidemark-metrics.js';
import { loadCatalogue } from '../../support/alert-contract.js';

const TABLE = {
  table: 'Claims.dbo.Claims',
  strategy: 'cdc',
  cadenceSeconds: 60,
  maxRowsPerSecond: 5000,
  database: 'Claims',
};

test('every catalogued tidemark_ metric is registered with its type and labels, and no other', async () => {
  const m = new TidemarkMetrics([TABLE]);
  const registered = (await m.registry.getMetricsAsJSON()).map((x) => ({
    name: x.name,
    type: String(x.type),
    labels: [...new Set(x.values.flatMap((v) => Object.keys(v.labels)))].filter((l) => l !== 'le').sort(),
  }));
  const catalogue = loadCatalogue()
    .filter((e) => e.name.startsWith('tidemark_'))
    .map((e) => ({
      name: e.name,
      type: e.type,
      labels: e.labels
        .split(',')
        .map((l) => l.trim())
        .sort(),
    }));
  assert.deepEqual(registered.map((r) => r.name).sort(), catalogue.map((c) => c.name).sort());
  const m2 = new TidemarkMetrics([TABLE]);
  // Series that appear only when measured (gauges set by a plan, a probe or the status refresh): set them once.
  m2.setLag(TABLE.table, 1);
  m2.completeThrough.set({ table: TABLE.table, strategy: 'cdc' }, 1);
  m2.lastCommit.set({ table: TABLE.table, strategy: 'cdc' }, 1);
  m2.lagChanges.set({ table: TABLE.table, strategy: 'cdc' }, 0);
  m2.tableState.set({ table: TABLE.table, strategy: 'cdc', state: 'running' }, 1);
  m2.stopReason.set({ table: TABLE.table, strategy: 'cdc', failure_kind: 'config' }, 1);
  m2.dqOk.set({ table: TABLE.table, strategy: 'cdc', check: 'null_keys' }, 1);
  m2.cdcCaptureLatency.set({ database: 'Claims' }, 1);
  m2.secondaryRedoLag.set({ database: 'Claims' }, 1);
  m2.clockSkew.set({ database: 'Claims' }, 0);
  m2.retentionHorizon.set({ table: TABLE.table, strategy: 'cdc' }, 1);
  m2.workerInfo.set({ namespace: 'default', task_queue: 'q', version: '0' }, 1);
  const measured = new Map(
    (await m2.registry.getMetricsAsJSON()).map((x) => [
      x.name,
      {
        type: String(x.type),
        labels: [...new Set(x.values.flatMap((v) => Object.keys(v.labels)))].filter((l) => l !== 'le').sort(),
      },
    ]),
  );
  for (const c of catalogue) assert.deepEqual(measured.get(c.name), { type: c.type, labels: c.labels }, c.name);
});

test('counters of a configured table start at 0 for the fixed label values', async () => {
  const text = await new TidemarkMetrics([TABLE]).text();
  assert.match(
    text,
    /^tidemark_events_landed_total\{table="Claims\.dbo\.Claims",strategy="cdc",kind="changes",op="u"\} 0$/m,
  );
  assert.match(
    text,
    /^tidemark_retries_total\{table="Claims\.dbo\.Claims",strategy="cdc",activity="extractWindow",failure_kind="source_transient"\} 0$/m,
  );
  assert.match(text, /^tidemark_table_cadence_seconds\{table="Claims\.dbo\.Claims",strategy="cdc"\} 60$/m);
});
