/**
 * A table's PHI plan: how each source column lands — as is, dropped, or HMAC-SHA256-hashed (hex string) — before
 * anything is written. The plan gives the landed columns (what the lake schema registers) and the projection of
 * a source row onto a schema's column order with the plan applied.
 */
import { createHmac } from 'node:crypto';
import type { TableConfig } from '../config/types.js';
import { ConfigError } from '../config/config-error.js';
import { keyColumnPhiProblems } from '../config/phi-key-rule.js';
import type { LakeColumn, LakeValue } from '../domain/values.js';
import type { SchemaDoc } from '../lake/schema-registry.js';

/** How one source column lands. */
type ColumnPlan = { kind: 'keep' } | { kind: 'drop' } | { kind: 'hash' };

export interface PhiPlan {
  /** The columns that land (dropped ones left out, hashed ones as strings). */
  landed(columns: readonly LakeColumn[]): LakeColumn[];
  /** Maps a row of `columns` (source order) to the schema's column order, applying the plan. */
  projector(columns: readonly LakeColumn[], schema: SchemaDoc): (values: readonly LakeValue[]) => LakeValue[];
}

/** A value's text for hashing (decimals and timestamps as JSON, binary as hex). */
function hashText(v: Exclude<LakeValue, null>): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/**
 * The PHI plan of table `tableId` (its `config`), keyed on `keyColumns`. Throws a {@link ConfigError} when a rule drops or
 * hashes a key column, or hashes without `hashKey` (config `privacy.hashKey`).
 */
export function phiPlan(
  tableId: string,
  config: TableConfig,
  keyColumns: readonly string[],
  hashKey: string | undefined,
): PhiPlan {
  const plans = new Map<string, ColumnPlan>();
  for (const rule of config.phi)
    for (const c of rule.columns)
      plans.set(c.toLowerCase(), rule.action === 'keep' ? { kind: 'keep' } : { kind: rule.action });
  const planOf = (name: string): ColumnPlan => plans.get(name.toLowerCase()) ?? { kind: 'keep' };
  if ([...plans.values()].some((p) => p.kind === 'hash') && !hashKey)
    throw new ConfigError([
      {
        path: 'tables',
        message: `table ${tableId} hashes PHI columns but privacy.hashKey is not set`,
        fix: 'correct the tables section of the configuration and restart the worker',
      },
    ]);
  // The same rule config check applies to the configured key; the worker also sees the source's key.
  const keyProblems = keyColumnPhiProblems(keyColumns, config.phi);
  if (keyProblems.length > 0)
    throw new ConfigError(
      keyProblems.map((p) => ({ path: `tables[${config.name}].phi`, message: p.message, fix: p.fix })),
    );
  const hash = (v: LakeValue): LakeValue =>
    v === null
      ? null
      : createHmac('sha256', hashKey ?? '')
          .update(hashText(v))
          .digest('hex');
  return {
    landed: (columns) =>
      columns
        .filter((c) => planOf(c.name).kind !== 'drop')
        .map((c) =>
          planOf(c.name).kind === 'hash' ? { name: c.name, type: { kind: 'string' }, nullable: c.nullable } : c,
        ),
    projector: (columns, schema) => {
      const index = new Map(columns.map((c, i) => [c.name.toLowerCase(), i]));
      const steps = schema.columns.map((c) => ({
        i: index.get(c.name.toLowerCase()),
        hashed: planOf(c.name).kind === 'hash',
      }));
      // The common case — the source's columns are the schema's, in its order, nothing hashed — needs no copy of
      // every row (one array per row was measurable garbage on an initial load).
      if (columns.length === steps.length && steps.every((st, j) => st.i === j && !st.hashed))
        return (values) => values as LakeValue[];
      return (values) =>
        steps.map(({ i, hashed }) => {
          const v = i === undefined ? null : (values[i] ?? null);
          return hashed ? hash(v) : v;
        });
    },
  };
}
