import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runLakeCommand } from '../../../src/cli/lake.js';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema } from '../../../src/lake/schema-registry.js';
import { freshStore } from '../../support/lake.js';
import { runWindow } from '../../support/lake-window.js';
import { azuriteForTests } from '../../support/stack.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('tidemark lake: summary and ad-hoc SQL over latest state', async () => {
  const { store, container } = await freshStore('cli');
  const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Providers' });
  const { doc } = await registerSchema(store, layout, {
    keyColumns: ['id'],
    columns: [
      { name: 'id', type: { kind: 'int32' }, nullable: false },
      { name: 'name', type: { kind: 'string', maxLength: 50 }, nullable: true },
    ],
  });
  await runWindow({ store, layout }, doc, { sequence: 1, from: '00', to: '03' }, 'a', [
    { op: 'c', position: '01', commitTs: null, values: [1, 'first'] },
    { op: 'u', position: '02', commitTs: null, values: [1, 'renamed'] },
    { op: 'c', position: '03', commitTs: null, values: [2, 'second'] },
  ]);
  process.env.TIDEMARK_LAKE_CONNECTION_STRING = await azuriteForTests();
  const base = ['Claims.dbo.Providers', '--container', container, '--prefix', 'raw'];
  const out = capture();
  assert.equal(await runLakeCommand(base, out.stream, capture().stream), 0);
  const summary = JSON.parse(out.text()) as Record<string, unknown>;
  assert.deepEqual(summary, {
    table: 'Claims.dbo.Providers',
    windows: 1,
    lastWindow: summary.lastWindow,
    schemaVersion: 1,
    rowsByOp: { c: 2, u: 1, d: 0, r: 0 },
  });
  const sql = capture();
  assert.equal(await runLakeCommand([...base, '--sql', 'SELECT id, name FROM latest ORDER BY id'], sql.stream), 0);
  assert.equal(sql.text(), '{"id":1,"name":"renamed"}\n{"id":2,"name":"second"}\n');
  const err = capture();
  assert.equal(await runLakeCommand(['not-a-table'], capture().stream, err.stream), 2);
  assert.match(err.text(), /db\.schema\.table/);
});
