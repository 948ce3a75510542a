/**
 * Packet framing (MS-TDS 2.2.3.1): the 8-byte header, splitting an outgoing message into packets of the
 * negotiated size, and assembling incoming packets into messages (EOM ends a message, IGNORE discards it).
 */
import { PACKET_HEADER_LENGTH, PACKET_STATUS } from './constants.js';
import { type Read, need, ProtocolError } from './reader.js';

/** The fields of a packet header (2.2.3.1). `length` includes the header. */
export interface PacketHeader {
  type: number;
  status: number;
  length: number;
  spid: number;
  packetId: number;
  window: number;
}

/** Reads a packet header; Length and SPID are big-endian (2.2.3.1.3, 2.2.3.1.4). */
export function readPacketHeader(buf: Buffer, offset: number): Read<PacketHeader> {
  need(buf, offset + PACKET_HEADER_LENGTH);
  return {
    value: {
      type: buf[offset] as number,
      status: buf[offset + 1] as number,
      length: buf.readUInt16BE(offset + 2),
      spid: buf.readUInt16BE(offset + 4),
      packetId: buf[offset + 6] as number,
      window: buf[offset + 7] as number,
    },
    offset: offset + PACKET_HEADER_LENGTH,
  };
}

/** Writes a packet header at `offset`. */
export function writePacketHeader(buf: Buffer, offset: number, h: PacketHeader): void {
  buf[offset] = h.type;
  buf[offset + 1] = h.status;
  buf.writeUInt16BE(h.length, offset + 2);
  buf.writeUInt16BE(h.spid, offset + 4);
  buf[offset + 6] = h.packetId & 0xff;
  buf[offset + 7] = h.window;
}

/** Options for {@link framePackets}. */
export interface FrameOptions {
  type: number;
  packetSize: number;
  spid: number;
  /** Set EOM on the last packet produced. */
  eom: boolean;
  /** PacketID of the first packet (incremented per packet, modulo 256; 2.2.3.1.5). */
  firstPacketId: number;
}

/**
 * Splits `payload[start, end)` into packets of at most `packetSize` bytes (header included) and returns them in
 * one buffer. With `eom` the last packet carries EOM; without it, the payload must fill whole packets.
 * An empty payload with `eom` gives one header-only packet.
 */
export function framePackets(payload: Buffer, start: number, end: number, o: FrameOptions): Buffer {
  const room = o.packetSize - PACKET_HEADER_LENGTH;
  const bytes = end - start;
  const count = Math.max(1, Math.ceil(bytes / room));
  const out = Buffer.allocUnsafe(bytes + count * PACKET_HEADER_LENGTH);
  let src = start;
  let dst = 0;
  for (let i = 0; i < count; i++) {
    const n = Math.min(room, end - src);
    const last = i === count - 1;
    writePacketHeader(out, dst, {
      type: o.type,
      status: last && o.eom ? PACKET_STATUS.EOM : PACKET_STATUS.NORMAL,
      length: n + PACKET_HEADER_LENGTH,
      spid: o.spid,
      packetId: o.firstPacketId + i,
      window: 0,
    });
    payload.copy(out, dst + PACKET_HEADER_LENGTH, src, src + n);
    src += n;
    dst += n + PACKET_HEADER_LENGTH;
  }
  return out;
}

/** A complete incoming message. */
export interface IncomingMessage {
  type: number;
  /** Status of the first packet (RESETCONNECTION bits live here, 2.2.3.1.2). */
  status: number;
  /** The last packet carried IGNORE: the sender cancelled the message while sending it (2.2.3.1.2). */
  ignored: boolean;
  payload: Buffer;
}

/**
 * Assembles packets into messages. Feed it socket (or TLS cleartext) chunks in order; it returns every message
 * completed by the chunk. ATTENTION (0x06) arrives as a message of its own.
 */
export class MessageAssembler {
  private pending: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private firstStatus = -1;
  private messageType = -1;

  constructor(private readonly maxPacketSize = 32767) {}

  /** Bytes received but not yet part of a completed message (for handing over to TLS). */
  takeUnconsumed(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** True while a message has started but not ended. */
  get inMessage(): boolean {
    return this.messageType !== -1;
  }

  push(chunk: Buffer): IncomingMessage[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: IncomingMessage[] = [];
    let offset = 0;
    while (buf.length - offset >= PACKET_HEADER_LENGTH) {
      const { value: h } = readPacketHeader(buf, offset);
      if (h.length < PACKET_HEADER_LENGTH || h.length > this.maxPacketSize) {
        throw new ProtocolError(`invalid packet length ${h.length}`);
      }
      if (buf.length - offset < h.length) break;
      const body = buf.subarray(offset + PACKET_HEADER_LENGTH, offset + h.length);
      offset += h.length;
      if (this.messageType === -1) {
        this.messageType = h.type;
        this.firstStatus = h.status;
      } else if (h.type !== this.messageType) {
        throw new ProtocolError(
          `packet type 0x${h.type.toString(16)} inside a 0x${this.messageType.toString(16)} message`,
        );
      }
      this.parts.push(body);
      if (h.status & PACKET_STATUS.EOM) {
        const payload = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
        out.push({
          type: this.messageType,
          status: this.firstStatus,
          ignored: (h.status & PACKET_STATUS.IGNORE) !== 0,
          // Copy out of the socket chunk so later chunks can be released.
          payload: Buffer.from(payload),
        });
        this.parts = [];
        this.messageType = -1;
        this.firstStatus = -1;
      }
    }
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return out;
  }
}
