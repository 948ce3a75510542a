/**
 * LOGIN7 (MS-TDS 2.2.6.4): the fixed part, the offset/length table of variable fields (offsets from the start of
 * the payload, lengths in characters), the obfuscated password and the FeatureExt block.
 */
import {
  FEATURE_EXT,
  LOGIN7_FIXED_LENGTH,
  OPTION_FLAGS1_INIT_DB_FATAL,
  OPTION_FLAGS3_EXTENSION,
  TYPE_FLAGS_READ_ONLY_INTENT,
} from './constants.js';
import { type Read, ProtocolError, need, readBytes, readU32LE, readU8 } from './reader.js';

/** A decoded LOGIN7 message. */
export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  clientProgVer: number;
  clientPid: number;
  connectionId: number;
  optionFlags1: number;
  optionFlags2: number;
  typeFlags: number;
  optionFlags3: number;
  clientTimeZone: number;
  clientLcid: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
  clientId: Buffer;
  /** TypeFlags fReadOnlyIntent (0x20). */
  readOnlyIntent: boolean;
  /** OptionFlags1 fDatabase: a failure to use the named database fails the login. */
  initDbFatal: boolean;
  /** FeatureExt entries (FeatureId → FeatureData). */
  features: Map<number, Buffer>;
  /** The client asked for UTF-8 support (FeatureExt 0x0A). */
  utf8Requested: boolean;
}

/**
 * Reverses the password obfuscation (2.2.6.4): the client swapped the nibbles of every byte, then XORed it
 * with 0xA5.
 */
export function deobfuscatePassword(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = (bytes[i] as number) ^ 0xa5;
    out[i] = ((b << 4) & 0xf0) | (b >> 4);
  }
  return out;
}

/** Reads a FeatureExt block: (FeatureId u8, FeatureDataLen u32, data)* terminated by 0xFF. */
export function readFeatureExt(buf: Buffer, offset: number): Read<Map<number, Buffer>> {
  const features = new Map<number, Buffer>();
  let at = offset;
  for (;;) {
    const id = readU8(buf, at);
    if (id.value === FEATURE_EXT.TERMINATOR) return { value: features, offset: id.offset };
    const len = readU32LE(buf, id.offset);
    const data = readBytes(buf, len.offset, len.value);
    features.set(id.value, data.value);
    at = data.offset;
  }
}

/** Decodes a LOGIN7 payload. */
export function readLogin7(buf: Buffer): Login7 {
  need(buf, LOGIN7_FIXED_LENGTH);
  const length = buf.readUInt32LE(0);
  if (length > buf.length) throw new ProtocolError(`LOGIN7 length ${length} exceeds message (${buf.length})`);
  const field = (at: number): [number, number] => [buf.readUInt16LE(at), buf.readUInt16LE(at + 2)];
  const text = (at: number): string => {
    const [ib, cch] = field(at);
    if (cch === 0) return '';
    need(buf, ib + cch * 2);
    return buf.toString('ucs2', ib, ib + cch * 2);
  };
  const optionFlags1 = buf[24] as number;
  const optionFlags2 = buf[25] as number;
  const typeFlags = buf[26] as number;
  const optionFlags3 = buf[27] as number;

  const [ibPassword, cchPassword] = field(44);
  need(buf, ibPassword + cchPassword * 2);
  const password = deobfuscatePassword(buf.subarray(ibPassword, ibPassword + cchPassword * 2)).toString('ucs2');

  let features = new Map<number, Buffer>();
  const [ibExtension, cbExtension] = field(56);
  if (optionFlags3 & OPTION_FLAGS3_EXTENSION && cbExtension >= 4) {
    // ibExtension points at a u32 holding the offset of the FeatureExt block (TDS 7.4).
    const featureOffset = readU32LE(buf, ibExtension).value;
    features = readFeatureExt(buf, featureOffset).value;
  }
  const utf8 = features.get(FEATURE_EXT.UTF8_SUPPORT);

  return {
    tdsVersion: buf.readUInt32LE(4),
    packetSize: buf.readUInt32LE(8),
    clientProgVer: buf.readUInt32LE(12),
    clientPid: buf.readUInt32LE(16),
    connectionId: buf.readUInt32LE(20),
    optionFlags1,
    optionFlags2,
    typeFlags,
    optionFlags3,
    clientTimeZone: buf.readInt32LE(28),
    clientLcid: buf.readUInt32LE(32),
    hostName: text(36),
    userName: text(40),
    password,
    appName: text(48),
    serverName: text(52),
    libraryName: text(60),
    language: text(64),
    database: text(68),
    clientId: Buffer.from(buf.subarray(72, 78)),
    readOnlyIntent: (typeFlags & TYPE_FLAGS_READ_ONLY_INTENT) !== 0,
    initDbFatal: (optionFlags1 & OPTION_FLAGS1_INIT_DB_FATAL) !== 0,
    features,
    utf8Requested: utf8 !== undefined && utf8.length > 0 && ((utf8[0] as number) & 0x01) === 1,
  };
}
