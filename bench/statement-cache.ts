/**
 * `node --import tsx bench/statement-cache.ts [-- --statements 4000]`: what the simulator's parsed-statement cache
 * (sim/engine/statement-cache.ts) saves on a parameterised statement sent again and again, as mssql sends
 * `request.input` queries (sp_executesql): the same text run `--statements` times with other parameter values,
 * with the cache, and with it emptied before every statement (each one parsed, as before the cache), in
 * alternating blocks in one process, on the engine in process (no TDS). Two texts: a short key lookup, and a
 * 27-column read of dbo.ClaimLines' shape by a key range (the length of Tidemark's window reads). Prints CPU
 * microseconds per statement and the ratio within the run. Figures, not assertions; the machine is shared.
 */
import { parseArgs } from 'node:util';
import type { RpcParam } from '../sim/engine/api.js';
import type { ParsedStatementCache } from '../sim/engine/statement-cache.js';
import { CLAIMS_TABLES } from '../sim/workload/index.js';
import { engineSession } from './sim-engine-session.js';

const { values } = parseArgs({ options: { statements: { type: 'string', default: '4000' } } });
const N = Number(values.statements);
const say = (line: string) => process.stdout.write(`${line}\n`);

const { engine: e, session: s } = await engineSession();
const drain = async (it: AsyncIterable<unknown>) => {
  for await (const ev of it) void ev;
};
await drain(s.executeBatch(CLAIMS_TABLES.find((t) => t.name === 'ClaimLines')!.ddl, new AbortController().signal));
const cols =
  'ClaimId, LineNumber, ServiceDate, ProcedureCode, Modifier1, Modifier2, DiagnosisCode1, DiagnosisCode2, RevenueCode, PlaceOfService, Units, BilledAmount, AllowedAmount, PaidAmount, CopayAmount, CoinsuranceAmount, DeductibleAmount, RenderingNpi, LineStatus, IsAdjusted, AdjustmentReason, PricingVersion, LineGuid, ReceivedAt, RemittanceTrace, CreatedAt, UpdatedAt';
const rows = Array.from(
  { length: 200 },
  (_, i) =>
    `(${i + 1}, 1, '2026-01-01', '99213', NULL, NULL, 'E11.9', NULL, '0450', '11', 1.00, 10.00, 8.00, 6.40, 0, 0, 0, '1234567890', 1, 0, NULL, 1, NEWID(), SYSDATETIMEOFFSET(), NULL, SYSUTCDATETIME(), SYSUTCDATETIME())`,
);
await drain(
  s.executeBatch(`INSERT INTO dbo.ClaimLines (${cols}) VALUES ${rows.join(',')}`, new AbortController().signal),
);

const cache = (e as unknown as { statementCache: ParsedStatementCache }).statementCache;
const texts = {
  'key lookup': 'SELECT PaidAmount FROM dbo.ClaimLines WHERE ClaimId = @k AND LineNumber = 1',
  '27-column range read': `SELECT ${cols
    .split(', ')
    .map((c) => `l.${c}`)
    .join(
      ', ',
    )} FROM dbo.ClaimLines AS l WHERE l.ClaimId > @k AND l.ClaimId <= @k + 2 ORDER BY l.ClaimId, l.LineNumber`,
};
const rpc = (text: string, k: number): RpcParam[] => [
  { name: '@statement', type: { name: 'nvarchar', length: -1 }, value: text, output: false },
  { name: '@params', type: { name: 'nvarchar', length: -1 }, value: '@k bigint', output: false },
  { name: '@k', type: { name: 'bigint' }, value: BigInt(k), output: false },
];
const block = async (text: string, cached: boolean, n: number) => {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (!cached) cache.invalidate();
    await drain(s.executeRpc('sp_executesql', rpc(text, (i % 190) + 1), new AbortController().signal));
  }
  const d = process.cpuUsage(t);
  return d.user + d.system;
};
for (const [name, text] of Object.entries(texts)) {
  await block(text, true, 500); // warm-up (JIT)
  await block(text, false, 500);
  let withCache = 0;
  let without = 0;
  for (let b = 0; b < 4; b++) {
    without += await block(text, false, N / 4);
    withCache += await block(text, true, N / 4);
  }
  const per = (us: number) => +(us / N).toFixed(1);
  say(
    `${name} (${text.length} characters): ${per(without)} µs CPU per statement parsed each time, ${per(withCache)} µs from the cache: ` +
      `${(without / withCache).toFixed(2)}x`,
  );
}
