/**
 * `node --import tsx bench/sim-write-path.ts [-- --operations 600 --claims-per-statement 20]`: the simulator's
 * write path for the claims workload, on the engine in process (no TDS, no sockets, no other process): the
 * statements of bench:load's mix (bench/steady-workload.ts LOAD_MIX, built by sim/workload's own SQL builders) —
 * a 20-claim INSERT of dbo.Claims with OUTPUT and the INSERT of their lines in one transaction (70%), a re-pricing
 * of every line of 20 claims (25%), a status update of 20 claims (5%) — with CDC on both tables and the capture
 * job harvested after every 10 operations. Prints CPU microseconds per change event (both tables, the harvest
 * included), split into parsing (the same texts parsed again apart), statements and harvest. One process, so the
 * figure moves less than a whole-simulator run on a shared machine; compare only within one run or one machine
 * state. Figures, not assertions.
 */
import { parseArgs } from 'node:util';
import { cdcAdmin } from '../sim/engine/cdc/index.js';
import { parseBatch } from '../sim/engine/parser.js';
import { prng } from '../sim/seed.js';
import { ClaimsWorkload } from '../sim/workload/index.js';
import { CLAIMS_TABLES } from '../sim/workload/claims-schema.js';
import { LOAD_MIX } from './steady-workload.js';
import { engineSession } from './sim-engine-session.js';

const { values } = parseArgs({
  options: {
    operations: { type: 'string', default: '600' },
    'claims-per-statement': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const OPS = Number(values.operations);
const N = Number(values['claims-per-statement']);
const ROUNDS = Number(values.rounds);
const say = (line: string) => process.stdout.write(`${line}\n`);

const { engine: e, session: s } = await engineSession({ sysadmin: true });
const cdc = cdcAdmin(e);
cdc.configure({ autoStart: false });

/** Runs a batch; returns its first result set's rows (as value arrays) and the rows it changed. */
async function run(text: string): Promise<{ rows: unknown[][]; changed: number }> {
  const rows: unknown[][] = [];
  let changed = 0;
  for await (const ev of s.executeBatch(text, new AbortController().signal)) {
    if (ev.kind === 'resultSet') for (const r of ev.rows) rows.push(r);
    if (ev.kind === 'done' && ev.rowCount !== undefined) changed += Number(ev.rowCount);
    if (ev.kind === 'message' && ev.error.severity >= 11) throw new Error(`batch failed: ${ev.error.message}`);
  }
  return { rows, changed };
}

for (const t of CLAIMS_TABLES.filter((x) => x.name === 'Claims' || x.name === 'ClaimLines')) {
  await run(t.ddl);
  for (const ix of t.indexes ?? []) await run(ix);
}
await run('EXEC sys.sp_cdc_enable_db');
for (const t of ['Claims', 'ClaimLines'])
  await run(
    `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${t}', @role_name = NULL, @capture_instance = N'dbo_${t}', @supports_net_changes = 1`,
  );

// The workload's own SQL builders (private: a bench reaches in rather than copying them).
const w = new ClaimsWorkload(null as never, { seed: 11 }) as unknown as {
  claimDraw(lines: number): { billedPerLine: number[] };
  claimTuple(number: string, daysAgo: number, d: unknown): string;
  lineTuple(claimId: string, line: number, daysAgo: number, billed: number): string;
};
const LINE_COLUMNS = (ClaimsWorkload as unknown as { LINE_COLUMNS: string }).LINE_COLUMNS;
const CLAIM_COLUMNS = (ClaimsWorkload as unknown as { CLAIM_COLUMNS: string }).CLAIM_COLUMNS;
const rnd = prng(11);
const claims: { id: number; lines: number }[] = [];
let claimNo = 0;

type Timing = { statementsUs: number; parseUs: number; captureUs: number; events: number };
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function operation(t: Timing): Promise<void> {
  const r = rnd() * 100;
  const texts: string[] = [];
  const t0 = cpu();
  if (r < LOAD_MIX.insertClaim || claims.length < N) {
    const cs = Array.from({ length: N }, () => {
      const lines = 1 + Math.floor(rnd() * 5);
      const d = w.claimDraw(lines);
      const number = `CLM${++claimNo}`;
      return { number, lines, d, tuple: w.claimTuple(number, 0, d) };
    });
    const insertClaims = `SET XACT_ABORT ON;\nINSERT INTO dbo.Claims (${CLAIM_COLUMNS}) OUTPUT inserted.ClaimId, inserted.ClaimNumber\nVALUES ${cs.map((c) => c.tuple).join(',\n')};`;
    texts.push(insertClaims);
    await run('BEGIN TRAN');
    const out = await run(insertClaims);
    const ids = new Map(out.rows.map((x) => [String(x[1]), Number(x[0])]));
    const tuples: string[] = [];
    for (const c of cs) {
      const id = ids.get(c.number) as number;
      c.d.billedPerLine.forEach((b, i) => tuples.push(w.lineTuple(String(id), i + 1, 0, b)));
      claims.push({ id, lines: c.lines });
    }
    const insertLines = `INSERT INTO dbo.ClaimLines (${LINE_COLUMNS})\nVALUES ${tuples.join(',\n')};`;
    texts.push(insertLines);
    const lines = await run(insertLines);
    await run('COMMIT');
    t.events += out.changed + lines.changed;
  } else {
    const ids = [...new Set(Array.from({ length: N }, () => claims[Math.floor(rnd() * claims.length)]!.id))];
    const text =
      r < LOAD_MIX.insertClaim + LOAD_MIX.repriceLine
        ? `UPDATE dbo.ClaimLines SET AllowedAmount = AllowedAmount * 0.9731, PaidAmount = PaidAmount * 0.9731, IsAdjusted = 1,
         AdjustmentReason = N'reprice 0.9731', PricingVersion = PricingVersion + 1, UpdatedAt = SYSUTCDATETIME()
       WHERE ClaimId IN (${ids.join(', ')})`
        : `UPDATE dbo.Claims SET ClaimStatus = 'PAID', TotalPaid = TotalBilled * 0.6, UpdatedAt = SYSUTCDATETIME() WHERE ClaimId IN (${ids.join(', ')})`;
    texts.push(text);
    t.events += (await run(text)).changed;
  }
  t.statementsUs += cpu() - t0;
  const p0 = cpu();
  for (const x of texts) parseBatch(x);
  t.parseUs += cpu() - p0;
}

async function round(ops: number): Promise<Timing> {
  const t: Timing = { statementsUs: 0, parseUs: 0, captureUs: 0, events: 0 };
  for (let i = 0; i < ops; i++) {
    await operation(t);
    if (i % 10 === 9) {
      const c0 = cpu();
      await cdc.runCapture('Claims');
      t.captureUs += cpu() - c0;
    }
  }
  return t;
}

await round(Math.min(200, OPS)); // warm-up (JIT), and claims to update
for (let k = 0; k < ROUNDS; k++) {
  const t = await round(OPS);
  const per = (us: number) => (us / t.events).toFixed(1);
  say(
    `round ${k + 1}: ${t.events} change events; CPU per event ${per(t.statementsUs + t.captureUs)} µs = statements ${per(t.statementsUs)} ` +
      `(of which parsing ~${per(t.parseUs)}) + capture harvest ${per(t.captureUs)}`,
  );
}
