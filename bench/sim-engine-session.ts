/**
 * A simulator engine in this process with the Claims database and one session of a db_owner login (no TDS, no
 * sockets): what the in-process simulator benches (bench/sim-write-path.ts, bench/statement-cache.ts,
 * bench/sim-growth.ts) start from; and bench:load's statement mix on it (`claimsTables`, `claimsMix`), built by
 * sim/workload's own SQL builders.
 */
import type { Session } from '../sim/engine/api.js';
import { createEngine, type SimEngine } from '../sim/engine/index.js';
import { prng } from '../sim/seed.js';
import { ClaimsWorkload } from '../sim/workload/index.js';
import { CLAIMS_TABLES } from '../sim/workload/claims-schema.js';
import { LOAD_MIX } from './steady-workload.js';

/** `sysadmin`: the login may run server-level procedures too (the CDC capture job's). */
export async function engineSession(options: { sysadmin?: boolean } = {}): Promise<{
  engine: SimEngine;
  session: Session;
}> {
  const engine = createEngine();
  engine.admin.createDatabase('Claims');
  engine.admin.createLogin({
    name: 'b',
    password: 'pw',
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_owner'] }],
    ...(options.sysadmin ? { sysadmin: true } : {}),
  });
  const login = await engine.login({
    userName: 'b',
    password: 'pw',
    database: 'Claims',
    appName: 'bench',
    hostName: 'h',
    readOnlyIntent: false,
    clientProcessId: 1,
  });
  if (login.kind !== 'session') throw new Error('login failed');
  return { engine, session: login.session };
}

/** What a batch returned: its result sets' rows (as value arrays) and the rows it changed. */
export interface BatchResult {
  rows: unknown[][];
  changed: number;
}

/** Runs one batch on `session`; a severity ≥ 11 message fails it. */
export async function runBatch(session: Session, text: string): Promise<BatchResult> {
  const rows: unknown[][] = [];
  let changed = 0;
  for await (const ev of session.executeBatch(text, new AbortController().signal)) {
    if (ev.kind === 'resultSet') for (const r of ev.rows) rows.push(r);
    if (ev.kind === 'done' && ev.rowCount !== undefined) changed += Number(ev.rowCount);
    if (ev.kind === 'message' && ev.error.severity >= 11) throw new Error(`batch failed: ${ev.error.message}`);
  }
  return { rows, changed };
}

/** Creates dbo.Claims and dbo.ClaimLines with their indexes; with `cdc`, both captured (net changes on). */
export async function claimsTables(run: (text: string) => Promise<BatchResult>, options: { cdc: boolean }) {
  for (const t of CLAIMS_TABLES.filter((x) => x.name === 'Claims' || x.name === 'ClaimLines')) {
    await run(t.ddl);
    for (const ix of t.indexes ?? []) await run(ix);
  }
  if (!options.cdc) return;
  await run('EXEC sys.sp_cdc_enable_db');
  for (const t of ['Claims', 'ClaimLines'])
    await run(
      `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${t}', @role_name = NULL, @capture_instance = N'dbo_${t}', @supports_net_changes = 1`,
    );
}

/** One operation of the mix: the change events it made and the texts it ran (for re-parsing them apart). */
export interface MixOperation {
  events: number;
  /** Rows it inserted (both tables). */
  inserted: number;
  texts: string[];
}

/**
 * bench:load's statement mix (bench/steady-workload.ts LOAD_MIX): `claimsPerStatement`-claim INSERTs of dbo.Claims
 * with OUTPUT and their 1–5 lines each in one transaction, re-pricings of every line of that many claims, status
 * updates of that many claims; seeded, so two runs make the same statements.
 */
export function claimsMix(run: (text: string) => Promise<BatchResult>, claimsPerStatement: number, seed = 11) {
  const N = claimsPerStatement;
  // The workload's own SQL builders (private: a bench reaches in rather than copying them).
  const w = new ClaimsWorkload(null as never, { seed }) as unknown as {
    claimDraw(lines: number): { billedPerLine: number[] };
    claimTuple(number: string, daysAgo: number, d: unknown): string;
    lineTuple(claimId: string, line: number, daysAgo: number, billed: number): string;
  };
  const LINE_COLUMNS = (ClaimsWorkload as unknown as { LINE_COLUMNS: string }).LINE_COLUMNS;
  const CLAIM_COLUMNS = (ClaimsWorkload as unknown as { CLAIM_COLUMNS: string }).CLAIM_COLUMNS;
  const rnd = prng(seed);
  const claims: { id: number; lines: number }[] = [];
  let claimNo = 0;

  return async function operation(): Promise<MixOperation> {
    const r = rnd() * 100;
    if (r < LOAD_MIX.insertClaim || claims.length < N) {
      const cs = Array.from({ length: N }, () => {
        const lines = 1 + Math.floor(rnd() * 5);
        const d = w.claimDraw(lines);
        const number = `CLM${++claimNo}`;
        return { number, lines, d, tuple: w.claimTuple(number, 0, d) };
      });
      const insertClaims = `SET XACT_ABORT ON;\nINSERT INTO dbo.Claims (${CLAIM_COLUMNS}) OUTPUT inserted.ClaimId, inserted.ClaimNumber\nVALUES ${cs.map((c) => c.tuple).join(',\n')};`;
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
      const lines = await run(insertLines);
      await run('COMMIT');
      const events = out.changed + lines.changed;
      return { events, inserted: events, texts: [insertClaims, insertLines] };
    }
    const ids = [...new Set(Array.from({ length: N }, () => claims[Math.floor(rnd() * claims.length)]!.id))];
    const text =
      r < LOAD_MIX.insertClaim + LOAD_MIX.repriceLine
        ? `UPDATE dbo.ClaimLines SET AllowedAmount = AllowedAmount * 0.9731, PaidAmount = PaidAmount * 0.9731, IsAdjusted = 1,
         AdjustmentReason = N'reprice 0.9731', PricingVersion = PricingVersion + 1, UpdatedAt = SYSUTCDATETIME()
       WHERE ClaimId IN (${ids.join(', ')})`
        : `UPDATE dbo.Claims SET ClaimStatus = 'PAID', TotalPaid = TotalBilled * 0.6, UpdatedAt = SYSUTCDATETIME() WHERE ClaimId IN (${ids.join(', ')})`;
    return { events: (await run(text)).changed, inserted: 0, texts: [text] };
  };
}
