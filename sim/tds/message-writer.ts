/**
 * Outgoing message assembly: tokens are encoded straight into one growing payload buffer; whole packets of the
 * negotiated size are cut from it as it fills (MS-TDS 2.2.3.1), the last one with EOM when the message ends.
 * Writes never block: the sink reports backpressure and the caller awaits drain between rows
 * ({@link MessageWriter.needsDrain}).
 */
import { DEFAULT_PACKET_SIZE, PACKET_HEADER_LENGTH, PACKET_TYPE } from './constants.js';
import { framePackets } from './packet.js';

/** Where framed packets go (a socket or a TLS cleartext stream). `write` returns false under backpressure. */
export interface PacketSink {
  write(chunk: Buffer): boolean;
}

const INITIAL_CAPACITY = 256 * 1024;

export class MessageWriter {
  /** Payload bytes of the current message not yet sent. Encoders write at `pos` after `ensure`. */
  buf: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  pos = 0;
  /** Flush whole packets once this many payload bytes are buffered. */
  highWater: number;
  /** The sink refused more data: await drain before encoding more rows. */
  needsDrain = false;
  /** Bytes of the current message already handed to the sink. */
  sentInMessage = 0;
  private packetId = 1;
  private type: number = PACKET_TYPE.TABULAR_RESULT;
  private size = DEFAULT_PACKET_SIZE;

  constructor(
    private readonly sink: PacketSink,
    public spid = 0,
  ) {
    this.highWater = this.computeHighWater();
  }

  get packetSize(): number {
    return this.size;
  }

  /** Changes the packet size for messages started from now on (after ENVCHANGE packet size, 2.2.7.9). */
  set packetSize(size: number) {
    this.size = size;
    this.highWater = this.computeHighWater();
  }

  /** Starts a message of the given packet type (default: tabular result, 2.2.3.1.1). */
  begin(type: number = PACKET_TYPE.TABULAR_RESULT): void {
    this.type = type;
    this.pos = 0;
    this.packetId = 1;
    this.sentInMessage = 0;
  }

  /** Makes room for `n` more bytes at `pos`, sending whole packets first when that frees enough space. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushFull();
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Sends every whole packet buffered so far (no EOM). */
  flushFull(): void {
    const room = this.size - PACKET_HEADER_LENGTH;
    const packets = Math.floor(this.pos / room);
    if (packets === 0) return;
    const bytes = packets * room;
    const framed = framePackets(this.buf, 0, bytes, {
      type: this.type,
      packetSize: this.size,
      spid: this.spid,
      eom: false,
      firstPacketId: this.packetId,
    });
    this.packetId = (this.packetId + packets) & 0xff;
    this.buf.copy(this.buf, 0, bytes, this.pos);
    this.pos -= bytes;
    this.sentInMessage += bytes;
    if (!this.sink.write(framed)) this.needsDrain = true;
  }

  /** Flushes whole packets if the buffer passed its high-water mark. */
  maybeFlush(): void {
    if (this.pos >= this.highWater) this.flushFull();
  }

  /** Ends the message: sends the rest, the last packet with EOM. */
  end(): void {
    const framed = framePackets(this.buf, 0, this.pos, {
      type: this.type,
      packetSize: this.size,
      spid: this.spid,
      eom: true,
      firstPacketId: this.packetId,
    });
    this.sentInMessage += this.pos;
    this.pos = 0;
    this.packetId = 1;
    if (!this.sink.write(framed)) this.needsDrain = true;
    if (this.buf.length > 4 * INITIAL_CAPACITY) this.buf = Buffer.allocUnsafe(INITIAL_CAPACITY);
  }

  // -- primitives (little-endian unless named otherwise) --

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u16be(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  u32be(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }

  i32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32LE(v, this.pos);
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  /** UCS-2 text without a length prefix. */
  ucs2(s: string): void {
    this.ensure(s.length * 2);
    this.pos += this.buf.write(s, this.pos, 'ucs2');
  }

  /** B_VARCHAR: u8 characters + UCS-2 (2.2.5.1.3). */
  bVarChar(s: string): void {
    this.u8(s.length);
    this.ucs2(s);
  }

  /** US_VARCHAR: u16 characters + UCS-2 (2.2.5.1.3). */
  usVarChar(s: string): void {
    this.u16(s.length);
    this.ucs2(s);
  }

  /** B_VARBYTE: u8 bytes + bytes (2.2.5.1.3). */
  bVarByte(b: Buffer): void {
    this.u8(b.length);
    this.bytes(b);
  }

  private computeHighWater(): number {
    const room = this.size - PACKET_HEADER_LENGTH;
    return Math.max(room * 16, 64 * 1024);
  }
}
