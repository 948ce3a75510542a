/**
 * Protocol edges the `mssql` driver cannot be made to produce on demand, driven from a raw socket with
 * hand-built packets: a request cancelled while being sent (IGNORE|EOM), ATTENTION after a complete response,
 * ATTENTION in the middle of a streamed result, a request split over several packets.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SqlValue, SqlError } from '../../../../sim/engine/api.js';
import { type IncomingMessage, MessageAssembler } from '../../../../sim/tds/packet.js';
import { type TdsServer, startTdsServer } from '../../../../sim/tds/server.js';
import { hex } from '../../../unit/sim/tds/hex.js';
import { ScriptedEngine } from './scripted-engine.js';

const PRELOGIN = hex(`00 00 10 00 06  01 00 16 00 01  04 00 17 00 01  ff  13 02 00 00 00 00  02  00`);
// LOGIN7 for user 'sa', password 'a', database 'db' (layout as in test/unit/sim/tds/requests.test.ts).
const LOGIN7 = hex(`
  7d 00 00 00  04 00 00 74  00 10 00 00  00 00 00 00  34 12 00 00  00 00 00 00  f0 00 00 10
  00 00 00 00  09 04 00 00
  5e 00 01 00  60 00 02 00  64 00 01 00  66 00 03 00  6c 00 00 00  6c 00 04 00  70 00 01 00
  72 00 00 00  72 00 02 00  01 02 03 04 05 06  76 00 00 00  76 00 00 00  76 00 00 00  00 00 00 00
  68 00  73 00 61 00  b3 a5  61 00 70 00 70 00  76 00 00 00  6e 00  64 00 62 00
  0a 01 00 00 00 01 ff`);
const NO_TX_HEADERS = hex('16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 00 01 00 00 00');
const DONE_FINAL = hex('fd 00 00 00 00 00 00 00 00 00 00 00 00');
const DONE_ATTN = hex('fd 20 00 00 00 00 00 00 00 00 00 00 00');

/** One packet: type, status, big-endian length, SPID 0, packet id, window 0 (2.2.3.1). */
function packet(type: number, status: number, payload: Buffer, id = 1): Buffer {
  const header = Buffer.from([type, status, 0, 0, 0, 0, id, 0]);
  header.writeUInt16BE(payload.length + 8, 2);
  return Buffer.concat([header, payload]);
}

function batch(sql: string): Buffer {
  return Buffer.concat([NO_TX_HEADERS, Buffer.from(sql, 'ucs2')]);
}

class RawClient {
  private readonly assembler = new MessageAssembler();
  private readonly messages: IncomingMessage[] = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.messages.push(...this.assembler.push(chunk));
      this.waiter?.();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    return new RawClient(socket);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async next(): Promise<IncomingMessage> {
    while (this.messages.length === 0) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.messages.shift() as IncomingMessage;
  }

  async login(): Promise<void> {
    this.send(packet(0x12, 0x01, PRELOGIN));
    const prelogin = await this.next();
    assert.equal(prelogin.type, 0x04);
    this.send(packet(0x10, 0x01, LOGIN7));
    const login = await this.next();
    assert.ok(login.payload.includes(hex('ad 32 00 01 74 00 00 04')), 'LOGINACK for TDS 7.4');
    assert.deepEqual(login.payload.subarray(-13), DONE_FINAL);
  }
}

let engine: ScriptedEngine;
let pulled = 0;
let server: TdsServer;

before(async () => {
  engine = new ScriptedEngine({
    users: { sa: 'a' },
    statements: {
      'select 1': async function* () {
        await Promise.resolve();
        yield { kind: 'resultSet', columns: [{ name: 'x', type: { name: 'int' }, nullable: false }], rows: [[1n]] };
        yield { kind: 'done', rowCount: 1n };
      },
      'three statements': async function* () {
        await Promise.resolve();
        yield { kind: 'done', rowCount: 1n };
        yield { kind: 'done', rowCount: 2n };
        yield { kind: 'resultSet', columns: [{ name: 'x', type: { name: 'int' }, nullable: false }], rows: [[7n]] };
        yield { kind: 'done', rowCount: 1n };
        yield { kind: 'message', error: new SqlError(2627, 14, 1, 'dup', '', 4) };
        yield { kind: 'done', error: true };
      },
      'counted rows': async function* (_call, signal) {
        await Promise.resolve();
        function* rows(): Iterable<SqlValue[]> {
          for (let i = 0n; !signal.aborted; i++) {
            pulled++;
            yield [i, 'padding padding padding padding'];
          }
        }
        yield {
          kind: 'resultSet',
          columns: [
            { name: 'i', type: { name: 'bigint' }, nullable: false },
            { name: 's', type: { name: 'varchar', length: 40 }, nullable: false },
          ],
          rows: rows(),
        };
        yield { kind: 'done', rowCount: 0n };
      },
      'endless rows': async function* (_call, signal) {
        await Promise.resolve();
        function* rows(): Iterable<SqlValue[]> {
          for (let i = 0n; !signal.aborted; i++) yield [i];
        }
        yield { kind: 'resultSet', columns: [{ name: 'i', type: { name: 'bigint' }, nullable: false }], rows: rows() };
        yield { kind: 'done', rowCount: 0n };
      },
    },
  });
  server = await startTdsServer({ engine, port: 0 });
});

