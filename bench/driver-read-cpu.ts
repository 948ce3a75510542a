/**
 * What the driver costs per row in CPU and collections, by variant of the read — the questions "can the read path
 * avoid the promise hooks?" and "what would reading through `tedious` directly, or without its per-row promises,
 * save?" (docs/performance.md, "The worker's unnamed threads and the driver's allocations" and "The driver's own
 * cost per row"). In the worker the promise hooks are on for the whole process: Temporal's activity `Context` and
 * our log context are `AsyncLocalStorage`s, which on Node 20 track every promise through `async_hooks`, and
 * tedious makes several promises per row (an async row parser, an async generator of tokens read by
 * `Readable.from`).
 *
 * Claim-line rows (rows only counted, as bench:e2e's raw read) from a TDS server in a child process
 * (bench/tds-bench-server.ts), with the worker's connection options (32 KiB packets, `useUTC`). The variants
 * alternate in one process, `--rounds` times each, so they share the machine's moment (`--variants a,b,…`):
 *   plain        `mssql` stream, arrayRowMode; no AsyncLocalStorage enabled: no promise hooks;
 *   als          the same inside `AsyncLocalStorage.run`, as an activity reads (hooks on), disabled afterwards;
 *   als2         inside two stores' `run` (the worker has Temporal's activity context and our log context);
 *   als-outside  a store enabled but the read started outside its `run`; als-exit: inside `run`, then `exit`;
 *   tedious      a `tedious` Request on a connection borrowed from the same pool, its 'row' event (no mssql
 *                layer); tedious-als: the same inside a store;
 *   sync-rows, sync-dispatch, sync-dispatch-als, tedious-sync-als, sync-dates-als (sync-dispatch plus one `Date`
 *                per datetime2): tedious with the token-parser experiments of
 *                bench/tedious-shortcuts.ts (installed for the variant, removed after);
 *   dates, dates-als  plain / als with the worker's datetime2/date shortcut (src/source/date-decode.ts, installed
 *                for the variant, removed after). Before the rounds, every value of every row the shortcuts read
 *                is compared with the plain read's (`--skip-check` to skip).
 * `--packet-sizes 4096,32767` runs every variant on one pool per TDS packet size; `--fast-varchar` installs the
 * worker's (var)char shortcut (src/source/varchar-decode.ts) for the whole run, as the worker does.
 * Prints, per variant, the process's CPU per row (all its threads: the collector's helpers too, from
 * `process.cpuUsage`) and scavenges / mark-compacts per 100K rows (`PerformanceObserver` 'gc').
 *
 *   npm run bench:driver -- [--rows 200000] [--rounds 3] [--variants plain,als,tedious,…] [--packet-sizes …]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Connection as TediousConnection } from 'tedious';
import tedious from 'tedious';
import { SOURCE_PACKET_SIZE } from '../src/source/connection.js';
import { installFastVarcharDecode } from '../src/source/varchar-decode.js';
import { tdsBenchPool } from './tds-bench-pool.js';
import { installFastDateDecode } from '../src/source/date-decode.js';
import { installSyncDispatch, installSyncRows } from './tedious-shortcuts.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    /** Skip the values check of the shortcut variants (for a CPU profile of the reads alone). */
    'skip-check': { type: 'boolean', default: false },
    /** Install the worker's (var)char shortcut (src/source/varchar-decode.ts) for the whole run, as the worker does. */
    'fast-varchar': { type: 'boolean', default: false },
    variants: { type: 'string', default: 'plain,als,als2,tedious,tedious-als' },
    /** TDS packet sizes to compare (one pool each, variants × sizes alternate): 32,767 is the worker's. */
    'packet-sizes': { type: 'string', default: String(SOURCE_PACKET_SIZE) },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
if (values['fast-varchar']) installFastVarcharDecode();
const PACKET_SIZES = String(values['packet-sizes']).split(',').map(Number);

let minor = 0;
let major = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
  }
}).observe({ entryTypes: ['gc'] });

const pools = await Promise.all(
  PACKET_SIZES.map((packetSize) => tdsBenchPool(ROWS, { options: { useUTC: true, packetSize } })),
);
/** The pool the variant being run reads from. */
let pool = pools[0]!.pool;

/** Each value as text that tells apart what a decoder could see differently (a Date's nanoseconds too). */
function valueText(v: unknown): string {
  if (v instanceof Date) return `${v.toISOString()}+${(v as Date & { nanosecondsDelta?: number }).nanosecondsDelta}`;
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  return `${typeof v}:${String(v)}`;
}

function read(onRow?: (row: unknown[]) => void): Promise<number> {
  const req = pool.request();
  req.stream = true;
  req.arrayRowMode = true;
  let count = 0;
  return new Promise<number>((resolve, reject) => {
    req.on('row', (row: unknown[]) => {
      count++;
      onRow?.(row);
    });
    req.on('error', reject);
    req.on('done', () => resolve(count));
    void req.query('select claim lines').catch(() => undefined);
  });
}

/** The same rows through `tedious` directly, on a connection borrowed from the `mssql` pool: its 'row' event. */
type Borrow = { acquire(requester: unknown): Promise<TediousConnection>; release(c: TediousConnection): void };

