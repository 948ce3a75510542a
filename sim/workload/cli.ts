/**
 * `npm run sim:workload -- --port 14330 --seed 42 --rate 50 --duration 10m`: drives the claims workload against
 * a running simulator (`npm run sim`) or any SQL Server the login may change (sysadmin for the CDC setup).
 * Prints one JSON line per operation (keys only) and a summary on exit. Test-only default credentials: the
 * simulator's `sa` (sim/README.md); pass --password or TIDEMARK_WORKLOAD_PASSWORD for anything else.
 */
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../index.js';
import { ClaimsWorkload } from './claims-workload.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '14330' },
    user: { type: 'string', default: SIM_CREDENTIALS.admin.user },
    password: { type: 'string' },
    database: { type: 'string', default: 'Claims' },
    seed: { type: 'string', default: '42' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string' },
    operations: { type: 'string' },
    'long-tx-ms': { type: 'string', default: '3000' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'npm run sim:workload -- [--host 127.0.0.1] [--port 14330] [--user sa] [--password …] [--database Claims]\n' +
      '  [--seed 42] [--rate 50 ops/s] [--duration 10m | --operations N] [--long-tx-ms 3000] [--quiet]\n',
  );
  process.exit(0);
}

function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * unit;
}

const pool = await new sql.ConnectionPool({
  server: values.host,
  port: Number(values.port),
  user: values.user,
  password: values.password ?? process.env.TIDEMARK_WORKLOAD_PASSWORD ?? SIM_CREDENTIALS.admin.password,
  database: values.database,
  pool: { max: 8, min: 0 },
  options: { encrypt: false, trustServerCertificate: true, appName: 'tidemark-workload' },
}).connect();

const workload = new ClaimsWorkload(pool, {
  seed: Number(values.seed),
  rate: Number(values.rate),
  longTransactionMs: Number(values['long-tx-ms']),
});
const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());

await workload.setup();
for (const w of workload.warnings) process.stderr.write(`${JSON.stringify({ msg: 'setup warning', warning: w })}\n`);
let printed = 0;
const flush = (): void => {
  if (!values.quiet)
    for (; printed < workload.log.length; printed++) process.stdout.write(`${JSON.stringify(workload.log[printed])}\n`);
};
const timer = setInterval(flush, 1000);
await workload.run({
  signal: controller.signal,
  ...(values.operations ? { operations: Number(values.operations) } : {}),
  ...(values.duration ? { durationMs: duration(values.duration) } : {}),
  ...(!values.operations && !values.duration ? { durationMs: Number.POSITIVE_INFINITY } : {}),
});
await workload.drain();
clearInterval(timer);
flush();
const counts: Record<string, number> = {};
for (const e of workload.log) counts[e.op] = (counts[e.op] ?? 0) + 1;
process.stdout.write(
  `${JSON.stringify({ msg: 'workload finished', counts, captureInstances: workload.claimLinesCaptureInstances })}\n`,
);
await pool.close();