after(async () => {
  await server.stop();
});

test('a request ended with IGNORE|EOM runs nothing and gets an ordinary DONE, no attention acknowledgement', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    const before = engine.calls.length;
    client.send(packet(0x01, 0x00, batch('select 1'), 1));
    client.send(packet(0x01, 0x03, Buffer.alloc(0), 2));
    const response = await client.next();
    assert.deepEqual(response.payload, DONE_FINAL);
    assert.equal(engine.calls.length, before);
    // The connection carries on; the next response is the next request's, not an acknowledgement.
    client.send(packet(0x01, 0x01, batch('select 1')));
    const next = await client.next();
    assert.deepEqual(next.payload.subarray(-13), hex('fd 10 00 00 00 01 00 00 00 00 00 00 00'));
  } finally {
    client.socket.destroy();
  }
});

test('a request split over several packets is assembled', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    const payload = batch('select 1');
    client.send(packet(0x01, 0x00, payload.subarray(0, 10), 1));
    client.send(packet(0x01, 0x01, payload.subarray(10), 2));
    const response = await client.next();
    assert.deepEqual(
      response.payload,
      hex('81 01 00 00 00 00 00 08 00 26 04 01 78 00  d1 04 01 00 00 00  fd 10 00 00 00 01 00 00 00 00 00 00 00'),
    );
  } finally {
    client.socket.destroy();
  }
});

test('ATTENTION after a complete response is acknowledged by a message holding only DONE(ATTN)', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    client.send(packet(0x01, 0x01, batch('select 1')));
    await client.next();
    client.send(packet(0x06, 0x01, Buffer.alloc(0)));
    const ack = await client.next();
    assert.deepEqual(ack.payload, DONE_ATTN);
  } finally {
    client.socket.destroy();
  }
});

test('ATTENTION during a streamed result ends the response, then one DONE(ATTN) message follows', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    let packets = 0;
    let sentAttention = false;
    let firstHeader: Buffer | undefined;
    client.socket.on('data', (chunk: Buffer) => {
      firstHeader ??= Buffer.from(chunk.subarray(0, 8));
      if (++packets === 3 && !sentAttention) {
        sentAttention = true;
        client.send(packet(0x06, 0x01, Buffer.alloc(0)));
      }
    });
    client.send(packet(0x01, 0x01, batch('endless rows')));
    const response = await client.next();
    assert.ok(sentAttention);
    // Full packets of the negotiated size (LOGIN7 asked for 4096), the session's SPID, no EOM.
    const spid = engine.sessions.at(-1)?.spid ?? 0;
    assert.deepEqual(firstHeader, Buffer.from([0x04, 0x00, 0x10, 0x00, spid >> 8, spid & 0xff, 0x01, 0x00]));
    assert.equal(response.payload[0], 0x81);
    assert.ok(response.payload.length > 4096);
    assert.equal(response.payload.subarray(-13)[0], 0xfd);
    const ack = await client.next();
    assert.deepEqual(ack.payload, DONE_ATTN);
    client.send(packet(0x01, 0x01, batch('select 1')));
    const next = await client.next();
    assert.deepEqual(next.payload.subarray(-13), hex('fd 10 00 00 00 01 00 00 00 00 00 00 00'));
  } finally {
    client.socket.destroy();
  }
});

