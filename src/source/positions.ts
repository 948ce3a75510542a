/**
 * Source positions: order-preserving strings (string order = source order), one encoding per strategy.
 *
 * | strategy        | row `_pos`                                      | window bound                      |
 * |-----------------|-------------------------------------------------|-----------------------------------|
 * | cdc             | 20 hex start_lsn + 20 hex seqval (40 hex)        | same; `to` = max LSN + `f`×20     |
 * | change_tracking | 20-digit zero-padded SYS_CHANGE_VERSION          | same (CHANGE_TRACKING_CURRENT_VERSION) |
 * | rowversion      | 16 hex digits of the row's rowversion            | same; `to` = MIN_ACTIVE_ROWVERSION − 1 |
 * | updated_at      | 20-digit 100-ns ticks since 0001-01-01 + 16 hex content hash (36) | 20-digit ticks |
 * | identity        | 20-digit zero-padded id                          | 20-digit id, then `~` + gap list  |
 *
 * Row positions are lowercase hex digits only (decimal digits are hex digits too), fixed width per strategy, at
 * most 64 characters — what the lake's `_pos` column accepts — so a plain string comparison orders them.
 */
import { PositionFormatError } from './errors.js';

export const LSN_HEX = 20;
export const MAX_SEQVAL = 'f'.repeat(20);

/** 20 zero-padded decimal digits of a non-negative integer. */
export function pad20(n: bigint): string {
  if (n < 0n) throw new RangeError('positions are non-negative');
  return n.toString().padStart(20, '0');
}

/** Lowercase hex of a buffer. */
export function hex(b: Buffer): string {
  return b.toString('hex');
}

/** Parses `n` hex digits (exactly). */
export function parseHex(strategy: string, text: string, digits: number): Buffer {
  if (text.length !== digits || !/^[0-9A-Fa-f]+$/.test(text)) throw new PositionFormatError(strategy, text);
  return Buffer.from(text, 'hex');
}

/** Parses a 20-digit decimal position. */
export function parse20(strategy: string, text: string): bigint {
  if (!/^\d{20}$/.test(text)) throw new PositionFormatError(strategy, text);
  return BigInt(text);
}

/** rowversion as a 16-hex-digit position. */
export function rowversionPosition(rv: Buffer): string {
  return hex(rv);
}

/** A rowversion position ± n as 8 bytes. */
export function rowversionAdd(pos: string, delta: bigint): Buffer {
  const v = parseHex('rowversion', pos, 16).readBigUInt64BE(0) + delta;
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(v < 0n ? 0n : v);
  return out;
}
