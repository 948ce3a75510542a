/**
 * `npm run chaos -- --seed S --faults N [--chaos-seconds T] [--kinds a,b] [--rate OPS] [--out FILE]`: the seeded
 * chaos run (runner.ts). Prints the schedule, progress and the result table; writes the JSON report
 * (default `.tidemark/chaos/<seed>.json`). Exit code 0 when every check holds, 3 when one does not, 1 when the run
 * itself could not complete, 2 for bad arguments. docs/chaos.md describes it.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './runner.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

const USAGE =
  'usage: npm run chaos -- --seed S --faults N [--chaos-seconds T] [--kinds ' +
  FAULT_KINDS.join(',') +
  '] [--rate OPS] [--out FILE]';

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        seed: { type: 'string' },
        faults: { type: 'string', default: '50' },
        'chaos-seconds': { type: 'string' },
        kinds: { type: 'string' },
        rate: { type: 'string' },
        out: { type: 'string' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const faults = Number(values.faults);
  const kinds = values.kinds?.split(',').map((k) => k.trim()) ?? undefined;
  const unknown = kinds?.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k)) ?? [];
  if (!Number.isInteger(seed) || seed < 0 || !Number.isInteger(faults) || faults < 0 || unknown.length) {
    process.stderr.write(
      `${unknown.length ? `unknown fault kind(s): ${unknown.join(', ')}` : '--seed and --faults must be whole numbers ≥ 0'}\n${USAGE}\n`,
    );
    return 2;
  }
  const report = await runChaos({
    seed,
    faults,
    ...(values['chaos-seconds'] !== undefined ? { chaosMs: Number(values['chaos-seconds']) * 1000 } : {}),
    ...(kinds ? { kinds: kinds as FaultKind[] } : {}),
    ...(values.rate !== undefined ? { rate: Number(values.rate) } : {}),
    ...(values.out !== undefined ? { reportFile: values.out } : {}),
  });
  return report.ok ? 0 : 3;
}

// Ctrl-C or a timeout: exit, and the 'exit' guards of the stack stop every process this run started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
