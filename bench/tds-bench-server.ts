/**
 * Child process of bench/tds-encode.ts: a TDS server whose scripted engine answers `select claim lines <n>`
 * with n claim-line rows. Prints `{"port": …}` on stdout once listening.
 */
import type { ExecEvent, SqlValue } from '../sim/engine/api.js';
import { startTdsServer } from '../sim/tds/server.js';
import { ScriptedEngine } from '../test/integration/sim/tds/scripted-engine.js';
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-line.js';

const DISTINCT = 10_000;
const sample: SqlValue[][] = Array.from({ length: DISTINCT }, (_, i) => claimLineRow(i));
const n = Number(process.argv[2] ?? 1_000_000);

function* rows(): Iterable<SqlValue[]> {
  for (let i = 0; i < n; i++) yield sample[i % DISTINCT] as SqlValue[];
}

const engine = new ScriptedEngine({
  statements: {
    'select claim lines': async function* (): AsyncIterable<ExecEvent> {
      await Promise.resolve();
      yield { kind: 'resultSet', columns: CLAIM_LINE_COLUMNS, rows: rows() };
      yield { kind: 'done', rowCount: BigInt(n) };
    },
  },
});
const server = await startTdsServer({
  engine,
  port: 0,
  ...(process.argv[3] === 'tls' ? { tls: 'generate' as const } : {}),
});
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
process.on('SIGTERM', () => {
  if (process.env.TDS_BENCH_CPU) process.stderr.write(`server cpu: ${JSON.stringify(process.cpuUsage())}\n`);
  void server.stop().then(() => process.exit(0));
});
