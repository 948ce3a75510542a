/**
 * The fault hooks' HTTP control channel on a simulator running as its own process (`sim/cli.ts --control-port 0`),
 * as the chaos runner will drive it: register faults, watch them fire, release a stall, fail over, and get a 400
 * that says what was wrong.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../../../sim/index.js';

interface Ready {
  host: string;
  port: number;
  control: { host: string; port: number };
  replicas: { name: string; port: number }[];
}

let child: ChildProcess;
let ready: Ready;
const pools: sql.ConnectionPool[] = [];

before(async () => {
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'sim/cli.ts',
      '--port',
      '0',
      '--seed',
      '3',
      '--rows',
      '3000',
      '--secondary-port',
      '0',
      '--control-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  ready = await new Promise<Ready>((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l) as Ready));
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it was ready`)));
  });
});

after(async () => {
  for (const p of pools) await p.close().catch(() => undefined);
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://${ready.control.host}:${ready.control.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function connect(appName: string): Promise<sql.ConnectionPool> {
  const pool = new sql.ConnectionPool({
    server: ready.host,
    port: ready.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 1, min: 0 },
    options: { encrypt: false, trustServerCertificate: true, appName },
  });
  pools.push(pool);
  return pool.connect();
}

test('the ready line names the listener, both replicas and the control channel', () => {
  assert.equal(ready.control.host, '127.0.0.1');
  assert.deepEqual(
    ready.replicas.map((r) => r.name),
    ['A', 'B'],
  );
});

test('reset-connection over HTTP: the streamed read fails with ECONNRESET and the fault reports it fired', async () => {
  const pool = await connect('ctl-reset');
  const { status, json } = await call('POST', '/faults/reset-connection', {
    match: { appName: 'ctl-reset', text: 'ClaimLines' },
    afterRows: 500,
  });
  assert.equal(status, 200);
  await assert.rejects(
    pool.request().query('SELECT * FROM dbo.ClaimLines'),
    (e: { code?: string }) => e.code === 'ECONNRESET',
  );
  const after = await call('GET', `/faults/${json.id as string}`);
  assert.equal(after.json.fired, 1);
});

test('stall over HTTP: held until POST /faults/:id/release', async () => {
  const pool = await connect('ctl-stall');
  const { json } = await call('POST', '/faults/stall', { match: { appName: 'ctl-stall', text: 'SELECT 77' } });
  const id = json.id as string;
  const held = pool.request().query('SELECT 77 AS x');
  while ((await call('GET', `/faults/${id}`)).json.waiting !== 1) await sleep(20);
  assert.deepEqual((await call('POST', `/faults/${id}/release`)).json, { released: 1 });
  assert.deepEqual((await held).recordset, [{ x: 77 }]);
});

test('failover over HTTP answers with the settled roles; connections lists the endpoints', async () => {
  // mssql's connect() closes its probe connection: the pool's connection exists once a request ran.
  await (await connect('ctl-ag')).request().query('SELECT 1 AS x');
  const conns = await call('GET', '/connections');
  assert.ok(
    (conns.json as unknown as { appName: string; endpoint: string }[]).some(
      (c) => c.appName === 'ctl-ag' && c.endpoint === 'listener',
    ),
  );
  const { status, json } = await call('POST', '/ag/failover', { resolvingMs: 0 });
  assert.equal(status, 200);
  assert.equal(json.primary, 'B');
  assert.equal(json.phase, 'online');
});

test('a request the simulator cannot act on gets 400 saying what was wrong; an unknown route 404', async () => {
  assert.deepEqual(await call('POST', '/faults/stall', {}), {
    status: 400,
    json: { error: 'a fault needs match: { text, appName, login, spid }' },
  });
  const cdc = await call('POST', '/cdc/cleanup', { database: 'Claims' });
  assert.equal(cdc.status, 400);
  assert.equal(cdc.json.error, 'database Claims is not enabled for CDC');
  assert.equal((await call('POST', '/faults/f999/release')).status, 400);
  assert.equal((await call('GET', '/nothing')).status, 404);
});