async function readTedious(): Promise<number> {
  const borrow = pool as unknown as Borrow;
  const connection = await borrow.acquire(pool);
  try {
    return await new Promise<number>((resolve, reject) => {
      let count = 0;
      const req = new tedious.Request('select claim lines', (err) => (err ? reject(err) : resolve(count)));
      req.on('row', () => count++);
      connection.execSqlBatch(req);
    });
  } finally {
    borrow.release(connection);
  }
}

function inStore(run: () => Promise<number>): () => Promise<number> {
  return async () => {
    const als = new AsyncLocalStorage<{ activity: string }>();
    try {
      return await als.run({ activity: 'bench' }, run);
    } finally {
      als.disable();
    }
  };
}

/** The worker's datetime2/date shortcut (src/source/date-decode.ts), with the function that removes it. */
function installFastDates(): () => void {
  const r = installFastDateDecode();
  if (!r.installed) throw new Error(`the datetime2/date shortcut did not install: ${r.reason}`);
  return r.restore;
}

function syncDates(): () => void {
  const a = installSyncDispatch();
  const b = installFastDates();
  return () => {
    b();
    a();
  };
}

function patched(install: () => () => void, run: () => Promise<number>): () => Promise<number> {
  return async () => {
    const restore = install();
    try {
      return await run();
    } finally {
      restore();
    }
  };
}

const allVariants = {
  plain: () => read(),
  als: inStore(read),
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
  // The store enabled (as Temporal's is, for the worker's life) but the read started outside any `run`, or
  // inside `exit`: does leaving the context avoid the hooks? (No: they are installed for the whole process.)
  'als-outside': async () => {
    const als = new AsyncLocalStorage<{ activity: string }>();
    als.enterWith({ activity: 'enabled' });
    als.enterWith(undefined as unknown as { activity: string });
    try {
      return await read();
    } finally {
      als.disable();
    }
  },
  'als-exit': async () => {
    const als = new AsyncLocalStorage<{ activity: string }>();
    try {
      return await als.run({ activity: 'bench' }, () => als.exit(() => read()));
    } finally {
      als.disable();
    }
  },
  tedious: () => readTedious(),
  'tedious-als': inStore(readTedious),
  // bench/tedious-shortcuts.ts: tedious' own value readers, without its per-row promises.
  'sync-rows': patched(installSyncRows, read),
  'sync-dispatch': patched(installSyncDispatch, read),
  'sync-dispatch-als': inStore(patched(installSyncDispatch, read)),
  'tedious-sync-als': inStore(patched(installSyncDispatch, readTedious)),
  'sync-dates-als': inStore(patched(syncDates, read)),
  // The worker's datetime2/date shortcut alone (src/source/date-decode.ts), on the plain read and in a store.
  dates: patched(installFastDates, read),
  'dates-als': inStore(patched(installFastDates, read)),
};
const wanted = new Set(String(values.variants).split(','));
const variants = Object.fromEntries(Object.entries(allVariants).filter(([name]) => wanted.has(name)));

const totals = new Map<string, { us: number; rows: number; minor: number; major: number }>();
try {
  for (const p of pools) {
    pool = p.pool;
    await read(); // warm-up: the driver's code compiled before any variant is measured
  }
  pool = pools[0]!.pool;
  // The shortcuts must hand mssql the same values: every value of every row, as text, against the plain read's.
  const digest = async (install: () => () => void): Promise<string> => {
    const h = createHash('sha256');
    const restore = install();
    try {
      await read((row) => h.update(row.map(valueText).join('\u0001') + '\n'));
    } finally {
      restore();
    }
    return h.digest('hex');
  };
  if (!values['skip-check']) {
    const expected = await digest(() => () => undefined);
    for (const [name, install] of [
      ['sync-rows', installSyncRows],
      ['sync-dispatch', installSyncDispatch],
      ['fast-dates', installFastDates],
    ] as const) {
      if ((await digest(install)) !== expected) throw new Error(`${name}: values differ from the plain read's`);
    }
    console.log('values: the shortcuts read the same values as the plain driver (every row, every column)');
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [variant, run] of Object.entries(variants))
      for (const [i, p] of pools.entries()) {
        pool = p.pool;
        const name = pools.length > 1 ? `${variant}@${PACKET_SIZES[i]}` : variant;
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
          `round ${round + 1} ${name.padEnd(17)} ${((c.user + c.system) / rows).toFixed(2)} µs CPU per row, ` +
            `${minor - m0} scavenges, ${major - j0} mark-compacts`,
        );
      }
  }
} finally {
  for (const p of pools) await p.stop();
}
const plain = totals.values().next().value!;
console.log(`\n${ROWS.toLocaleString('en')} rows × ${ROUNDS} rounds per variant, the client process (all threads):`);
for (const [name, t] of totals) {
  console.log(
    `  ${name.padEnd(17)} ${(t.us / t.rows).toFixed(2)} µs CPU per row (${((t.us / t.rows / (plain.us / plain.rows)) * 100).toFixed(0)}% of ${[...totals.keys()][0]}), ` +
      `${((t.minor / t.rows) * 1e5).toFixed(1)} scavenges and ${((t.major / t.rows) * 1e5).toFixed(2)} mark-compacts per 100K rows`,
  );
}
