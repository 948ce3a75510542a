/** Byte-exact tests of packet framing and message assembly (MS-TDS 2.2.3.1). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeedMoreBytesError } from '../../../../sim/tds/reader.js';
import { MessageAssembler, framePackets, readPacketHeader } from '../../../../sim/tds/packet.js';
import { MessageWriter } from '../../../../sim/tds/message-writer.js';
import { hex } from './hex.js';

test('readPacketHeader: length and SPID are big-endian', () => {
  const r = readPacketHeader(hex('04 01 00 15 00 33 01 00'), 0);
  assert.deepEqual(r.value, { type: 0x04, status: 0x01, length: 21, spid: 51, packetId: 1, window: 0 });
  assert.equal(r.offset, 8);
  assert.throws(() => readPacketHeader(hex('04 01 00'), 0), NeedMoreBytesError);
});

test('framePackets splits a payload by packet size; EOM only on the last packet', () => {
  const payload = hex('01 02 03 04 05 06 07 08 09 0a');
  const framed = framePackets(payload, 0, payload.length, {
    type: 0x04,
    packetSize: 12,
    spid: 0x33,
    eom: true,
    firstPacketId: 1,
  });
  assert.deepEqual(
    framed,
    hex(`
      04 00 00 0c 00 33 01 00  01 02 03 04
      04 00 00 0c 00 33 02 00  05 06 07 08
      04 01 00 0a 00 33 03 00  09 0a`),
  );
});

test('framePackets: an empty message is one header-only packet with EOM', () => {
  const framed = framePackets(Buffer.alloc(0), 0, 0, {
    type: 0x04,
    packetSize: 4096,
    spid: 0,
    eom: true,
    firstPacketId: 1,
  });
  assert.deepEqual(framed, hex('04 01 00 08 00 00 01 00'));
});

test('MessageWriter cuts whole packets while streaming and ends with EOM', () => {
  const sent: Buffer[] = [];
  const w = new MessageWriter({ write: (b) => (sent.push(b), true) }, 7);
  w.packetSize = 12;
  w.begin();
  w.bytes(hex('01 02 03 04 05 06'));
  w.flushFull();
  assert.deepEqual(Buffer.concat(sent), hex('04 00 00 0c 00 07 01 00 01 02 03 04'));
  w.u8(0x07);
  w.end();
  assert.deepEqual(Buffer.concat(sent), hex('04 00 00 0c 00 07 01 00 01 02 03 04  04 01 00 0b 00 07 02 00 05 06 07'));
});

test('MessageAssembler joins packets until EOM, across arbitrary chunk boundaries', () => {
  const a = new MessageAssembler();
  const wire = hex('01 00 00 0a 00 00 01 00 41 00  01 01 00 0a 00 00 02 00 42 00');
  assert.deepEqual(a.push(wire.subarray(0, 5)), []);
  assert.deepEqual(a.push(wire.subarray(5, 13)), []);
  const messages = a.push(wire.subarray(13));
  assert.equal(messages.length, 1);
  assert.deepEqual(messages[0], { type: 0x01, status: 0x00, ignored: false, payload: hex('41 00 42 00') });
  assert.equal(a.inMessage, false);
});

test('MessageAssembler: IGNORE|EOM marks the message ignored; ATTENTION is a message of its own', () => {
  const a = new MessageAssembler();
  const messages = a.push(hex('03 00 00 0a 00 00 01 00 aa bb  03 03 00 08 00 00 02 00  06 01 00 08 00 00 01 00'));
  assert.deepEqual(
    messages.map((m) => [m.type, m.ignored, m.payload.toString('hex')]),
    [
      [0x03, true, 'aabb'],
      [0x06, false, ''],
    ],
  );
});

test('MessageAssembler rejects a packet length below the header size', () => {
  assert.throws(() => new MessageAssembler().push(hex('01 01 00 04 00 00 01 00')), /invalid packet length/);
});
