/**
 * Decoding of TYPE_INFO (MS-TDS 2.2.5.6) and of the values clients send as RPC parameters (2.2.5.5, 2.2.6.6)
 * into exact {@link SqlValue}s.
 */
import type { SqlType, SqlValue } from '../engine/api.js';
import { decodeVarChar } from './collation.js';
import { CHARBIN_NULL, DATA_TYPE, PLP_NULL, USHORT_MAX_LEN } from './constants.js';
import { type Read, ProtocolError, readBytes, readU16LE, readU32LE, readU64LE, readU8 } from './reader.js';
import { DAYS_0001_TO_1900, TICKS_PER_MINUTE, TICKS_PER_UNIT, datetimeUnitsToTicks, timeLength } from './temporal.js';
import { readGuid } from './value-encoder.js';

/** TDS type ids of SQL Server types the simulator does not implement (2.2.5.4): refused, not misread. */
const KNOWN_UNSUPPORTED: Readonly<Record<number, string>> = {
  [DATA_TYPE.TEXT]: 'text',
  [DATA_TYPE.NTEXT]: 'ntext',
  [DATA_TYPE.IMAGE]: 'image',
  [DATA_TYPE.XML]: 'xml',
  [DATA_TYPE.UDT]: 'CLR UDT',
  [DATA_TYPE.SSVARIANT]: 'sql_variant',
  [DATA_TYPE.TVP]: 'table-valued',
};

/** A parameter of a type the simulator cannot decode; the request is answered with an error, not a disconnect. */
export class UnsupportedTypeError extends Error {
  /** SQL Server type name when SQL Server knows the type (and only the simulator lacks it). */
  readonly sqlServerType: string | undefined;

  constructor(readonly typeId: number) {
    const known = KNOWN_UNSUPPORTED[typeId];
    super(
      known
        ? `The SQL Server simulator does not support ${known} parameters.`
        : `Data type 0x${typeId.toString(16).toUpperCase().padStart(2, '0')} is unknown.`,
    );
    this.name = 'UnsupportedTypeError';
    this.sqlServerType = known;
  }
}

/** A decoded TYPE_INFO. */
export interface TypeInfo {
  id: number;
  /** Max length from TYPE_INFO (bytes), 0xFFFF for PLP (max) types. */
  maxLength?: number;
  precision?: number;
  scale?: number;
  collation?: Buffer;
  /** The SqlType it denotes. */
  type: SqlType;
}

const INTN_NAME = { 1: 'tinyint', 2: 'smallint', 4: 'int', 8: 'bigint' } as const;

