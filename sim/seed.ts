/**
 * A deterministic sample: `Claims.dbo.ClaimLines`, 25 columns (identity PK, rowversion, decimals, datetime2),
 * with rows generated from a seed. Loaded through the engine's bulk path (one transaction, no SQL parsing) so
 * millions of rows load in seconds.
 */
import type { SqlValue } from './engine/api.js';
import type { SimEngine } from './engine/index.js';

export const CLAIM_LINES_DDL = `CREATE TABLE dbo.ClaimLines (
  claim_line_id bigint IDENTITY(1,1) NOT NULL CONSTRAINT PK_ClaimLines PRIMARY KEY,
  claim_id bigint NOT NULL,
  line_no int NOT NULL,
  member_id int NOT NULL,
  provider_id int NOT NULL,
  service_date date NOT NULL,
  paid_date date NULL,
  procedure_code varchar(10) NOT NULL,
  diagnosis_code varchar(10) NOT NULL,
  modifier char(2) NULL,
  revenue_code char(4) NOT NULL,
  units decimal(9,2) NOT NULL,
  billed_amount decimal(18,2) NOT NULL,
  allowed_amount decimal(18,2) NOT NULL,
  paid_amount decimal(18,2) NOT NULL,
  copay decimal(9,2) NOT NULL,
  status tinyint NOT NULL,
  is_adjusted bit NOT NULL,
  place_of_service char(2) NOT NULL,
  rendering_npi varchar(10) NOT NULL,
  created_at datetime2(7) NOT NULL,
  updated_at datetime2(7) NOT NULL,
  row_version rowversion NOT NULL,
  notes nvarchar(100) NULL,
  source_system varchar(20) NOT NULL
)`;

/** Columns the bulk loader supplies (identity and rowversion are assigned by the engine). */
export const CLAIM_LINES_LOAD_COLUMNS = [
  'claim_id',
  'line_no',
  'member_id',
  'provider_id',
  'service_date',
  'paid_date',
  'procedure_code',
  'diagnosis_code',
  'modifier',
  'revenue_code',
  'units',
  'billed_amount',
  'allowed_amount',
  'paid_amount',
  'copay',
  'status',
  'is_adjusted',
  'place_of_service',
  'rendering_npi',
  'created_at',
  'updated_at',
  'notes',
  'source_system',
];

/** mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROCS = ['99213', '99214', '80053', '85025', '93000', '71046', '36415', 'J1885'];
const DIAGS = ['E11.9', 'I10', 'J06.9', 'M54.5', 'Z00.00', 'R51.9', 'K21.9'];

/** Row i of the sample (values in CLAIM_LINES_LOAD_COLUMNS order). */
export function claimLineValues(i: number, rnd: () => number): SqlValue[] {
  const day = 738_000 + Math.floor(rnd() * 900);
  const billed = BigInt(5_000 + Math.floor(rnd() * 200_000));
  const allowed = (billed * 8n) / 10n;
  const paid = (allowed * 9n) / 10n;
  return [
    BigInt(Math.floor(i / 4) + 1),
    BigInt((i % 4) + 1),
    BigInt(100_000 + Math.floor(rnd() * 50_000)),
    BigInt(2_000 + Math.floor(rnd() * 7_000)),
    { kind: 'date', days: day },
    i % 10 === 0 ? null : { kind: 'date', days: day + 14 },
    PROCS[Math.floor(rnd() * PROCS.length)] ?? '99213',
    DIAGS[Math.floor(rnd() * DIAGS.length)] ?? 'I10',
    i % 3 === 0 ? null : '25',
    '0450',
    { kind: 'decimal', unscaled: BigInt(100 + Math.floor(rnd() * 400)), scale: 2 },
    { kind: 'decimal', unscaled: billed, scale: 2 },
    { kind: 'decimal', unscaled: allowed, scale: 2 },
    { kind: 'decimal', unscaled: paid, scale: 2 },
    { kind: 'decimal', unscaled: 2_500n, scale: 2 },
    BigInt(Math.floor(rnd() * 5)),
    rnd() < 0.1,
    '11',
    '1234567893',
    { kind: 'datetime', days: day, ticks: BigInt(Math.floor(rnd() * 863_999_999_999)) },
    { kind: 'datetime', days: day + 1, ticks: BigInt(Math.floor(rnd() * 863_999_999_999)) },
    i % 5 === 0 ? 'adjusted after review' : null,
    'FACETS',
  ];
}

/** Creates Claims.dbo.ClaimLines (if missing) and loads `rows` generated rows. */
export async function seedClaimLines(
  engine: SimEngine,
  opts: { seed: number; rows: number; database?: string },
): Promise<void> {
  const database = opts.database ?? 'Claims';
  await engine.admin.execute(`IF OBJECT_ID('dbo.ClaimLines') IS NULL ${CLAIM_LINES_DDL}`, { database });
  const rnd = prng(opts.seed);
  let i = 0;
  const batch = 100_000;
  while (i < opts.rows) {
    const n = Math.min(batch, opts.rows - i);
    const rows: SqlValue[][] = [];
    for (let k = 0; k < n; k++) rows.push(claimLineValues(i + k, rnd));
    await engine.admin.bulkInsert(database, 'dbo.ClaimLines', CLAIM_LINES_LOAD_COLUMNS, rows);
    i += n;
  }
}
