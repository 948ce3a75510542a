/**
 * Token encoders (MS-TDS 2.2.7): each writes one token into a {@link MessageWriter}.
 */
import type { SqlValue } from '../engine/api.js';
import { DONE_STATUS, ENVCHANGE_TYPE, LOGINACK_INTERFACE_SQL_TSQL, TDS_VERSION_7_4, TOKEN } from './constants.js';
import type { MessageWriter } from './message-writer.js';
import type { ColumnPlan } from './value-encoder.js';

/** DONE / DONEPROC / DONEINPROC (2.2.7.6–2.2.7.8): status, CurCmd, u64 row count. */
export function writeDone(
  w: MessageWriter,
  token: typeof TOKEN.DONE | typeof TOKEN.DONEPROC | typeof TOKEN.DONEINPROC,
  status: number,
  rowCount: bigint = 0n,
  curCmd = 0,
): void {
  w.ensure(13);
  const buf = w.buf;
  buf[w.pos] = token;
  buf.writeUInt16LE(status, w.pos + 1);
  buf.writeUInt16LE(curCmd, w.pos + 3);
  buf.writeBigUInt64LE(rowCount, w.pos + 5);
  w.pos += 13;
}

/** A DONE carrying only ATTN: the attention acknowledgement (2.2.7.6, 3.2.5.7). */
export function writeAttentionAck(w: MessageWriter): void {
  writeDone(w, TOKEN.DONE, DONE_STATUS.ATTN);
}

/** INFO (0xAB) or ERROR (0xAA) (2.2.7.10, 2.2.7.13). */
export function writeInfoError(
  w: MessageWriter,
  token: typeof TOKEN.INFO | typeof TOKEN.ERROR,
  m: {
    number: number;
    state: number;
    severity: number;
    message: string;
    serverName: string;
    procName: string;
    lineNumber: number;
  },
): void {
  const message = m.message.length > 0xffff ? m.message.slice(0, 0xffff) : m.message;
  const server = m.serverName.slice(0, 255);
  const proc = m.procName.slice(0, 255);
  const length = 4 + 1 + 1 + 2 + message.length * 2 + 1 + server.length * 2 + 1 + proc.length * 2 + 4;
  w.u8(token);
  w.u16(length);
  w.u32(m.number);
  w.u8(m.state);
  w.u8(m.severity);
  w.usVarChar(message);
  w.bVarChar(server);
  w.bVarChar(proc);
  w.u32(m.lineNumber);
}

/** ENVCHANGE with B_VARCHAR values: database (1), language (2), packet size (4) (2.2.7.9). */
export function writeEnvChangeString(w: MessageWriter, type: number, newValue: string, oldValue: string): void {
  w.u8(TOKEN.ENVCHANGE);
  w.u16(1 + 1 + newValue.length * 2 + 1 + oldValue.length * 2);
  w.u8(type);
  w.bVarChar(newValue);
  w.bVarChar(oldValue);
}

/** ENVCHANGE with B_VARBYTE values: collation (7), begin/commit/rollback transaction (8/9/10) (2.2.7.9). */
export function writeEnvChangeBytes(w: MessageWriter, type: number, newValue: Buffer, oldValue: Buffer): void {
  w.u8(TOKEN.ENVCHANGE);
  w.u16(1 + 1 + newValue.length + 1 + oldValue.length);
  w.u8(type);
  w.bVarByte(newValue);
  w.bVarByte(oldValue);
}

/**
 * ENVCHANGE 20 routing (2.2.7.9): new value US_VARBYTE holding Protocol (0 = TCP), ProtocolProperty (port) and
 * AlternateServer (US_VARCHAR); old value an empty US_VARBYTE.
 */
export function writeEnvChangeRouting(w: MessageWriter, host: string, port: number): void {
  const routingLength = 1 + 2 + 2 + host.length * 2;
  w.u8(TOKEN.ENVCHANGE);
  w.u16(1 + 2 + routingLength + 2);
  w.u8(ENVCHANGE_TYPE.ROUTING);
  w.u16(routingLength);
  w.u8(0);
  w.u16(port);
  w.usVarChar(host);
  w.u16(0);
}

/** LOGINACK (2.2.7.14): interface, TDS version (big-endian), ProgName, ProgVersion (4 bytes). */
export function writeLoginAck(
  w: MessageWriter,
  progName: string,
  version: { major: number; minor: number; build: number },
): void {
  w.u8(TOKEN.LOGINACK);
  w.u16(1 + 4 + 1 + progName.length * 2 + 4);
  w.u8(LOGINACK_INTERFACE_SQL_TSQL);
  w.u32be(TDS_VERSION_7_4);
  w.bVarChar(progName);
  w.u8(version.major);
  w.u8(version.minor);
  w.u8(version.build >> 8);
  w.u8(version.build & 0xff);
}

/** RETURNSTATUS (2.2.7.18). */
export function writeReturnStatus(w: MessageWriter, value: number): void {
  w.u8(TOKEN.RETURNSTATUS);
  w.i32(value);
}

/** COLMETADATA (2.2.7.4): count, then per column UserType (u32), Flags, TYPE_INFO, ColName. */
export function writeColMetadata(w: MessageWriter, plans: readonly ColumnPlan[], names: readonly string[]): void {
  w.u8(TOKEN.COLMETADATA);
  w.u16(plans.length);
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i] as ColumnPlan;
    w.u32(p.userType);
    w.u16(p.flags);
    w.bytes(p.typeInfo);
    w.bVarChar((names[i] ?? '').slice(0, 128));
  }
}

/**
 * One row: ROW (2.2.7.19) when every value is present, otherwise NBCROW (2.2.7.17) whose bitmap (bit i, least
 * significant first, set = column i is NULL) replaces the NULL values.
 */
export function writeRow(w: MessageWriter, plans: readonly ColumnPlan[], row: readonly SqlValue[]): void {
  const n = plans.length;
  let nulls = false;
  for (let i = 0; i < n; i++) {
    if (row[i] == null) {
      nulls = true;
      break;
    }
  }
  if (!nulls) {
    w.ensure(1);
    w.buf[w.pos++] = TOKEN.ROW;
    for (let i = 0; i < n; i++) (plans[i] as ColumnPlan).encode(w, row[i] as Exclude<SqlValue, null>);
    return;
  }
  const bitmapBytes = (n + 7) >> 3;
  w.ensure(1 + bitmapBytes);
  const buf = w.buf;
  const start = w.pos + 1;
  buf[w.pos] = TOKEN.NBCROW;
  buf.fill(0, start, start + bitmapBytes);
  for (let i = 0; i < n; i++) {
    if (row[i] == null) buf[start + (i >> 3)] = (buf[start + (i >> 3)] as number) | (1 << (i & 7));
  }
  w.pos = start + bitmapBytes;
  for (let i = 0; i < n; i++) {
    const v = row[i];
    if (v != null) (plans[i] as ColumnPlan).encode(w, v);
  }
}
