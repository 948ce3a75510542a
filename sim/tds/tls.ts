/**
 * TLS for TDS 7.x (MS-TDS 2.2.6.5, 3.3.5.2): after a PRELOGIN exchange that agrees on encryption, the client's
 * TLS handshake records arrive as the payload of PRELOGIN (0x12) messages and the server answers each with one
 * PRELOGIN message holding its handshake records. Once the handshake completes, the whole TDS stream (packets
 * included) runs inside TLS records on the bare socket.
 *
 * {@link TlsBridge} runs a server-side `tls.TLSSocket` over an in-memory transport so the TDS layer can carry its
 * handshake inside packets, then switches the transport to the socket.
 */
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';

/** PEM certificate and key. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** Generates a self-signed certificate for `localhost` and 127.0.0.1 (valid one year). */
export async function generateSelfSignedCertificate(commonName = 'localhost'): Promise<TlsMaterial> {
  const selfsigned = await import('selfsigned');
  const notAfterDate = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    notAfterDate,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: commonName },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * A secure context for the PRELOGIN-wrapped handshake. TLS 1.2 at most: tedious caps the client there, and in
 * TLS 1.2 every client flight gets exactly one server flight, which is what the one-message-per-message
 * exchange of 3.3.5.2 needs.
 */
export function createTdsSecureContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({ cert: material.cert, key: material.key, maxVersion: 'TLSv1.2' });
}

/** Callbacks of a {@link TlsBridge}. */
export interface TlsBridgeIo {
  /** Server handshake records to send to the client as one PRELOGIN message. */
  sendHandshake(records: Buffer): void;
  /** TLS records to write on the socket once the handshake is over; returns false under backpressure. */
  writeRaw(records: Buffer): boolean;
  /** Waits until the socket drains. */
  waitRaw(): Promise<void>;
  /** Decrypted TDS bytes from the client. */
  onCleartext(data: Buffer): void;
  onError(err: Error): void;
}

export class TlsBridge {
  /** The cleartext side: the TDS layer writes packets here once {@link established}. */
  readonly socket: tls.TLSSocket;
  /** True once the handshake is over and the stream runs as TLS records on the socket. */
  established = false;
  private readonly transport: Duplex;
  private collected: Buffer[] = [];
  private flushScheduled = false;
  private secure = false;
  private answered = true;
  private grew = false;

  constructor(context: tls.SecureContext, io: TlsBridgeIo) {
    this.transport = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.established) {
          if (io.writeRaw(chunk)) callback();
          else io.waitRaw().then(() => callback(), callback);
          return;
        }
        this.collected.push(chunk);
        this.scheduleFlush(io);
        callback();
      },
    });
    this.socket = new tls.TLSSocket(this.transport, { isServer: true, secureContext: context });
    this.socket.on('secure', () => {
      this.secure = true;
      if (this.answered && !this.flushScheduled) this.established = true;
    });
    this.socket.on('data', (data: Buffer) => io.onCleartext(data));
    this.socket.on('error', (err: Error) => io.onError(err));
  }

  /** Feeds client bytes: the payload of a PRELOGIN message during the handshake, raw socket data after it. */
  push(data: Buffer): void {
    if (!this.established) this.answered = false;
    this.transport.push(data);
  }

  destroy(): void {
    this.socket.destroy();
    this.transport.destroy();
  }

  // One server flight is written by OpenSSL within one turn of the event loop; collecting until a turn passes
  // with no new output turns it into the single response message the client waits for.
  private scheduleFlush(io: TlsBridgeIo): void {
    this.grew = true;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const settle = (): void => {
      if (this.grew) {
        this.grew = false;
        setImmediate(settle);
        return;
      }
      this.flushScheduled = false;
      const records = Buffer.concat(this.collected);
      this.collected = [];
      io.sendHandshake(records);
      this.answered = true;
      if (this.secure) this.established = true;
    };
    setImmediate(settle);
  }
}
