/**
 * Pure readers over a buffer: `(buf, offset) → { value, offset }`. A reader that runs past the end of the buffer
 * throws {@link NeedMoreBytesError} instead of guessing, so a caller that is still receiving (the packet layer)
 * can wait for more bytes, and a caller that holds a whole message can turn it into a protocol error.
 */

/** Result of a read: the value and the offset just past it. */
export interface Read<T> {
  value: T;
  offset: number;
}

/** Signals that `needed` bytes (absolute end offset) are required but the buffer is shorter. */
export class NeedMoreBytesError extends Error {
  constructor(readonly needed: number) {
    super(`need ${needed} bytes`);
    this.name = 'NeedMoreBytesError';
  }
}

/** A request that is well framed but does not follow the grammar of MS-TDS. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function need(buf: Buffer, end: number): void {
  if (end > buf.length) throw new NeedMoreBytesError(end);
}

export function readU8(buf: Buffer, offset: number): Read<number> {
  need(buf, offset + 1);
  return { value: buf[offset] as number, offset: offset + 1 };
}

export function readU16LE(buf: Buffer, offset: number): Read<number> {
  need(buf, offset + 2);
  return { value: buf.readUInt16LE(offset), offset: offset + 2 };
}

export function readU16BE(buf: Buffer, offset: number): Read<number> {
  need(buf, offset + 2);
  return { value: buf.readUInt16BE(offset), offset: offset + 2 };
}

export function readU32LE(buf: Buffer, offset: number): Read<number> {
  need(buf, offset + 4);
  return { value: buf.readUInt32LE(offset), offset: offset + 4 };
}

export function readI32LE(buf: Buffer, offset: number): Read<number> {
  need(buf, offset + 4);
  return { value: buf.readInt32LE(offset), offset: offset + 4 };
}

export function readU64LE(buf: Buffer, offset: number): Read<bigint> {
  need(buf, offset + 8);
  return { value: buf.readBigUInt64LE(offset), offset: offset + 8 };
}

export function readBytes(buf: Buffer, offset: number, length: number): Read<Buffer> {
  need(buf, offset + length);
  return { value: buf.subarray(offset, offset + length), offset: offset + length };
}

/** UCS-2 text of `chars` characters. */
export function readUcs2(buf: Buffer, offset: number, chars: number): Read<string> {
  need(buf, offset + chars * 2);
  return { value: buf.toString('ucs2', offset, offset + chars * 2), offset: offset + chars * 2 };
}

/** B_VARCHAR: u8 character count + UCS-2 (2.2.5.1.3). */
export function readBVarChar(buf: Buffer, offset: number): Read<string> {
  const len = readU8(buf, offset);
  return readUcs2(buf, len.offset, len.value);
}

/** US_VARCHAR: u16 character count + UCS-2 (2.2.5.1.3). */
export function readUsVarChar(buf: Buffer, offset: number): Read<string> {
  const len = readU16LE(buf, offset);
  return readUcs2(buf, len.offset, len.value);
}

/** B_VARBYTE: u8 byte count + bytes (2.2.5.1.3). */
export function readBVarByte(buf: Buffer, offset: number): Read<Buffer> {
  const len = readU8(buf, offset);
  return readBytes(buf, len.offset, len.value);
}
