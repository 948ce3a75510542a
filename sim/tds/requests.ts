/**
 * Client request messages: ALL_HEADERS (MS-TDS 2.2.5.3), SQLBatch (2.2.6.7), RPC (2.2.6.6) and
 * Transaction Manager requests (2.2.6.9).
 */
import type { RpcParam } from '../engine/api.js';
import { IsolationLevel } from '../engine/api.js';
import { ALL_HEADERS_TYPE, PROC_ID, RPC_PARAM_STATUS, TM_FLAG_BEGIN_XACT, TM_REQUEST } from './constants.js';
import {
  type Read,
  ProtocolError,
  readBVarChar,
  readBytes,
  readU16LE,
  readU32LE,
  readU8,
  readUsVarChar,
} from './reader.js';
import { UnsupportedTypeError, readTypeInfo, readValue } from './value-decoder.js';

/** The headers of a request that the simulator uses. */
export interface AllHeaders {
  /** 8-byte transaction descriptor (2.2.5.3.2); 8 zero bytes outside a transaction. */
  transactionDescriptor: Buffer;
  outstandingRequestCount: number;
}

const NO_TRANSACTION = Buffer.alloc(8);

/**
 * Reads ALL_HEADERS: u32 TotalLength (itself included), then headers of u32 HeaderLength (itself included),
 * u16 HeaderType, data. Only the transaction descriptor header is interpreted.
 */
export function readAllHeaders(buf: Buffer, offset: number): Read<AllHeaders> {
  const total = readU32LE(buf, offset);
  const end = offset + total.value;
  if (total.value < 4 || end > buf.length) throw new ProtocolError(`ALL_HEADERS length ${total.value}`);
  const headers: AllHeaders = { transactionDescriptor: NO_TRANSACTION, outstandingRequestCount: 1 };
  let at = total.offset;
  while (at < end) {
    const len = readU32LE(buf, at);
    const type = readU16LE(buf, len.offset);
    if (len.value < 6 || at + len.value > end) throw new ProtocolError(`ALL_HEADERS header length ${len.value}`);
    if (type.value === ALL_HEADERS_TYPE.TRANSACTION_DESCRIPTOR) {
      headers.transactionDescriptor = Buffer.from(readBytes(buf, type.offset, 8).value);
      headers.outstandingRequestCount = readU32LE(buf, type.offset + 8).value;
    }
    at += len.value;
  }
  return { value: headers, offset: end };
}

/** A decoded SQLBatch. */
export interface SqlBatchRequest {
  headers: AllHeaders;
  sql: string;
}

/** SQLBatch: ALL_HEADERS, then UCS-2 text to the end of the message (2.2.6.7). */
export function readSqlBatch(buf: Buffer): SqlBatchRequest {
  const h = readAllHeaders(buf, 0);
  if ((buf.length - h.offset) % 2 !== 0) throw new ProtocolError('odd byte count in SQLBatch text');
  return { headers: h.value, sql: buf.toString('ucs2', h.offset) };
}

/**
 * An RPC parameter whose type cannot be decoded. The rest of the message cannot be parsed either (its length
 * rules are unknown), but the message is complete, so the connection survives and the client gets an error.
 */
export class RpcParameterError extends Error {
  constructor(
    readonly ordinal: number,
    readonly paramName: string,
    override readonly cause: UnsupportedTypeError,
  ) {
    super(cause.message);
    this.name = 'RpcParameterError';
  }
}

/** A decoded RPC request (one RPCReqBatch; batched RPCs are not used by tedious). */
export interface RpcRequest {
  headers: AllHeaders;
  /** Procedure name; special procedures sent by ProcID are named (10 → sp_executesql). */
  procName: string;
  procId?: number;
  optionFlags: number;
  params: RpcParam[];
}

