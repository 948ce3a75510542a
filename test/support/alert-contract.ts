/**
 * The observability contract's files, read the way the tests need them: the metric catalogue (docs/metrics.md),
 * the Prometheus rules and their promtool unit tests (ops/prometheus/), the Grafana dashboard (ops/grafana/), and
 * the metric names a PromQL expression uses. promtool itself comes from scripts/stack/prometheus.ts, installed once
 * per test process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ensurePrometheusTools, type PrometheusTools } from '../../scripts/stack/prometheus.js';

export const ROOT = process.cwd();
export const RULES_FILE = join(ROOT, 'ops', 'prometheus', 'tidemark-rules.yml');
export const RULE_TESTS_DIR = join(ROOT, 'ops', 'prometheus', 'tests');
export const DASHBOARD_FILE = join(ROOT, 'ops', 'grafana', 'tidemark.json');
export const CATALOGUE_FILE = join(ROOT, 'docs', 'metrics.md');
export const RUNBOOK_DIR = join(ROOT, 'docs', 'runbooks');
/** Series Prometheus itself makes, which the rules may use besides the catalogue. */
export const PROMETHEUS_BUILTINS = new Set(['up']);

let tools: PrometheusTools | undefined;

/** promtool, found or installed (printing what it installs) on first use. */
export function promtool(): PrometheusTools {
  tools ??= ensurePrometheusTools(join(ROOT, '.tidemark'), {
    log: (line) => process.stderr.write(`[prometheus tools] ${line}\n`),
  });
  return tools;
}

export interface ToolRun {
  readonly code: number | null;
  /** stdout and stderr together (promtool prints results on either). */
  readonly output: string;
}

export function runPromtool(args: readonly string[], cwd = ROOT): ToolRun {
  const r = spawnSync(promtool().promtool, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

// ------------------------------------------------------------------------------------------------------------
// Rules
// ------------------------------------------------------------------------------------------------------------

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function loadRules(file = RULES_FILE): Rule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export const alertRules = (rules: readonly Rule[]) => rules.filter((r) => r.alert !== undefined);
export const recordingRules = (rules: readonly Rule[]) => rules.filter((r) => r.record !== undefined);

export interface AlertRuleTest {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts?: unknown[];
}

export interface RuleTestGroup {
  readonly interval?: string;
  readonly alert_rule_test?: AlertRuleTest[];
}

export function loadRuleTests(file: string): { rule_files: string[]; tests: RuleTestGroup[] } {
  return parse(readFileSync(file, 'utf8')) as { rule_files: string[]; tests: RuleTestGroup[] };
}

/** A promtool duration (`90s`, `45m`, `1h30m`) in seconds. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  let rest = text.trim();
  while (rest.length > 0) {
    const m = /^(\d+)(ms|s|m|h|d|w|y)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${text}`);
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1);
    rest = rest.slice(m[0].length);
  }
  return total;
}

// ------------------------------------------------------------------------------------------------------------
// PromQL: the metric names an expression selects
// ------------------------------------------------------------------------------------------------------------

const NOT_METRICS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'atan2', 'start', 'end']);

/**
 * The metric (or recorded series) names a PromQL expression selects. Strings, label matchers, range and subquery
 * brackets and grouping label lists are removed first; a word followed by `(` is a function or an aggregation.
 * Grafana variables only ever appear inside matchers and ranges, so they vanish with them.
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\b(?:group_left|group_right)\b/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const before = m.index > 0 ? (s[m.index - 1] ?? '') : '';
    if (/[0-9.]/.test(before)) continue; // the exponent or unit of a number (1e3, 5m)
    if (NOT_METRICS.has(word.toLowerCase())) continue;
    if (
      s
        .slice(m.index + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue;
    names.add(word);
  }
  return [...names].sort();
}

// ------------------------------------------------------------------------------------------------------------
// The catalogue (docs/metrics.md)
// ------------------------------------------------------------------------------------------------------------

export interface CatalogueEntry {
  readonly name: string;
  readonly type: string;
  readonly unit: string;
  readonly labels: string;
  readonly meaning: string;
  readonly use: string;
}

/** The rows of the catalogue's metric tables: `| \`name\` | type | unit | labels | meaning | use |`. */
export function loadCatalogue(file = CATALOGUE_FILE): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\|\s*`((?:tidemark|temporal)_[a-z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const cells = (m[2] ?? '').split('|').map((c) => c.trim());
    out.push({
      name: m[1] ?? '',
      type: cells[0] ?? '',
      unit: cells[1] ?? '',
      labels: cells[2] ?? '',
      meaning: cells[3] ?? '',
      use: cells[4] ?? '',
    });
  }
  return out;
}

/** A selected series name → the catalogue metric it belongs to (`x_bucket` of histogram `x` → `x`). */
export function catalogueName(name: string, catalogue: readonly CatalogueEntry[]): string | undefined {
  if (catalogue.some((e) => e.name === name)) return name;
  const base = /^(.*)_(?:bucket|sum|count)$/.exec(name)?.[1];
  return base && catalogue.some((e) => e.name === base && e.type === 'histogram') ? base : undefined;
}

// ------------------------------------------------------------------------------------------------------------
// The dashboard
// ------------------------------------------------------------------------------------------------------------

interface GrafanaPanel {
  readonly type: string;
  readonly title: string;
  readonly targets?: { readonly expr?: string }[];
  readonly panels?: GrafanaPanel[];
  readonly gridPos?: { h: number; w: number; x: number; y: number };
}

export interface Dashboard {
  readonly panels: GrafanaPanel[];
  readonly templating?: { list: { name: string; query?: string | { query?: string } }[] };
}

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel (rows' nested panels too) with its PromQL expressions. */
export function dashboardQueries(dashboard: Dashboard): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: readonly GrafanaPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Metric names the dashboard's template variables query (`label_values(metric, label)`). */
export function templateVariableMetrics(dashboard: Dashboard): { variable: string; metric: string }[] {
  const out: { variable: string; metric: string }[] = [];
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const m = /label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,/.exec(q);
    if (m?.[1]) out.push({ variable: v.name, metric: m[1] });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------
// PromQL syntax, checked by promtool
// ------------------------------------------------------------------------------------------------------------

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse a panel's query. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?\w+\}?/g, '.*');
}

/**
 * Parses expressions with `promtool check rules` (each as a recording rule of a scratch rules file). Returns
 * promtool's complaint, naming each failing expression's `where`, or an empty string when all parse.
 */
export function promqlSyntaxProblems(exprs: readonly { where: string; expr: string }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-promql-'));
  try {
    const file = join(dir, 'exprs.yml');
    const rules = exprs.map((e, i) => ({ record: `check:expr_${i}`, expr: e.expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'syntax', rules }] }));
    const r = runPromtool(['check', 'rules', file]);
    if (r.code === 0) return '';
    return exprs
      .map((e, i) => ({ ...e, i }))
      .filter((e) => r.output.includes(`check:expr_${e.i}"`) || r.output.includes(`rule ${e.i + 1},`))
      .map((e) => `${e.where}: ${e.expr}`)
      .concat(r.output)
      .join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
