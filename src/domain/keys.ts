/**
 * Row keys: the values of a table's key columns in key order, and their text form for crossing Temporal (keys
 * only — never other columns — as JSON with tagged big integers, bytes and exact decimals).
 */
import type { LakeValue } from './values.js';

/** Values of the key columns, in key order, as lake values. */
export type KeyValues = readonly LakeValue[];

/** Key tuples cross Temporal as JSON with tagged big integers and bytes (keys only, never other columns). */
export function encodeKey(key: KeyValues | null): string | null {
  if (key === null) return null;
  return JSON.stringify(key, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $n: v.toString() };
    if (v instanceof Uint8Array) return { $x: toHex(v) };
    if (v && typeof v === 'object' && 'unscaled' in v) {
      const d = v as { unscaled: bigint; scale: number };
      return { $d: d.unscaled.toString(), s: d.scale };
    }
    return v;
  });
}

export function decodeKey(text: string | null): KeyValues | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$n === 'string') return BigInt(o.$n);
      if (typeof o.$x === 'string') return fromHex(o.$x);
      if (typeof o.$d === 'string') return { unscaled: BigInt(o.$d), scale: Number(o.s) };
    }
    return v;
  }) as LakeValue[];
}

// Hex without Node's Buffer: the domain layer runs anywhere, Temporal's workflow sandbox included.
function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
