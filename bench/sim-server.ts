/**
 * The simulator side of `npm run bench:sim`, run as its own process (as the pipeline runs the simulator):
 * loads the seeded ClaimLines table, measures the simulator's own rate for one streamed result (engine plus
 * TDS row encoding into a discarding writer: no socket, no client), prints one JSON line with the address and
 * those figures, then serves. Each line on stdin is answered with the memory so far and the CPU and GC time
 * used since start: the parent takes differences around each step, which (unlike rates) hardly depend on what
 * else the machine is running.
 *
 *   node --expose-gc --import tsx bench/sim-server.ts <rows> <encodeRows>
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Session } from '../sim/engine/api.js';
import { MessageWriter } from '../sim/tds/message-writer.js';
import { writeColMetadata, writeRow } from '../sim/tds/tokens.js';
import { planColumn } from '../sim/tds/value-encoder.js';
import { SIM_CREDENTIALS, startSimulator } from '../sim/index.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const encodeRows = Number(process.argv[3] ?? 1_000_000);

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** CPU (user + system) and GC milliseconds used so far. */
function usage(): { cpuMs: number; gcMs: number } {
  const c = process.cpuUsage();
  return { cpuMs: (c.user + c.system) / 1000, gcMs };
}

/** JS heap, ArrayBuffer memory outside it (packed rows' slabs) and peak RSS, after a full GC. */
function memory(): { heapBytes: number; bufferBytes: number; peakRssBytes: number } {
  global.gc?.();
  const m = process.memoryUsage();
  return { heapBytes: m.heapUsed, bufferBytes: m.arrayBuffers, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/** Rows per second of `SELECT TOP (n) * … ORDER BY claim_line_id` through the engine and the TDS row encoder. */
async function encodeRate(session: Session, n: number): Promise<number> {
  const w = new MessageWriter({ write: () => true });
  w.packetSize = 4096;
  const start = performance.now();
  let count = 0;
  w.begin();
  const signal = new AbortController().signal;
  for await (const ev of session.executeBatch(
    `SELECT TOP (${n}) * FROM dbo.ClaimLines ORDER BY claim_line_id`,
    signal,
  )) {
    if (ev.kind === 'message' && ev.error.severity > 10) throw ev.error;
    if (ev.kind !== 'resultSet') continue;
    const plans = ev.columns.map(planColumn);
    writeColMetadata(
      w,
      plans,
      ev.columns.map((c) => c.name),
    );
    for (const row of ev.rows) {
      writeRow(w, plans, row);
      count++;
      if (w.pos >= w.highWater) w.flushFull();
    }
  }
  w.end();
  return count / ((performance.now() - start) / 1000);
}

const t0 = performance.now();
const sim = await startSimulator({ port: 0, seed: 42, seedRows: rows });
const loadSeconds = (performance.now() - t0) / 1000;
const afterLoad = memory();
const login = await sim.engine.login({
  userName: SIM_CREDENTIALS.extractor.user,
  password: SIM_CREDENTIALS.extractor.password,
  database: 'Claims',
  appName: 'bench',
  hostName: 'localhost',
  readOnlyIntent: false,
  clientProcessId: process.pid,
});
if (login.kind !== 'session') throw new Error('the bench could not log in to its simulator');
const n = Math.min(encodeRows, rows);
const before = usage();
const encodeRowsPerSec = await encodeRate(login.session, n);
const encodeCpuUsPerRow = ((usage().cpuMs - before.cpuMs) * 1000) / n;
login.session.close();
process.stdout.write(
  `${JSON.stringify({ host: sim.host, port: sim.port, rows, loadSeconds, encodeRowsPerSec, encodeCpuUsPerRow, ...afterLoad })}\n`,
);

createInterface({ input: process.stdin }).on('line', (line) => {
  // 'usage' between steps (no forced GC, so the step's own GC work is what is counted); 'memory' at the end.
  process.stdout.write(`${JSON.stringify(line === 'usage' ? usage() : { ...memory(), ...usage() })}\n`);
});
process.stdin.on('end', () => void sim.stop().then(() => process.exit(0)));
