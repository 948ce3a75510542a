/**
 * PRELOGIN (MS-TDS 2.2.6.5): the option table the client sends and the one the server answers with.
 * Option table entries are (token u8, offset u16 BE, length u16 BE), terminated by 0xFF; offsets count from the
 * start of the payload.
 */
import { ENCRYPT, PRELOGIN_OPTION, SERVER_VERSION } from './constants.js';
import { type Read, ProtocolError, readBytes, readU16BE, readU8 } from './reader.js';

/** The client's PRELOGIN options the simulator looks at. */
export interface PreloginRequest {
  version?: { major: number; minor: number; build: number; subbuild: number };
  /** ENCRYPT_* value the client asked for. */
  encryption?: number;
  instance?: Buffer;
  threadId?: number;
  mars?: number;
  fedAuthRequired?: number;
  /** Every option as (token → raw data). */
  options: Map<number, Buffer>;
}

/** Parses a PRELOGIN payload. */
export function readPrelogin(buf: Buffer, offset = 0): Read<PreloginRequest> {
  const options = new Map<number, Buffer>();
  let at = offset;
  let end = offset;
  for (;;) {
    const token = readU8(buf, at);
    if (token.value === PRELOGIN_OPTION.TERMINATOR) {
      at = token.offset;
      break;
    }
    const dataOffset = readU16BE(buf, token.offset);
    const dataLength = readU16BE(buf, dataOffset.offset);
    at = dataLength.offset;
    const data = readBytes(buf, offset + dataOffset.value, dataLength.value);
    options.set(token.value, data.value);
    end = Math.max(end, data.offset);
  }
  const req: PreloginRequest = { options };
  const version = options.get(PRELOGIN_OPTION.VERSION);
  if (version && version.length >= 6) {
    req.version = {
      major: version[0] as number,
      minor: version[1] as number,
      build: version.readUInt16BE(2),
      subbuild: version.readUInt16BE(4),
    };
  }
  const encryption = options.get(PRELOGIN_OPTION.ENCRYPTION);
  if (encryption && encryption.length >= 1) req.encryption = encryption[0];
  const instance = options.get(PRELOGIN_OPTION.INSTOPT);
  if (instance) req.instance = instance;
  const threadId = options.get(PRELOGIN_OPTION.THREADID);
  if (threadId && threadId.length >= 4) req.threadId = threadId.readUInt32BE(0);
  const mars = options.get(PRELOGIN_OPTION.MARS);
  if (mars && mars.length >= 1) req.mars = mars[0];
  const fedAuth = options.get(PRELOGIN_OPTION.FEDAUTHREQUIRED);
  if (fedAuth && fedAuth.length >= 1) req.fedAuthRequired = fedAuth[0];
  if (!options.has(PRELOGIN_OPTION.VERSION)) throw new ProtocolError('PRELOGIN without VERSION');
  return { value: req, offset: Math.max(at, end) };
}

/**
 * The server's encryption answer (2.2.6.5 ENCRYPTION). With TLS configured the simulator behaves like a server
 * with "Force Encryption": it answers ON whatever the client offered, so a client that cannot encrypt fails
 * (tedious: EENCRYPT). Without TLS it answers NOT_SUP and the login proceeds in clear text.
 */
export function negotiateEncryption(_clientEncryption: number | undefined, tlsAvailable: boolean): number {
  return tlsAvailable ? ENCRYPT.ON : ENCRYPT.NOT_SUP;
}

/** Builds the server's PRELOGIN payload: VERSION, ENCRYPTION, INSTOPT, THREADID (empty), MARS (off). */
export function buildPreloginResponse(encryption: number): Buffer {
  const version = Buffer.alloc(6);
  version[0] = SERVER_VERSION.major;
  version[1] = SERVER_VERSION.minor;
  version.writeUInt16BE(SERVER_VERSION.build, 2);
  version.writeUInt16BE(SERVER_VERSION.subbuild, 4);
  const options: Array<[number, Buffer]> = [
    [PRELOGIN_OPTION.VERSION, version],
    [PRELOGIN_OPTION.ENCRYPTION, Buffer.from([encryption])],
    [PRELOGIN_OPTION.INSTOPT, Buffer.from([0])],
    [PRELOGIN_OPTION.THREADID, Buffer.alloc(0)],
    [PRELOGIN_OPTION.MARS, Buffer.from([0])],
  ];
  const tableLength = options.length * 5 + 1;
  const dataLength = options.reduce((n, [, d]) => n + d.length, 0);
  const out = Buffer.alloc(tableLength + dataLength);
  let entry = 0;
  let data = tableLength;
  for (const [token, d] of options) {
    out[entry] = token;
    out.writeUInt16BE(data, entry + 1);
    out.writeUInt16BE(d.length, entry + 3);
    d.copy(out, data);
    entry += 5;
    data += d.length;
  }
  out[entry] = PRELOGIN_OPTION.TERMINATOR;
  return out;
}
