/** A 25-column claim-line row shape shared by the TDS benchmarks. */
import type { ColumnMeta, SqlValue } from '../sim/engine/api.js';

export const CLAIM_LINE_COLUMNS: ColumnMeta[] = [
  { name: 'claim_line_id', type: { name: 'bigint' }, nullable: false, identity: true },
  { name: 'claim_id', type: { name: 'bigint' }, nullable: false },
  { name: 'line_no', type: { name: 'int' }, nullable: false },
  { name: 'member_id', type: { name: 'int' }, nullable: false },
  { name: 'provider_id', type: { name: 'int' }, nullable: false },
  { name: 'service_date', type: { name: 'date' }, nullable: false },
  { name: 'paid_date', type: { name: 'date' }, nullable: true },
  { name: 'procedure_code', type: { name: 'varchar', length: 10 }, nullable: false },
  { name: 'diagnosis_code', type: { name: 'varchar', length: 10 }, nullable: false },
  { name: 'modifier', type: { name: 'char', length: 2 }, nullable: true },
  { name: 'revenue_code', type: { name: 'char', length: 4 }, nullable: false },
  { name: 'units', type: { name: 'decimal', precision: 9, scale: 2 }, nullable: false },
  { name: 'billed_amount', type: { name: 'decimal', precision: 18, scale: 2 }, nullable: false },
  { name: 'allowed_amount', type: { name: 'decimal', precision: 18, scale: 2 }, nullable: false },
  { name: 'paid_amount', type: { name: 'decimal', precision: 18, scale: 2 }, nullable: false },
  { name: 'copay', type: { name: 'decimal', precision: 9, scale: 2 }, nullable: false },
  { name: 'status', type: { name: 'tinyint' }, nullable: false },
  { name: 'is_adjusted', type: { name: 'bit' }, nullable: false },
  { name: 'place_of_service', type: { name: 'char', length: 2 }, nullable: false },
  { name: 'rendering_npi', type: { name: 'varchar', length: 10 }, nullable: false },
  { name: 'created_at', type: { name: 'datetime2', scale: 7 }, nullable: false },
  { name: 'updated_at', type: { name: 'datetime2', scale: 7 }, nullable: false },
  { name: 'row_version', type: { name: 'rowversion' }, nullable: false, isRowversion: true },
  { name: 'notes', type: { name: 'nvarchar', length: 100 }, nullable: true },
  { name: 'source_system', type: { name: 'varchar', length: 20 }, nullable: false },
];

/** Row i of a deterministic synthetic claim-line table. */
export function claimLineRow(i: number): SqlValue[] {
  const rv = Buffer.alloc(8);
  rv.writeBigUInt64BE(BigInt(i + 1));
  const day = 738000 + (i % 900);
  return [
    BigInt(i + 1),
    BigInt(Math.floor(i / 4) + 1),
    BigInt((i % 4) + 1),
    BigInt(100000 + (i % 50000)),
    BigInt(2000 + (i % 7000)),
    { kind: 'date', days: day },
    i % 10 === 0 ? null : { kind: 'date', days: day + 14 },
    '99213',
    'E11.9',
    i % 3 === 0 ? null : '25',
    '0450',
    { kind: 'decimal', unscaled: 100n, scale: 2 },
    { kind: 'decimal', unscaled: BigInt(15000 + (i % 10000)), scale: 2 },
    { kind: 'decimal', unscaled: BigInt(12000 + (i % 9000)), scale: 2 },
    { kind: 'decimal', unscaled: BigInt(9000 + (i % 8000)), scale: 2 },
    { kind: 'decimal', unscaled: 2500n, scale: 2 },
    BigInt(i % 5),
    i % 7 === 0,
    '11',
    '1234567893',
    { kind: 'datetime', days: day, ticks: BigInt(i % 864_000) * 1_000_000n + 1234567n },
    { kind: 'datetime', days: day + 1, ticks: BigInt(i % 864_000) * 1_000_000n + 7654321n },
    rv,
    i % 5 === 0 ? 'adjusted after review' : null,
    'FACETS',
  ];
}
