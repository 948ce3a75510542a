import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiPlan } from '../../../src/capture/phi-plan.js';
import type { TableConfig } from '../../../src/config/types.js';
import type { LakeColumn, LakeValue } from '../../../src/domain/values.js';
import type { SchemaDoc } from '../../../src/lake/schema-registry.js';

const col = (name: string): LakeColumn => ({ name, type: { kind: 'string' }, nullable: true });
const schemaOf = (names: string[]) =>
  ({ version: 1, columns: names.map(col), keyColumns: ['id'] }) as unknown as SchemaDoc;
const config = (phi: TableConfig['phi']) => ({ name: 'dbo.T', phi }) as unknown as TableConfig;

test('the projection lands each schema column from its source column, whatever the plan or order', () => {
  const row: LakeValue[] = ['1', 'Ann', 'x'];
  // Same columns, same order, nothing hashed (an initial load's usual case): the values as read.
  const same = phiPlan('T', config([]), ['id'], undefined).projector(
    [col('id'), col('name'), col('memo')],
    schemaOf(['id', 'name', 'memo']),
  );
  assert.deepEqual(same(row), ['1', 'Ann', 'x']);
  // Reordered source, a column the schema does not have yet (NULL), a dropped one left out.
  const moved = phiPlan('T', config([{ action: 'drop', columns: ['memo'] }] as never), ['id'], undefined).projector(
    [col('name'), col('memo'), col('id')],
    schemaOf(['id', 'name', 'added']),
  );
  assert.deepEqual(moved(['Ann', 'x', '1']), ['1', 'Ann', null]);
  // Same order but one column hashed: not the values as read.
  const hashed = phiPlan('T', config([{ action: 'hash', columns: ['name'] }] as never), ['id'], 'k').projector(
    [col('id'), col('name'), col('memo')],
    schemaOf(['id', 'name', 'memo']),
  );
  const out = hashed(row);
  assert.equal(out[0], '1');
  assert.match(out[1] as string, /^[0-9a-f]{64}$/);
  assert.equal(out[2], 'x');
});
