/**
 * The metric catalogue (docs/metrics.md) is the contract between the worker, the alert rules and the dashboard:
 * every metric a rule or a dashboard panel selects is in it, every metric in it is used by a rule or a panel or
 * marked informational, a use it claims ("alert X") is true, and its names follow Prometheus conventions. A later
 * test checks that every panel query returns data from a real Prometheus scraping a worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  alertRules,
  CATALOGUE_FILE,
  catalogueName,
  dashboardQueries,
  loadCatalogue,
  loadDashboard,
  loadRules,
  metricNamesIn,
  PROMETHEUS_BUILTINS,
  promqlSyntaxProblems,
  recordingRules,
  templateVariableMetrics,
  withoutGrafanaVariables,
  type CatalogueEntry,
  type Rule,
} from '../../support/alert-contract.js';

interface Use {
  readonly where: string;
  readonly name: string;
}

/** Every series name the rules and the dashboard select, and where. */
function uses(rules: readonly Rule[]): Use[] {
  const out: Use[] = [];
  for (const r of rules) {
    const where = r.alert ? `alert ${r.alert}` : `recording rule ${r.record ?? ''}`;
    for (const name of metricNamesIn(r.expr)) out.push({ where, name });
  }
  const dashboard = loadDashboard();
  for (const q of dashboardQueries(dashboard))
    for (const name of metricNamesIn(q.expr)) out.push({ where: `panel "${q.panel}"`, name });
  for (const v of templateVariableMetrics(dashboard)) out.push({ where: `variable $${v.variable}`, name: v.metric });
  return out;
}

/** Problems with the uses: names that are neither in the catalogue nor recorded by the rules nor built in. */
function unknownNames(used: readonly Use[], catalogue: readonly CatalogueEntry[], recorded: ReadonlySet<string>) {
  return used
    .filter((u) => !catalogueName(u.name, catalogue) && !recorded.has(u.name) && !PROMETHEUS_BUILTINS.has(u.name))
    .map((u) => `${u.where}: ${u.name}`);
}

/** Catalogue metrics an expression selects, directly or through the recording rules it reads. */
function catalogueMetricsOf(expr: string, rules: readonly Rule[], catalogue: readonly CatalogueEntry[]): Set<string> {
  const out = new Set<string>();
  for (const name of metricNamesIn(expr)) {
    const metric = catalogueName(name, catalogue);
    if (metric) out.add(metric);
    const recording = rules.find((r) => r.record === name);
    if (recording) for (const m of catalogueMetricsOf(recording.expr, rules, catalogue)) out.add(m);
  }
  return out;
}

test('the PromQL name extraction finds metrics and skips functions, labels, keywords and variables', () => {
  assert.deepEqual(
    metricNamesIn(
      'histogram_quantile(0.95, sum by (table, le) (rate(x_seconds_bucket{table=~"$table", op="d"}[$__rate_interval]))) ' +
        '> on (table) group_left (failure_kind) 3 * max by (table) (tidemark:y:sum offset 5m) or absent(up{job="w"} == 1) and 1e3 > bool z',
    ),
    ['tidemark:y:sum', 'up', 'x_seconds_bucket', 'z'],
  );
});

test('the catalogue is found and follows Prometheus naming', () => {
  const catalogue = loadCatalogue();
  assert.ok(catalogue.length >= 30, `only ${catalogue.length} metrics parsed from docs/metrics.md`);
  const problems: string[] = [];
  const names = new Set<string>();
  for (const e of catalogue) {
    if (names.has(e.name)) problems.push(`${e.name}: listed twice`);
    names.add(e.name);
    if (!['counter', 'gauge', 'histogram'].includes(e.type)) problems.push(`${e.name}: type "${e.type}"`);
    if ((e.type === 'counter') !== e.name.endsWith('_total')) problems.push(`${e.name}: _total iff counter`);
    if (/seconds|Unix/.test(e.unit) && !/_seconds(_total)?$/.test(e.name))
      problems.push(`${e.name}: a time in seconds is named …_seconds`);
    if (/_(ms|milliseconds|minutes|hours|kb|mb)(_|$)/.test(e.name)) problems.push(`${e.name}: not a base unit`);
    if (!e.meaning) problems.push(`${e.name}: no meaning`);
    if (!e.labels) problems.push(`${e.name}: no labels column`);
    if (!e.use) problems.push(`${e.name}: no use column (say "informational" when nothing uses it)`);
    if (/\b(key|value|position|path|message|id)\b/.test(e.labels.replace(/table id/g, '')))
      problems.push(`${e.name}: a label that is not bounded (${e.labels})`);
  }
  assert.deepEqual(problems, []);
});

