/**
 * Measures the TDS layer's row encoding rate (claim-line rows into packets, no socket) and, with `--mssql`,
 * the rate at which `mssql` streams the same rows from a TDS server over TCP.
 *
 *   node --import tsx bench/tds-encode.ts [--rows 1000000] [--mssql [--tls]]
 */
import { performance } from 'node:perf_hooks';
import type { SqlValue } from '../sim/engine/api.js';
import { MessageWriter } from '../sim/tds/message-writer.js';
import { writeColMetadata, writeRow } from '../sim/tds/tokens.js';
import { planColumn } from '../sim/tds/value-encoder.js';
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-line.js';
import { tdsBenchPool } from './tds-bench-pool.js';

const args = process.argv.slice(2);
const rowsArg = args.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(args[rowsArg + 1]) : 1_000_000;
const DISTINCT = 10_000;
const TLS = args.includes('--tls');
const sample: SqlValue[][] = Array.from({ length: DISTINCT }, (_, i) => claimLineRow(i));

function* rows(n: number): Iterable<SqlValue[]> {
  for (let i = 0; i < n; i++) yield sample[i % DISTINCT] as SqlValue[];
}

function encodeOnly(n: number): { rowsPerSecond: number; bytes: number } {
  let bytes = 0;
  const w = new MessageWriter({ write: (b) => ((bytes += b.length), true) });
  w.packetSize = 4096;
  const plans = CLAIM_LINE_COLUMNS.map(planColumn);
  const start = performance.now();
  w.begin();
  writeColMetadata(
    w,
    plans,
    CLAIM_LINE_COLUMNS.map((c) => c.name),
  );
  for (const row of rows(n)) {
    writeRow(w, plans, row);
    if (w.pos >= w.highWater) w.flushFull();
  }
  w.end();
  const seconds = (performance.now() - start) / 1000;
  return { rowsPerSecond: n / seconds, bytes };
}

/** mssql streams n rows from a TDS server running in a child process (so server and client do not share a core). */
async function viaMssql(n: number): Promise<number> {
  const { pool, stop } = await tdsBenchPool(n, { tls: TLS });
  try {
    const req = pool.request();
    req.stream = true;
    (req as unknown as { arrayRowMode: boolean }).arrayRowMode = true;
    let count = 0;
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      req.on('row', () => count++);
      req.on('error', reject);
      req.on('done', () => resolve());
      void req.query('select claim lines');
    });
    const seconds = (performance.now() - start) / 1000;
    if (count !== n) throw new Error(`received ${count} rows, expected ${n}`);
    return n / seconds;
  } finally {
    await stop();
  }
}

encodeOnly(50_000); // warm-up
const encode = encodeOnly(ROWS);
console.log(
  `encode: ${Math.round(encode.rowsPerSecond).toLocaleString('en')} rows/s ` +
    `(${ROWS.toLocaleString('en')} rows, ${(encode.bytes / ROWS).toFixed(1)} bytes/row on the wire)`,
);
if (args.includes('--mssql')) {
  const client = await viaMssql(ROWS);
  console.log(
    `mssql stream (arrayRowMode${TLS ? ', TLS' : ''}): ${Math.round(client).toLocaleString('en')} rows/s; ` +
      `encode/client ratio ${(encode.rowsPerSecond / client).toFixed(1)}`,
  );
}
