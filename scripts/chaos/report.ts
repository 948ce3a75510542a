/** The chaos run's report: a printed table (faults by kind, survived, each check's finding) and its JSON form. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckFinding } from './checks.js';
import { CHECK_NAMES } from './checks.js';
import type { FaultOutcome } from './faults.js';
import { FAULT_KINDS, type ScheduledFault } from './schedule.js';

export interface ChaosReport {
  seed: number;
  faultsRequested: number;
  schedule: ScheduledFault[];
  outcomes: FaultOutcome[];
  tables: { id: string; strategy: string }[];
  findings: CheckFinding[];
  /** Injected faults after which every check held (all of them when `ok`). */
  survived: number;
  ok: boolean;
  timings: { setupMs: number; chaosMs: number; quiescenceMs: number; checksMs: number; totalMs: number };
  workloadOperations: number;
  workloadErrors: number;
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const num = (s: string | number, n: number) => String(s).padStart(n);

export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`Chaos run, seed ${r.seed}: ${r.outcomes.length} faults over ${r.tables.length} tables`);
  lines.push('');
  lines.push(`${pad('fault kind', 24)}${num('scheduled', 10)}${num('injected', 10)}${num('survived', 10)}`);
  for (const kind of FAULT_KINDS) {
    const of = r.outcomes.filter((o) => o.kind === kind);
    if (!of.length) continue;
    const injected = of.filter((o) => o.injected).length;
    lines.push(`${pad(kind, 24)}${num(of.length, 10)}${num(injected, 10)}${num(r.ok ? injected : '-', 10)}`);
  }
  const injected = r.outcomes.filter((o) => o.injected).length;
  lines.push(`${pad('total', 24)}${num(r.outcomes.length, 10)}${num(injected, 10)}${num(r.survived, 10)}`);
  lines.push('');
  lines.push(`${pad('check', 18)}${pad('result', 8)}finding`);
  for (const check of CHECK_NAMES) {
    const of = r.findings.filter((f) => f.check === check);
    const bad = of.filter((f) => !f.ok);
    lines.push(
      `${pad(check, 18)}${pad(bad.length ? 'FAIL' : 'ok', 8)}${
        bad.length ? bad.map((f) => `${f.table}: ${f.detail}`).join(' | ') : `${of.length} tables`
      }`,
    );
  }
  lines.push('');
  for (const t of r.tables) {
    const same = r.findings.find((f) => f.table === t.id && f.check === 'lake == source');
    const status = r.findings.find((f) => f.table === t.id && f.check === 'not stopped');
    lines.push(`  ${pad(t.id, 32)}${pad(t.strategy, 17)}${same?.detail ?? ''}; ${status?.detail ?? ''}`);
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
  lines.push('');
  lines.push(
    `Workload: ${r.workloadOperations} operations (${r.workloadErrors} failed under faults). Time: setup ${s(r.timings.setupMs)}, ` +
      `chaos ${s(r.timings.chaosMs)}, quiescence ${s(r.timings.quiescenceMs)}, checks ${s(r.timings.checksMs)}, total ${s(r.timings.totalMs)}.`,
  );
  lines.push(r.ok ? 'RESULT: every check holds: 0 lost, 0 duplicated.' : 'RESULT: CHECKS FAILED (see above).');
  return lines.join('\n');
}

export async function writeReport(file: string, r: ChaosReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(r, null, 2)}\n`);
}
