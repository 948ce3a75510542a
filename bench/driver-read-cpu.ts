/**
 * What the driver costs per row in CPU and collections, with and without Node's promise hooks on — the question
 * "can the read path avoid the promise hooks?" (docs/performance.md, "The worker's unnamed threads and the
 * driver's allocations"). In the worker they are on for the whole process: Temporal's activity `Context` and our
 * log context are `AsyncLocalStorage`s, which on Node 20 track every promise through `async_hooks`, and tedious
 * makes several promises per row (an async row parser, an async generator of tokens read by `Readable.from`).
 *
 * `mssql` streams claim-line rows (rows only counted, as bench:e2e's raw read) from a TDS server in a child process
 * (bench/tds-bench-server.ts), with the worker's connection options (32 KiB packets, `useUTC`). The variants
 * alternate in one process, `--rounds` times each, so they share the machine's moment:
 *   plain   no AsyncLocalStorage enabled: no promise hooks;
 *   als     the read runs inside `AsyncLocalStorage.run`, as an activity does (hooks on), disabled afterwards;
 *   als2    inside two stores' `run` (the worker has Temporal's activity context and our log context).
 * Prints, per variant, the process's CPU per row (all its threads: the collector's helpers too, from
 * `process.cpuUsage`) and scavenges / mark-compacts per 100K rows (`PerformanceObserver` 'gc').
 *
 *   npm run bench:driver -- [--rows 200000] [--rounds 3]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SOURCE_PACKET_SIZE } from '../src/source/connection.js';
import { tdsBenchPool } from './tds-bench-pool.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);

let minor = 0;
let major = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
  }
}).observe({ entryTypes: ['gc'] });

const { pool, stop } = await tdsBenchPool(ROWS, { options: { useUTC: true, packetSize: SOURCE_PACKET_SIZE } });

function read(): Promise<number> {
  const req = pool.request();
  req.stream = true;
  req.arrayRowMode = true;
  let count = 0;
  return new Promise<number>((resolve, reject) => {
    req.on('row', () => count++);
    req.on('error', reject);
    req.on('done', () => resolve(count));
    void req.query('select claim lines').catch(() => undefined);
  });
}

const variants = {
  plain: () => read(),
  als: async () => {
    const als = new AsyncLocalStorage<{ activity: string }>();
    try {
      return await als.run({ activity: 'bench' }, () => read());
    } finally {
      als.disable();
    }
  },
  als2: async () => {
    const a = new AsyncLocalStorage<{ activity: string }>();
    const b = new AsyncLocalStorage<{ table: string }>();
    try {
      return await a.run({ activity: 'bench' }, () => b.run({ table: 'bench' }, () => read()));
    } finally {
      a.disable();
      b.disable();
    }
  },
};

const totals = new Map<string, { us: number; rows: number; minor: number; major: number }>();
try {
  await read(); // warm-up: the driver's code compiled before any variant is measured
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const m0 = minor;
      const j0 = major;
      const c0 = process.cpuUsage();
      const rows = await run();
      const c = process.cpuUsage(c0);
      if (rows !== ROWS) throw new Error(`${name}: received ${rows} rows, expected ${ROWS}`);
      const t = totals.get(name) ?? { us: 0, rows: 0, minor: 0, major: 0 };
      t.us += c.user + c.system;
      t.rows += rows;
      t.minor += minor - m0;
      t.major += major - j0;
      totals.set(name, t);
      console.log(
        `round ${round + 1} ${name.padEnd(6)} ${((c.user + c.system) / rows).toFixed(2)} µs CPU per row, ` +
          `${minor - m0} scavenges, ${major - j0} mark-compacts`,
      );
    }
  }
} finally {
  await stop();
}
const plain = totals.get('plain')!;
console.log(`\n${ROWS.toLocaleString('en')} rows × ${ROUNDS} rounds per variant, the client process (all threads):`);
for (const [name, t] of totals) {
  console.log(
    `  ${name.padEnd(6)} ${(t.us / t.rows).toFixed(2)} µs CPU per row (${((t.us / t.rows / (plain.us / plain.rows)) * 100).toFixed(0)}% of plain), ` +
      `${((t.minor / t.rows) * 1e5).toFixed(1)} scavenges and ${((t.major / t.rows) * 1e5).toFixed(2)} mark-compacts per 100K rows`,
  );
}