/** Reads a TYPE_INFO (2.2.5.6). Types the simulator does not support (text, xml, udt, variant, tvp) are rejected. */
export function readTypeInfo(buf: Buffer, offset: number): Read<TypeInfo> {
  const idRead = readU8(buf, offset);
  const id = idRead.value;
  let at = idRead.offset;
  const u8 = (): number => {
    const r = readU8(buf, at);
    at = r.offset;
    return r.value;
  };
  const u16 = (): number => {
    const r = readU16LE(buf, at);
    at = r.offset;
    return r.value;
  };
  const collation = (): Buffer => {
    const r = readBytes(buf, at, 5);
    at = r.offset;
    return r.value;
  };
  let info: TypeInfo;
  switch (id) {
    case DATA_TYPE.INT1:
      info = { id, type: { name: 'tinyint' } };
      break;
    case DATA_TYPE.INT2:
      info = { id, type: { name: 'smallint' } };
      break;
    case DATA_TYPE.INT4:
      info = { id, type: { name: 'int' } };
      break;
    case DATA_TYPE.INT8:
      info = { id, type: { name: 'bigint' } };
      break;
    case DATA_TYPE.BIT:
      info = { id, type: { name: 'bit' } };
      break;
    case DATA_TYPE.FLT4:
      info = { id, type: { name: 'real' } };
      break;
    case DATA_TYPE.FLT8:
      info = { id, type: { name: 'float', precision: 53 } };
      break;
    case DATA_TYPE.MONEY:
      info = { id, type: { name: 'money' } };
      break;
    case DATA_TYPE.MONEY4:
      info = { id, type: { name: 'smallmoney' } };
      break;
    case DATA_TYPE.DATETIME:
      info = { id, type: { name: 'datetime' } };
      break;
    case DATA_TYPE.DATETIM4:
      info = { id, type: { name: 'smalldatetime' } };
      break;
    case DATA_TYPE.INTN: {
      const len = u8();
      const name = INTN_NAME[len as keyof typeof INTN_NAME];
      if (!name) throw new ProtocolError(`INTN length ${len}`);
      info = { id, maxLength: len, type: { name } };
      break;
    }
    case DATA_TYPE.BITN:
      info = { id, maxLength: u8(), type: { name: 'bit' } };
      break;
    case DATA_TYPE.FLTN: {
      const len = u8();
      info = { id, maxLength: len, type: len === 4 ? { name: 'real' } : { name: 'float', precision: 53 } };
      break;
    }
    case DATA_TYPE.MONEYN: {
      const len = u8();
      info = { id, maxLength: len, type: { name: len === 4 ? 'smallmoney' : 'money' } };
      break;
    }
    case DATA_TYPE.DATETIMN: {
      const len = u8();
      info = { id, maxLength: len, type: { name: len === 4 ? 'smalldatetime' : 'datetime' } };
      break;
    }
    case DATA_TYPE.DECIMALN:
    case DATA_TYPE.NUMERICN:
    case DATA_TYPE.DECIMAL:
    case DATA_TYPE.NUMERIC: {
      const maxLength = u8();
      const precision = u8();
      const scale = u8();
      const name = id === DATA_TYPE.NUMERICN || id === DATA_TYPE.NUMERIC ? 'numeric' : 'decimal';
      info = { id, maxLength, precision, scale, type: { name, precision, scale } };
      break;
    }
    case DATA_TYPE.GUID:
      info = { id, maxLength: u8(), type: { name: 'uniqueidentifier' } };
      break;
    case DATA_TYPE.DATEN:
      info = { id, type: { name: 'date' } };
      break;
    case DATA_TYPE.TIMEN:
    case DATA_TYPE.DATETIME2N:
    case DATA_TYPE.DATETIMEOFFSETN: {
      const scale = u8();
      if (scale > 7) throw new ProtocolError(`scale ${scale}`);
      const name = id === DATA_TYPE.TIMEN ? 'time' : id === DATA_TYPE.DATETIME2N ? 'datetime2' : 'datetimeoffset';
      info = { id, scale, type: { name, scale } };
      break;
    }
    case DATA_TYPE.BIGVARCHAR:
    case DATA_TYPE.BIGCHAR:
    case DATA_TYPE.NVARCHAR:
    case DATA_TYPE.NCHAR: {
      const maxLength = u16();
      const coll = collation();
      const unicode = id === DATA_TYPE.NVARCHAR || id === DATA_TYPE.NCHAR;
      const fixed = id === DATA_TYPE.BIGCHAR || id === DATA_TYPE.NCHAR;
      const name = unicode ? (fixed ? 'nchar' : 'nvarchar') : fixed ? 'char' : 'varchar';
      const length = maxLength === USHORT_MAX_LEN ? -1 : unicode ? maxLength / 2 : maxLength;
      info = { id, maxLength, collation: coll, type: { name, length } };
      break;
    }
    case DATA_TYPE.BIGVARBINARY:
    case DATA_TYPE.BIGBINARY: {
      const maxLength = u16();
      const name = id === DATA_TYPE.BIGBINARY ? 'binary' : 'varbinary';
      info = { id, maxLength, type: { name, length: maxLength === USHORT_MAX_LEN ? -1 : maxLength } };
      break;
    }
    default:
      throw new UnsupportedTypeError(id);
  }
  return { value: info, offset: at };
}

const TWO32 = 4294967296;

