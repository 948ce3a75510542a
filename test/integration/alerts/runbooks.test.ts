/**
 * Runbooks: every alert's runbook exists and every runbook belongs to an alert; each says what the alert means,
 * how to confirm it, what to do and when to escalate; and every `tidemark <verb>` a runbook tells an operator to run
 * is a verb the CLI has (src/cli/<verb>.ts), so no runbook sends anyone to a command that does not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertRules,
  catalogueName,
  loadCatalogue,
  loadRules,
  metricNamesIn,
  PROMETHEUS_BUILTINS,
  promqlSyntaxProblems,
  recordingRules,
  ROOT,
  RUNBOOK_DIR,
} from '../../support/alert-contract.js';

const alertNames = () => [...new Set(alertRules(loadRules()).map((r) => r.alert ?? ''))].sort();
const runbookFiles = () =>
  readdirSync(RUNBOOK_DIR)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort();
const CLI_VERBS = new Set(
  readdirSync(join(ROOT, 'src', 'cli'))
    .map((f) => /^([a-z][a-z-]*)\.ts$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined && v !== 'main' && v !== 'command')
    .map((v) => v.replace(/-/g, ' ')),
);

/** The `tidemark …` commands a text tells someone to run (`npx tidemark status --table T`): their leading words. */
function tidemarkCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`(?:npx )?tidemark ([^`]*)`/g)) {
    const words: string[] = [];
    for (const word of (m[1] ?? '').trim().split(/\s+/)) {
      if (!/^[a-z][a-z-]*$/.test(word)) break;
      words.push(word);
    }
    out.push(words.join(' '));
  }
  return out;
}

test('every alert has its runbook, docs/runbooks/<alert>.md', () => {
  const missing = alertNames().filter((name) => !existsSync(join(RUNBOOK_DIR, `${name}.md`)));
  assert.deepEqual(missing, []);
});

test('every runbook belongs to an alert of the rules file and is listed in the runbooks index', () => {
  const alerts = new Set(alertNames());
  const orphans = runbookFiles().filter((f) => !alerts.has(f.replace(/\.md$/, '')));
  assert.deepEqual(orphans, [], 'runbooks no alert refers to');
  const index = readFileSync(join(RUNBOOK_DIR, 'README.md'), 'utf8');
  const unlisted = runbookFiles().filter((f) => !index.includes(`](${f})`));
  assert.deepEqual(unlisted, [], 'runbooks missing from docs/runbooks/README.md');
});

test('each runbook says what the alert means, how to confirm it, what to do and when to escalate', () => {
  const problems: string[] = [];
  for (const file of runbookFiles()) {
    const text = readFileSync(join(RUNBOOK_DIR, file), 'utf8');
    const name = file.replace(/\.md$/, '');
    if (!text.startsWith(`# ${name}\n`)) problems.push(`${file}: title is not the alert name`);
    for (const section of ['## What it means', '## Confirm', '## What to do', '## Escalate'])
      if (!text.includes(`\n${section}\n`)) problems.push(`${file}: no "${section}"`);
    if (!/```promql\n/.test(text)) problems.push(`${file}: no PromQL to confirm with`);
    if (!/tidemark status --table/.test(text) && name !== 'TidemarkNoWorkerPolling')
      problems.push(`${file}: does not show the table's status`);
  }
  assert.deepEqual(problems, []);
});

test('runbooks only name tidemark verbs that exist', () => {
  const problems: string[] = [];
  let seen = 0;
  for (const file of ['README.md', ...runbookFiles()]) {
    for (const cmd of tidemarkCommands(readFileSync(join(RUNBOOK_DIR, file), 'utf8'))) {
      seen += 1;
      const words = cmd.split(' ');
      const known = [2, 1].some((n) => words.length >= n && CLI_VERBS.has(words.slice(0, n).join(' ')));
      if (!known) problems.push(`${file}: \`tidemark ${cmd}\``);
    }
  }
  assert.ok(seen >= 10, `found only ${seen} tidemark commands in the runbooks: is the pattern still right?`);
  assert.deepEqual(problems, [], 'commands that do not exist');
});

test('the command check notices a verb that does not exist', () => {
  const cmds = tidemarkCommands('run `npx tidemark reseed --table T`, then `tidemark resume --table T`');
  assert.deepEqual(cmds, ['reseed', 'resume']);
  assert.equal(CLI_VERBS.has('reseed'), false);
  assert.equal(CLI_VERBS.has('resume'), true);
});

test("the runbooks' PromQL parses and uses only catalogue metrics and the rules' recorded series", () => {
  const catalogue = loadCatalogue();
  const recorded = new Set(recordingRules(loadRules()).map((r) => r.record ?? ''));
  const exprs: { where: string; expr: string }[] = [];
  for (const file of runbookFiles()) {
    const text = readFileSync(join(RUNBOOK_DIR, file), 'utf8');
    for (const block of text.matchAll(/```promql\n([\s\S]*?)```/g))
      for (const line of (block[1] ?? '').split('\n'))
        if (line.replace(/#.*$/, '').trim()) exprs.push({ where: file, expr: line });
  }
  assert.ok(exprs.length >= 15, `only ${exprs.length} PromQL lines found in the runbooks`);
  const unknown = exprs.flatMap((e) =>
    metricNamesIn(e.expr.replace(/#.*$/, ''))
      .filter((n) => !catalogueName(n, catalogue) && !recorded.has(n) && !PROMETHEUS_BUILTINS.has(n))
      .map((n) => `${e.where}: ${n}`),
  );
  assert.deepEqual(unknown, []);
  assert.equal(promqlSyntaxProblems(exprs), '');
});