/** RPC: ALL_HEADERS, NameLenProcID (US_VARCHAR or 0xFFFF + ProcID), OptionFlags, parameters (2.2.6.6). */
export function readRpcRequest(buf: Buffer): RpcRequest {
  const h = readAllHeaders(buf, 0);
  let at = h.offset;
  const nameLen = readU16LE(buf, at);
  let procName: string;
  let procId: number | undefined;
  if (nameLen.value === 0xffff) {
    const id = readU16LE(buf, nameLen.offset);
    procId = id.value;
    const name = PROC_ID[procId];
    if (name === undefined) throw new ProtocolError(`unknown ProcID ${procId}`);
    procName = name;
    at = id.offset;
  } else {
    const name = readUsVarChar(buf, at);
    procName = name.value;
    at = name.offset;
  }
  const options = readU16LE(buf, at);
  at = options.offset;
  const params: RpcParam[] = [];
  while (at < buf.length) {
    const b = buf[at] as number;
    // 0x80 / 0xFE / 0xFF would separate batched RPCs (2.2.6.6 BatchFlag / NoExecFlag); tedious sends one.
    if (b === 0x80 || b === 0xfe || b === 0xff) throw new ProtocolError('batched RPC requests are not supported');
    const name = readBVarChar(buf, at);
    const status = readU8(buf, name.offset);
    let info;
    try {
      info = readTypeInfo(buf, status.offset);
    } catch (err) {
      if (err instanceof UnsupportedTypeError) throw new RpcParameterError(params.length + 1, name.value, err);
      throw err;
    }
    const value = readValue(buf, info.offset, info.value);
    params.push({
      name: name.value,
      type: info.value.type,
      value: value.value,
      output: (status.value & RPC_PARAM_STATUS.BY_REF_VALUE) !== 0,
    });
    at = value.offset;
  }
  const req: RpcRequest = { headers: h.value, procName, optionFlags: options.value, params };
  if (procId !== undefined) req.procId = procId;
  return req;
}

/** A decoded Transaction Manager request. */
export type TransactionManagerRequest =
  | { kind: 'begin'; headers: AllHeaders; isolation: IsolationLevel; name: string }
  | {
      kind: 'commit' | 'rollback';
      headers: AllHeaders;
      name: string;
      beginNew?: { isolation: IsolationLevel; name: string };
    }
  | { kind: 'save'; headers: AllHeaders; name: string }
  | { kind: 'unsupported'; headers: AllHeaders; requestType: number };

/**
 * Transaction names are a length byte and UCS-2 text. MS-TDS (2.2.6.9) declares B_VARCHAR (length in characters)
 * but tedious writes the length in bytes and SQL Server accepts it, so the length is read as bytes.
 */
function readTxName(buf: Buffer, offset: number): Read<string> {
  if (offset >= buf.length) return { value: '', offset };
  const len = readU8(buf, offset);
  const bytes = readBytes(buf, len.offset, len.value);
  return { value: bytes.value.toString('ucs2'), offset: bytes.offset };
}

const ISOLATION_LEVELS: readonly IsolationLevel[] = [
  IsolationLevel.NoChange,
  IsolationLevel.ReadUncommitted,
  IsolationLevel.ReadCommitted,
  IsolationLevel.RepeatableRead,
  IsolationLevel.Serializable,
  IsolationLevel.Snapshot,
];

function isolationOf(v: number): IsolationLevel {
  const level = ISOLATION_LEVELS[v];
  if (level === undefined) throw new ProtocolError(`isolation level ${v}`);
  return level;
}

/** Transaction Manager request: ALL_HEADERS, u16 RequestType, RequestPayload (2.2.6.9). */
export function readTransactionManagerRequest(buf: Buffer): TransactionManagerRequest {
  const h = readAllHeaders(buf, 0);
  const type = readU16LE(buf, h.offset);
  const headers = h.value;
  switch (type.value) {
    case TM_REQUEST.BEGIN_XACT: {
      const iso = readU8(buf, type.offset);
      const name = readTxName(buf, iso.offset);
      return { kind: 'begin', headers, isolation: isolationOf(iso.value), name: name.value };
    }
    case TM_REQUEST.COMMIT_XACT:
    case TM_REQUEST.ROLLBACK_XACT: {
      const kind = type.value === TM_REQUEST.COMMIT_XACT ? 'commit' : 'rollback';
      const name = readTxName(buf, type.offset);
      const req: TransactionManagerRequest = { kind, headers, name: name.value };
      if (name.offset < buf.length) {
        const flags = readU8(buf, name.offset);
        if (flags.value & TM_FLAG_BEGIN_XACT) {
          const iso = readU8(buf, flags.offset);
          const newName = readTxName(buf, iso.offset);
          req.beginNew = { isolation: isolationOf(iso.value), name: newName.value };
        }
      }
      return req;
    }
    case TM_REQUEST.SAVE_XACT:
      return { kind: 'save', headers, name: readTxName(buf, type.offset).value };
    default:
      return { kind: 'unsupported', headers, requestType: type.value };
  }
}