test('backpressure: rows are pulled lazily and pulling stops while the client does not read', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    pulled = 0;
    client.socket.pause();
    client.send(packet(0x01, 0x01, batch('counted rows')));
    // Wait (up to 10 s, polling) for the socket buffers to fill: on a loaded machine that takes longer than a
    // fixed sleep. Then the count must stay put while the client reads nothing.
    let first = -1;
    for (let waited = 0; waited < 10_000 && (pulled === 0 || pulled !== first); waited += 300) {
      first = pulled;
      await sleep(300);
    }
    assert.ok(first > 0, 'rows were pulled');
    await sleep(300);
    const second = pulled;
    assert.equal(second, first, 'no rows pulled while the socket is full');
    client.socket.resume();
    for (let waited = 0; waited < 10_000 && pulled === second; waited += 50) await sleep(50);
    assert.ok(pulled > second, 'pulling resumes when the client reads');
    client.send(packet(0x06, 0x01, Buffer.alloc(0)));
    await client.next();
    assert.deepEqual((await client.next()).payload, DONE_ATTN);
  } finally {
    client.socket.destroy();
  }
});

test('batch: DONE per statement with MORE on all but the last; RPC: DONEINPROC (MORE), RETURNSTATUS, DONEPROC', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    const results = hex(`
      81 01 00 00 00 00 00 08 00 26 04 01 78 00  d1 04 07 00 00 00`);
    // ERROR 2627, state 1, class 14, 'dup', server 'tidemark-sim', proc '', line 4.
    const error = Buffer.concat([
      hex('aa 2c 00 43 0a 00 00 01 0e 03 00 64 00 75 00 70 00 0c'),
      Buffer.from('tidemark-sim', 'ucs2'),
      hex('00 04 00 00 00'),
    ]);
    client.send(packet(0x01, 0x01, batch('three statements')));
    assert.deepEqual(
      (await client.next()).payload,
      Buffer.concat([
        hex('fd 11 00 00 00 01 00 00 00 00 00 00 00  fd 11 00 00 00 02 00 00 00 00 00 00 00'),
        results,
        hex('fd 11 00 00 00 01 00 00 00 00 00 00 00'),
        error,
        hex('fd 02 00 00 00 00 00 00 00 00 00 00 00'),
      ]),
    );
    // sp_executesql (ProcID 10) with @statement as nvarchar(4000).
    const statement = Buffer.from('three statements', 'ucs2');
    const rpc = Buffer.concat([
      NO_TX_HEADERS,
      hex('ff ff 0a 00 00 00  0a 40 00 73 00 74 00 61 00 74 00 65 00 6d 00 65 00 6e 00 74 00 00'),
      hex('e7 40 1f 09 04 d0 00 34'),
      Buffer.from([statement.length, 0]),
      statement,
    ]);
    client.send(packet(0x03, 0x01, rpc));
    assert.deepEqual(
      (await client.next()).payload,
      Buffer.concat([
        hex('ff 11 00 00 00 01 00 00 00 00 00 00 00  ff 11 00 00 00 02 00 00 00 00 00 00 00'),
        results,
        hex('ff 11 00 00 00 01 00 00 00 00 00 00 00'),
        error,
        hex('ff 03 00 00 00 00 00 00 00 00 00 00 00  79 00 00 00 00  fe 02 00 00 00 00 00 00 00 00 00 00 00'),
      ]),
    );
  } finally {
    client.socket.destroy();
  }
});

test('RESETCONNECTION / RESETCONNECTIONSKIPTRAN on the first packet reset the session before the request; the response starts with ENVCHANGE 18', async () => {
  const client = await RawClient.connect(server.port);
  try {
    await client.login();
    const resetAck = hex('e3 03 00 12 00 00');
    for (const [status, keepTransaction] of [
      [0x08, false],
      [0x10, true],
    ] as const) {
      const before = engine.calls.length;
      // The flag is on the first packet only (2.2.3.1.2); the request's second packet carries EOM.
      const whole = batch('select 1');
      client.send(packet(0x01, status, whole.subarray(0, 30), 1));
      client.send(packet(0x01, 0x01, whole.subarray(30), 2));
      const response = await client.next();
      assert.deepEqual(response.payload.subarray(0, resetAck.length), resetAck);
      assert.deepEqual(engine.calls.slice(before), [
        { kind: 'reset', keepTransaction },
        { kind: 'batch', sql: 'select 1' },
      ]);
    }
    // Without the flag nothing is reset.
    const before = engine.calls.length;
    client.send(packet(0x01, 0x01, batch('select 1'), 1));
    const plain = await client.next();
    assert.notDeepEqual(plain.payload.subarray(0, resetAck.length), resetAck);
    assert.deepEqual(engine.calls.slice(before), [{ kind: 'batch', sql: 'select 1' }]);
  } finally {
    client.socket.destroy();
  }
});
