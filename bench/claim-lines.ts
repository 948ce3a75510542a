/**
 * Synthetic 27-column claim-line rows (the seed's widest table), deterministic and cheap to generate, in the
 * lake's JS value representation. No real data: every value is derived from the row number.
 */
import type { LakeColumn, LakeValue } from '../src/domain/values.js';

const str = (name: string, maxLength: number, nullable = true): LakeColumn => ({
  name,
  type: { kind: 'string', maxLength },
  nullable,
});
const money = (name: string): LakeColumn => ({
  name,
  type: { kind: 'decimal', precision: 18, scale: 2 },
  nullable: true,
});
const ts7 = (name: string): LakeColumn => ({ name, type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: false });

export const CLAIM_LINE_COLUMNS: readonly LakeColumn[] = [
  { name: 'claim_line_id', type: { kind: 'int64' }, nullable: false },
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'line_number', type: { kind: 'int16' }, nullable: false },
  str('member_id', 20, false),
  str('provider_npi', 10),
  str('procedure_code', 10),
  str('modifier_1', 2),
  str('modifier_2', 2),
  str('diagnosis_code_1', 8),
  str('diagnosis_code_2', 8),
  str('diagnosis_code_3', 8),
  str('diagnosis_code_4', 8),
  str('revenue_code', 4),
  { name: 'place_of_service', type: { kind: 'uint8' }, nullable: true },
  { name: 'units', type: { kind: 'decimal', precision: 9, scale: 2 }, nullable: true },
  money('billed_amount'),
  money('allowed_amount'),
  money('paid_amount'),
  money('copay_amount'),
  str('status_code', 2, false),
  { name: 'service_from', type: { kind: 'date' }, nullable: true },
  { name: 'service_to', type: { kind: 'date' }, nullable: true },
  ts7('created_at'),
  ts7('updated_at'),
  { name: 'is_adjudicated', type: { kind: 'boolean' }, nullable: false },
  { name: 'claim_guid', type: { kind: 'uuid' }, nullable: false },
  { name: 'row_version', type: { kind: 'binary', maxLength: 8 }, nullable: false },
];

const PROCEDURES = ['99213', '99214', '80053', '85025', '71046', '93000', '36415', '97110'];
const DIAGNOSES = ['E11.9', 'I10', 'J06.9', 'M54.5', 'Z00.00', 'R51.9', 'K21.9', 'F41.1'];
const MODIFIERS = ['25', '59', 'GT', 'RT', 'LT', null];
const STATUSES = ['PD', 'DN', 'PN', 'AJ'];
const BASE_NANOS = 1_763_000_000_000_000_000n; // Nov 2025

/** Cents → exact decimal text with 2 digits. */
function cents(n: number): string {
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;
}

/** The i-th synthetic claim line, values in {@link CLAIM_LINE_COLUMNS} order. */
export function claimLineRow(i: number): LakeValue[] {
  const h = (i * 2654435761) >>> 0;
  const billed = 1000 + (h % 500_000);
  const allowed = Math.floor(billed * 0.8);
  const created = BASE_NANOS + BigInt(i) * 1_000_000_100n;
  const rv = Buffer.alloc(8);
  rv.writeBigUInt64BE(BigInt(i) + 1n);
  return [
    BigInt(i) + 1n,
    BigInt(Math.floor(i / 4)) + 1n,
    (i % 4) + 1,
    `M${String(h % 10_000_000).padStart(9, '0')}`,
    String(1_000_000_000 + (h % 99_999)),
    PROCEDURES[h % PROCEDURES.length] ?? null,
    MODIFIERS[h % MODIFIERS.length] ?? null,
    MODIFIERS[(h >>> 3) % MODIFIERS.length] ?? null,
    DIAGNOSES[h % DIAGNOSES.length] ?? null,
    DIAGNOSES[(h >>> 4) % DIAGNOSES.length] ?? null,
    i % 3 === 0 ? (DIAGNOSES[(h >>> 5) % DIAGNOSES.length] ?? null) : null,
    null,
    String(100 + (h % 900)).padStart(4, '0'),
    11 + (h % 12),
    cents(100 + (h % 400)),
    cents(billed),
    cents(allowed),
    cents(Math.floor(allowed * 0.9)),
    cents(h % 5000),
    STATUSES[h % STATUSES.length] ?? 'PD',
    20_000 + (i % 365),
    20_000 + (i % 365) + (h % 3),
    created,
    created + 300_000_000_000n,
    h % 2 === 0,
    `${h.toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0').slice(-12)}`,
    rv,
  ];
}
