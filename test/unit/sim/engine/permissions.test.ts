import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../../sim/engine/index.js';
import { collect } from './helpers.js';

test('role defaults: a db_datareader reads but may not write (229) or run DDL (262); wrong password is 18456', async () => {
  const e = createEngine();
  e.admin.createDatabase('Claims');
  e.admin.createLogin({
    name: 'reader',
    password: 'pw',
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_datareader'] }],
  });
  await e.admin.execute('CREATE TABLE dbo.T (id int PRIMARY KEY); INSERT INTO dbo.T VALUES (1);', {
    database: 'Claims',
  });
  const bad = await e.login({
    userName: 'reader',
    password: 'nope',
    database: '',
    appName: '',
    hostName: '',
    readOnlyIntent: false,
    clientProcessId: 0,
  });
  assert.equal(bad.kind === 'error' && bad.error.number, 18456);
  const r = await e.login({
    userName: 'reader',
    password: 'pw',
    database: '',
    appName: '',
    hostName: '',
    readOnlyIntent: false,
    clientProcessId: 0,
  });
  assert.equal(r.kind, 'session');
  if (r.kind !== 'session') return;
  assert.equal(r.database, 'Claims');
  const s = r.session;
  const read = await collect(s.executeBatch('SELECT id FROM dbo.T', new AbortController().signal));
  assert.deepEqual(read.sets[0], [[1n]]);
  const w = await collect(s.executeBatch('INSERT INTO dbo.T VALUES (2)', new AbortController().signal));
  assert.equal(w.errors[0]?.number, 229);
  assert.equal(
    w.errors[0]?.message,
    "The INSERT permission was denied on the object 'T', database 'Claims', schema 'dbo'.",
  );
  const d = await collect(s.executeBatch('CREATE TABLE dbo.U (id int)', new AbortController().signal));
  assert.equal(d.errors[0]?.number, 262);
  const other = await e.login({
    userName: 'reader',
    password: 'pw',
    database: 'msdbx',
    appName: '',
    hostName: '',
    readOnlyIntent: false,
    clientProcessId: 0,
  });
  assert.equal(other.kind === 'error' && other.error.number, 4060);
});