test('every metric a rule or a dashboard panel uses is in the catalogue (or recorded by the rules)', () => {
  const rules = loadRules();
  const recorded = new Set(recordingRules(rules).map((r) => r.record ?? ''));
  const used = uses(rules);
  assert.ok(used.length > 40, `only ${used.length} metric uses found: is the extraction still right?`);
  assert.deepEqual(unknownNames(used, loadCatalogue(), recorded), []);
});

test('the check notices a panel or rule that uses a metric the catalogue lacks', () => {
  const used: Use[] = [
    { where: 'panel "x"', name: 'tidemark_windows_comitted_total' },
    { where: 'alert Y', name: 'tidemark_freshness_seconds_bucket' },
  ];
  assert.deepEqual(unknownNames(used, loadCatalogue(), new Set()), ['panel "x": tidemark_windows_comitted_total']);
});

test('every catalogue metric is used by a rule or a panel, or marked informational', () => {
  const rules = loadRules();
  const catalogue = loadCatalogue();
  const used = new Set(uses(rules).flatMap((u) => catalogueName(u.name, catalogue) ?? []));
  const unused = catalogue.filter((e) => !used.has(e.name) && e.use !== 'informational').map((e) => e.name);
  assert.deepEqual(unused, [], 'catalogue metrics nothing uses (use them, or mark them "informational")');
  const markedButUsed = catalogue.filter((e) => e.use === 'informational' && used.has(e.name)).map((e) => e.name);
  assert.deepEqual(markedButUsed, [], 'marked informational but used: say where instead');
});

test('a use the catalogue claims ("alert X", "dashboard") is true', () => {
  const rules = loadRules();
  const catalogue = loadCatalogue();
  const dashboardMetrics = new Set(
    dashboardQueries(loadDashboard()).flatMap((q) => [...catalogueMetricsOf(q.expr, rules, catalogue)]),
  );
  const problems: string[] = [];
  for (const e of catalogue) {
    for (const m of e.use.matchAll(/alerts? ((?:`\w+`(?:, )?)+)/g)) {
      for (const alert of (m[1] ?? '').match(/\w+/g) ?? []) {
        const selected = alertRules(rules)
          .filter((r) => r.alert === alert)
          .some((r) => catalogueMetricsOf(r.expr, rules, catalogue).has(e.name));
        if (!selected) problems.push(`${e.name}: the catalogue says alert ${alert} uses it; it does not`);
      }
    }
    if (/\bdashboard\b/.test(e.use) && !dashboardMetrics.has(e.name))
      problems.push(`${e.name}: the catalogue says the dashboard uses it; no panel does`);
  }
  assert.deepEqual(problems, []);
});

test('every alert of the rules file is listed in the catalogue with its runbook', () => {
  const text = readFileSync(CATALOGUE_FILE, 'utf8');
  const missing = [...new Set(alertRules(loadRules()).map((r) => r.alert ?? ''))].filter(
    (name) => !text.includes(`[\`${name}\`](runbooks/${name}.md)`),
  );
  assert.deepEqual(missing, []);
});

test('every dashboard query is valid PromQL (parsed by promtool, Grafana variables filled in)', () => {
  const queries = dashboardQueries(loadDashboard()).map((q) => ({
    where: `panel "${q.panel}"`,
    expr: withoutGrafanaVariables(q.expr),
  }));
  assert.ok(queries.length >= 20);
  assert.equal(promqlSyntaxProblems(queries), '');
  // …and the check itself can fail.
  assert.match(promqlSyntaxProblems([{ where: 'panel "broken"', expr: 'sum by (table (x)' }]), /panel "broken"/);
});
