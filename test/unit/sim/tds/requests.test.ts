/**
 * Decoding of client messages from bytes written out by hand from MS-TDS: PRELOGIN (2.2.6.5), LOGIN7 (2.2.6.4),
 * ALL_HEADERS (2.2.5.3), SQLBatch (2.2.6.7), RPC with typed parameters (2.2.6.6), Transaction Manager (2.2.6.9).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IsolationLevel } from '../../../../sim/engine/api.js';
import { deobfuscatePassword, readLogin7 } from '../../../../sim/tds/login7.js';
import { buildPreloginResponse, readPrelogin } from '../../../../sim/tds/prelogin.js';
import { readRpcRequest, readSqlBatch, readTransactionManagerRequest } from '../../../../sim/tds/requests.js';
import { hex } from './hex.js';

const ALL_HEADERS = '16 00 00 00 12 00 00 00 02 00 01 02 03 04 05 06 07 08 01 00 00 00';
const NO_TX_HEADERS = '16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 00 01 00 00 00';
const COLLATION = '09 04 d0 00 34';

test('PRELOGIN request: option table with big-endian offsets and lengths', () => {
  const payload = hex(`
    00 00 10 00 06  01 00 16 00 01  04 00 17 00 01  ff
    13 02 00 00 00 00  01  00`);
  const r = readPrelogin(payload).value;
  assert.deepEqual(r.version, { major: 19, minor: 2, build: 0, subbuild: 0 });
  assert.equal(r.encryption, 1);
  assert.equal(r.mars, 0);
});

test('PRELOGIN response: VERSION 15.0.2000, ENCRYPTION, INSTOPT, empty THREADID, MARS off', () => {
  assert.deepEqual(
    buildPreloginResponse(0x02),
    hex(`
      00 00 1a 00 06  01 00 20 00 01  02 00 21 00 01  03 00 22 00 00  04 00 22 00 01  ff
      0f 00 07 d0 00 00  02  00  00`),
  );
});

test('LOGIN7 password obfuscation: nibbles swapped, XOR 0xA5', () => {
  assert.deepEqual(deobfuscatePassword(hex('b3 a5')), hex('61 00'));
});

test('LOGIN7: names, read-only intent, INIT_DB_FATAL, FeatureExt UTF-8', () => {
  const payload = hex(`
    7d 00 00 00  04 00 00 74  00 10 00 00  00 00 00 00  34 12 00 00  00 00 00 00  f0 00 20 10
    00 00 00 00  09 04 00 00
    5e 00 01 00  60 00 02 00  64 00 01 00  66 00 03 00  6c 00 00 00  6c 00 04 00  70 00 01 00
    72 00 00 00  72 00 02 00  01 02 03 04 05 06  76 00 00 00  76 00 00 00  76 00 00 00  00 00 00 00
    68 00  73 00 61 00  b3 a5  61 00 70 00 70 00  76 00 00 00  6e 00  64 00 62 00
    0a 01 00 00 00 01 ff`);
  const login = readLogin7(payload);
  assert.equal(login.tdsVersion, 0x74000004);
  assert.equal(login.packetSize, 4096);
  assert.equal(login.clientPid, 0x1234);
  assert.equal(login.hostName, 'h');
  assert.equal(login.userName, 'sa');
  assert.equal(login.password, 'a');
  assert.equal(login.appName, 'app');
  assert.equal(login.serverName, '');
  assert.equal(login.libraryName, 'n');
  assert.equal(login.database, 'db');
  assert.deepEqual(login.clientId, hex('01 02 03 04 05 06'));
  assert.equal(login.readOnlyIntent, true);
  assert.equal(login.initDbFatal, true);
  assert.equal(login.utf8Requested, true);
  assert.deepEqual([...login.features.keys()], [0x0a]);
});

test('SQLBatch: ALL_HEADERS with the transaction descriptor, then UCS-2 text', () => {
  const r = readSqlBatch(hex(`${ALL_HEADERS} 67 00 6f 00`));
  assert.equal(r.sql, 'go');
  assert.deepEqual(r.headers.transactionDescriptor, hex('01 02 03 04 05 06 07 08'));
  assert.equal(r.headers.outstandingRequestCount, 1);
});

test('RPC by ProcID 10 with PLP, varbinary, output int, NULL decimal, datetime2, varchar, money, guid', () => {
  const r = readRpcRequest(
    hex(`${ALL_HEADERS} ff ff 0a 00 00 00
      02 40 00 73 00 00 e7 ff ff ${COLLATION} fe ff ff ff ff ff ff ff 04 00 00 00 61 00 62 00 00 00 00 00
      02 40 00 70 00 00 a5 0a 00 03 00 01 02 03
      02 40 00 69 00 01 26 04 04 fe ff ff ff
      02 40 00 64 00 00 6a 11 26 0a 00
      02 40 00 74 00 00 2a 07 08 07 00 e4 29 c9 80 46 0b
      02 40 00 76 00 00 a7 0a 00 ${COLLATION} 01 00 80
      02 40 00 6d 00 00 6e 08 08 ff ff ff ff f0 d8 ff ff
      02 40 00 67 00 00 24 10 10 ff 19 96 6f 86 8b 11 d0 b4 2d 00 c0 4f c9 64 ff
      02 40 00 78 00 00 e7 ff ff ${COLLATION} ff ff ff ff ff ff ff ff`),
  );
  assert.equal(r.procName, 'sp_executesql');
  assert.equal(r.procId, 10);
  assert.deepEqual(r.params, [
    { name: '@s', type: { name: 'nvarchar', length: -1 }, value: 'ab', output: false },
    { name: '@p', type: { name: 'varbinary', length: 10 }, value: hex('01 02 03'), output: false },
    { name: '@i', type: { name: 'int' }, value: -2n, output: true },
    { name: '@d', type: { name: 'decimal', precision: 38, scale: 10 }, value: null, output: false },
    {
      name: '@t',
      type: { name: 'datetime2', scale: 7 },
      value: { kind: 'datetime', days: 738944, ticks: 863991234567n },
      output: false,
    },
    { name: '@v', type: { name: 'varchar', length: 10 }, value: '€', output: false },
    { name: '@m', type: { name: 'money' }, value: { kind: 'decimal', unscaled: -10000n, scale: 4 }, output: false },
    { name: '@g', type: { name: 'uniqueidentifier' }, value: '6F9619FF-8B86-D011-B42D-00C04FC964FF', output: false },
    { name: '@x', type: { name: 'nvarchar', length: -1 }, value: null, output: false },
  ]);
});

test('RPC by name (US_VARCHAR)', () => {
  const r = readRpcRequest(hex(`${NO_TX_HEADERS} 02 00 70 00 31 00 00 00`));
  assert.equal(r.procName, 'p1');
  assert.deepEqual(r.params, []);
});

test('Transaction Manager: BEGIN with SNAPSHOT, COMMIT with a name, ROLLBACK that begins a new one', () => {
  assert.deepEqual(readTransactionManagerRequest(hex(`${NO_TX_HEADERS} 05 00 05 00`)), {
    kind: 'begin',
    headers: { transactionDescriptor: Buffer.alloc(8), outstandingRequestCount: 1 },
    isolation: IsolationLevel.Snapshot,
    name: '',
  });
  const commit = readTransactionManagerRequest(hex(`${ALL_HEADERS} 07 00 02 61 00 00`));
  assert.equal(commit.kind, 'commit');
  assert.ok(commit.kind === 'commit');
  assert.equal(commit.name, 'a');
  assert.equal(commit.beginNew, undefined);
  assert.deepEqual(commit.headers.transactionDescriptor, hex('01 02 03 04 05 06 07 08'));
  const rollback = readTransactionManagerRequest(hex(`${ALL_HEADERS} 08 00 00 01 02 00`));
  assert.ok(rollback.kind === 'rollback');
  assert.deepEqual(rollback.beginNew, { isolation: IsolationLevel.ReadCommitted, name: '' });
  assert.deepEqual(readTransactionManagerRequest(hex(`${ALL_HEADERS} 09 00 02 61 00`)).kind, 'save');
});
