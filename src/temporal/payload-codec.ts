/**
 * Temporal payload encryption: every payload Tidemark's client and workers send to Temporal (workflow and
 * activity inputs and results, heartbeat details, failure details, queries, signals, memos) is sealed with
 * AES-256-GCM before it leaves the process, so the Temporal server, its database and its Web UI hold ciphertext
 * only. Tidemark's payloads carry positions, paths, counts and checksums, never row values; encrypting them
 * keeps even those (table names, blob paths, source positions) out of the server's histories.
 *
 * Wire format of an encrypted payload: metadata `encoding` = `binary/encrypted`, `encryption-key-id` = the id of
 * the key that sealed it; data = 12-byte IV ‖ ciphertext ‖ 16-byte GCM tag of the original payload, serialised as
 * a `temporal.api.common.v1.Payload` protobuf (metadata and data together, so the inner encoding is hidden
 * too). The key id is bound as additional authenticated data, so a payload relabelled with another key id fails
 * to open instead of being opened with the wrong key.
 *
 * Rotation: the first key is the one that seals; every key opens what it sealed. Add the new key first, keep the
 * old ones until no open workflow history holds a payload they sealed (a history lives until its retention
 * ends after the workflow closes; continue-as-new starts a new history), then drop them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One AES-256 key and the id recorded beside what it seals. */
export interface PayloadKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

/** A payload that cannot be opened: wrong or missing key, or tampered with. Says which key id, never the data. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
  constructor(
    message: string,
    readonly keyId: string,
  ) {
    super(message);
  }
}

/** The payload key configuration is unusable (wrong length, duplicate id, none). */
export class PayloadKeyError extends Error {
  override readonly name = 'PayloadKeyError';
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: ReadonlyMap<string, Buffer>;
  private readonly active: PayloadKey;

  /** `keys[0]` seals; all of them open. */
  constructor(keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new PayloadKeyError('payload encryption needs at least one key');
    const byId = new Map<string, Buffer>();
    for (const k of keys) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(k.id))
        throw new PayloadKeyError(`payload key id '${k.id}' must be 1-64 letters, digits, '.', '_' or '-'`);
      if (k.key.length !== 32)
        throw new PayloadKeyError(`payload key '${k.id}' must be 32 bytes (AES-256), got ${k.key.length}`);
      if (byId.has(k.id)) throw new PayloadKeyError(`payload key id '${k.id}' is given twice`);
      byId.set(k.id, k.key);
    }
    this.byId = byId;
    this.active = keys[0]!;
  }

  /** The id of the key that seals new payloads. */
  get activeKeyId(): string {
    return this.active.id;
  }

  // The work is synchronous; a failure still arrives as a rejected promise, as the SDK expects.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.seal(p))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.open(p))));
  }

  private seal(payload: Payload): Payload {
    const plain = PayloadMessage.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.active.key, iv);
    cipher.setAAD(utf8(this.active.id));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.active.id) },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload; // written before encryption
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    const key = this.byId.get(keyId);
    if (!key)
      throw new PayloadDecryptionError(
        `a Temporal payload is sealed with payload key '${keyId}', which this process does not have: add it ` +
          'to the payload keys (after the active one; old keys stay until no open history needs them)',
        keyId,
      );
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`a Temporal payload sealed with key '${keyId}' is truncated`, keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return PayloadMessage.decode(plain);
    } catch {
      throw new PayloadDecryptionError(
        `a Temporal payload sealed with key '${keyId}' does not open with that key: the key under that id is ` +
          'not the one that sealed it, or the payload was altered',
        keyId,
      );
    }
  }
}

/**
 * Payload keys from their text form: `id:base64` pairs separated by commas or whitespace, the sealing key first
 * (e.g. `2026-12:…,2026-06:…`). Generate a key with `openssl rand -base64 32`.
 */
export function parsePayloadKeys(spec: string): PayloadKey[] {
  const keys: PayloadKey[] = [];
  for (const item of spec.split(/[\s,]+/).filter((s) => s !== '')) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw new PayloadKeyError("each payload key is 'id:base64-of-32-bytes'");
    const id = item.slice(0, colon);
    const b64 = item.slice(colon + 1);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
      throw new PayloadKeyError(`payload key '${id}' is not base64 (generate one with: openssl rand -base64 32)`);
    keys.push({ id, key: Buffer.from(b64, 'base64') });
  }
  if (keys.length === 0) throw new PayloadKeyError('no payload key given');
  return keys;
}
