/**
 * The alert rules checked by Prometheus' own tool: `promtool check rules` accepts the rules file, and the
 * `promtool test rules` unit tests (ops/prometheus/tests/) show every alert firing on sample series and resolving
 * when they recover. Mutations show that both checks can fail: a broken expression fails `check rules`, a changed
 * threshold fails `test rules`. promtool is installed by the project (scripts/stack/prometheus.ts) when missing.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alertRules,
  durationSeconds,
  loadRules,
  loadRuleTests,
  promtool,
  ROOT,
  RULE_TESTS_DIR,
  RULES_FILE,
  runPromtool,
} from '../../support/alert-contract.js';
import { ensurePrometheusTools } from '../../../scripts/stack/prometheus.js';

const ruleTestFiles = () =>
  readdirSync(RULE_TESTS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(RULE_TESTS_DIR, f));

/** A copy of ops/prometheus (rules and tests) in a temporary directory, to mutate. */
function scratchCopy(): { dir: string; rules: string; tests: string[]; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-rules-'));
  cpSync(join(RULES_FILE, '..'), dir, { recursive: true });
  return {
    dir,
    rules: join(dir, 'tidemark-rules.yml'),
    tests: readdirSync(join(dir, 'tests')).map((f) => join(dir, 'tests', f)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

before(() => {
  const tools = promtool();
  process.stderr.write(`[prometheus tools] promtool ${tools.version} (${tools.source}): ${tools.promtool}\n`);
});

test('the installer is idempotent: a second call finds what the first installed and fetches nothing', () => {
  const first = promtool();
  const logged: string[] = [];
  const again = ensurePrometheusTools(join(ROOT, '.tidemark'), { log: (line) => logged.push(line) });
  assert.equal(again.promtool, first.promtool);
  assert.ok(['installed', 'path'].includes(again.source), `second call installed again (${again.source})`);
  assert.deepEqual(logged, []);
});

test('promtool check rules accepts the rules file', () => {
  const r = runPromtool(['check', 'rules', RULES_FILE]);
  assert.equal(r.code, 0, r.output);
  const alerts = alertRules(loadRules());
  assert.match(r.output, new RegExp(`SUCCESS: ${loadRules().length} rules found`), r.output);
  assert.ok(alerts.length >= 7, `expected the issue's 7 alerts, found ${alerts.length}`);
});

test('promtool test rules: every unit test passes', () => {
  const files = ruleTestFiles();
  assert.ok(files.length > 0, 'no promtool unit tests under ops/prometheus/tests');
  const r = runPromtool(['test', 'rules', ...files]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /SUCCESS/);
});

test('every alert has a unit test where it fires and a later one, on the same series, where it has resolved', () => {
  const names = [...new Set(alertRules(loadRules()).map((r) => r.alert ?? ''))];
  const missing: string[] = [];
  for (const name of names) {
    const covered = ruleTestFiles().some((file) =>
      loadRuleTests(file).tests.some((group) => {
        const cases = (group.alert_rule_test ?? []).filter((c) => c.alertname === name);
        const firing = cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => durationSeconds(c.eval_time));
        const quiet = cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => durationSeconds(c.eval_time));
        return firing.some((t) => quiet.some((q) => q > t));
      }),
    );
    if (!covered) missing.push(name);
  }
  assert.deepEqual(missing, [], `alerts without a firing-then-resolved unit test: ${missing.join(', ')}`);
});

test('every alert has a severity, a summary and description naming the table (or task queue), and a runbook', () => {
  const problems: string[] = [];
  for (const rule of alertRules(loadRules())) {
    const name = rule.alert ?? '';
    if (!['critical', 'warning'].includes(rule.labels?.severity ?? '')) problems.push(`${name}: severity`);
    for (const key of ['summary', 'description'] as const) {
      const text = rule.annotations?.[key] ?? '';
      if (!/\$labels\.(table|task_queue)\b/.test(text)) problems.push(`${name}: ${key} names no table or task queue`);
    }
    if (rule.annotations?.runbook_url !== `docs/runbooks/${name}.md`)
      problems.push(`${name}: runbook_url is ${rule.annotations?.runbook_url ?? 'missing'}`);
  }
  assert.deepEqual(problems, []);
});

test('a rules file with a broken expression fails promtool check rules', (t) => {
  const copy = scratchCopy();
  t.after(copy.remove);
  const text = readFileSync(copy.rules, 'utf8');
  const broken = text.replace(
    'tidemark_table_state{state="stopped"} == 1)',
    'tidemark_table_state{state="stopped"} == == 1)',
  );
  assert.notEqual(broken, text, 'the mutation did not apply: update this test with the rules file');
  writeFileSync(copy.rules, broken);
  const r = runPromtool(['check', 'rules', copy.rules]);
  assert.notEqual(r.code, 0, `promtool accepted a broken expression:\n${r.output}`);
  assert.match(r.output, /FAILED|parse error|unexpected/i);
});

test('the unit tests catch a changed alert threshold (promtool test rules fails)', (t) => {
  const copy = scratchCopy();
  t.after(copy.remove);
  const text = readFileSync(copy.rules, 'utf8');
  // The freshness SLO at 2 hours instead of the problem statement's 30 minutes.
  const loosened = text.replace('tidemark:staleness_seconds > 1800', 'tidemark:staleness_seconds > 7200');
  assert.notEqual(loosened, text, 'the mutation did not apply: update this test with the rules file');
  writeFileSync(copy.rules, loosened);
  const r = runPromtool(['test', 'rules', ...copy.tests]);
  assert.notEqual(r.code, 0, `the unit tests did not notice the loosened SLO:\n${r.output}`);
  assert.match(r.output, /alertname: TidemarkFreshnessSLOBreach/);
});