/** Reads a little-endian unsigned magnitude of `bytes` bytes as bigint. */
function readMagnitude(buf: Buffer, pos: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 4; i >= 0; i -= 4) v = (v << 32n) | BigInt(buf.readUInt32LE(pos + i));
  return v;
}

function readTimeUnits(buf: Buffer, pos: number, len: number): number {
  if (len === 3) return buf.readUIntLE(pos, 3);
  if (len === 4) return buf.readUInt32LE(pos);
  return buf.readUInt32LE(pos) + (buf[pos + 4] as number) * TWO32;
}

/** Reads a PLP body (2.2.5.2.3) into one buffer; null for PLP_NULL. */
export function readPlp(buf: Buffer, offset: number): Read<Buffer | null> {
  const total = readU64LE(buf, offset);
  if (total.value === PLP_NULL) return { value: null, offset: total.offset };
  const chunks: Buffer[] = [];
  let at = total.offset;
  for (;;) {
    const len = readU32LE(buf, at);
    if (len.value === 0) {
      at = len.offset;
      break;
    }
    const chunk = readBytes(buf, len.offset, len.value);
    chunks.push(chunk.value);
    at = chunk.offset;
  }
  return { value: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), offset: at };
}

/** Reads one value of the given TYPE_INFO as sent in an RPC parameter (TYPE_VARBYTE, 2.2.5.2.3). */
export function readValue(buf: Buffer, offset: number, info: TypeInfo): Read<SqlValue> {
  const id = info.id;
  // Fixed-length types carry no length prefix (2.2.5.4.1).
  const fixedLength: Partial<Record<number, number>> = {
    [DATA_TYPE.INT1]: 1,
    [DATA_TYPE.BIT]: 1,
    [DATA_TYPE.INT2]: 2,
    [DATA_TYPE.INT4]: 4,
    [DATA_TYPE.INT8]: 8,
    [DATA_TYPE.FLT4]: 4,
    [DATA_TYPE.FLT8]: 8,
    [DATA_TYPE.MONEY]: 8,
    [DATA_TYPE.MONEY4]: 4,
    [DATA_TYPE.DATETIME]: 8,
    [DATA_TYPE.DATETIM4]: 4,
  };
  let len: number;
  let at: number;
  const fixed = fixedLength[id];
  if (fixed !== undefined) {
    len = fixed;
    at = offset;
  } else if (
    id === DATA_TYPE.BIGVARCHAR ||
    id === DATA_TYPE.BIGCHAR ||
    id === DATA_TYPE.NVARCHAR ||
    id === DATA_TYPE.NCHAR ||
    id === DATA_TYPE.BIGVARBINARY ||
    id === DATA_TYPE.BIGBINARY
  ) {
    let data: Buffer | null;
    let end: number;
    if (info.maxLength === USHORT_MAX_LEN) {
      const plp = readPlp(buf, offset);
      data = plp.value;
      end = plp.offset;
    } else {
      const l = readU16LE(buf, offset);
      if (l.value === CHARBIN_NULL) return { value: null, offset: l.offset };
      const b = readBytes(buf, l.offset, l.value);
      data = b.value;
      end = b.offset;
    }
    if (data === null) return { value: null, offset: end };
    if (id === DATA_TYPE.NVARCHAR || id === DATA_TYPE.NCHAR) {
      if (data.length % 2 !== 0) throw new ProtocolError('odd byte count in UCS-2 parameter');
      return { value: data.toString('ucs2'), offset: end };
    }
    if (id === DATA_TYPE.BIGVARCHAR || id === DATA_TYPE.BIGCHAR) {
      return { value: decodeVarChar(data, 0, data.length, info.collation as Buffer), offset: end };
    }
    return { value: Buffer.from(data), offset: end };
  } else {
    const l = readU8(buf, offset);
    len = l.value;
    at = l.offset;
    if (len === 0) return { value: null, offset: at };
  }
  const b = readBytes(buf, at, len);
  const d = b.value;
  const end = b.offset;
  const bad = (): ProtocolError => new ProtocolError(`length ${len} for type 0x${id.toString(16)}`);
  switch (info.type.name) {
    case 'tinyint':
      if (len !== 1) throw bad();
      return { value: BigInt(d[0] as number), offset: end };
    case 'smallint':
      if (len !== 2) throw bad();
      return { value: BigInt(d.readInt16LE(0)), offset: end };
    case 'int':
      if (len !== 4) throw bad();
      return { value: BigInt(d.readInt32LE(0)), offset: end };
    case 'bigint':
      if (len !== 8) throw bad();
      return { value: d.readBigInt64LE(0), offset: end };
    case 'bit':
      if (len !== 1) throw bad();
      return { value: d[0] !== 0, offset: end };
    case 'real':
      if (len !== 4) throw bad();
      return { value: d.readFloatLE(0), offset: end };
    case 'float':
      if (len !== 8) throw bad();
      return { value: d.readDoubleLE(0), offset: end };
    case 'money':
      if (len !== 8) throw bad();
      return {
        value: { kind: 'decimal', unscaled: (BigInt(d.readInt32LE(0)) << 32n) | BigInt(d.readUInt32LE(4)), scale: 4 },
        offset: end,
      };
    case 'smallmoney':
      if (len !== 4) throw bad();
      return { value: { kind: 'decimal', unscaled: BigInt(d.readInt32LE(0)), scale: 4 }, offset: end };
    case 'decimal':
    case 'numeric': {
      if (len !== 5 && len !== 9 && len !== 13 && len !== 17) throw bad();
      const magnitude = readMagnitude(d, 1, len - 1);
      return {
        value: { kind: 'decimal', unscaled: d[0] === 1 ? magnitude : -magnitude, scale: info.scale ?? 0 },
        offset: end,
      };
    }
    case 'datetime': {
      if (len !== 8) throw bad();
      return {
        value: {
          kind: 'datetime',
          days: d.readInt32LE(0) + DAYS_0001_TO_1900,
          ticks: BigInt(datetimeUnitsToTicks(d.readUInt32LE(4))),
        },
        offset: end,
      };
    }
    case 'smalldatetime': {
      if (len !== 4) throw bad();
      return {
        value: {
          kind: 'datetime',
          days: d.readUInt16LE(0) + DAYS_0001_TO_1900,
          ticks: BigInt(d.readUInt16LE(2)) * BigInt(TICKS_PER_MINUTE),
        },
        offset: end,
      };
    }
    case 'uniqueidentifier':
      if (len !== 16) throw bad();
      return { value: readGuid(d, 0), offset: end };
    case 'date':
      if (len !== 3) throw bad();
      return { value: { kind: 'date', days: d.readUIntLE(0, 3) }, offset: end };
    case 'time': {
      const scale = info.scale ?? 7;
      if (len !== timeLength(scale)) throw bad();
      const ticks = BigInt(readTimeUnits(d, 0, len)) * BigInt(TICKS_PER_UNIT[scale] as number);
      return { value: { kind: 'time', ticks }, offset: end };
    }
    case 'datetime2': {
      const scale = info.scale ?? 7;
      const tl = timeLength(scale);
      if (len !== tl + 3) throw bad();
      const ticks = BigInt(readTimeUnits(d, 0, tl)) * BigInt(TICKS_PER_UNIT[scale] as number);
      return { value: { kind: 'datetime', days: d.readUIntLE(tl, 3), ticks }, offset: end };
    }
    case 'datetimeoffset': {
      const scale = info.scale ?? 7;
      const tl = timeLength(scale);
      if (len !== tl + 5) throw bad();
      const ticks = BigInt(readTimeUnits(d, 0, tl)) * BigInt(TICKS_PER_UNIT[scale] as number);
      return {
        value: { kind: 'datetimeoffset', days: d.readUIntLE(tl, 3), ticks, offsetMinutes: d.readInt16LE(tl + 3) },
        offset: end,
      };
    }
    default:
      throw new ProtocolError(`unsupported parameter type ${info.type.name}`);
  }
}
