/**
 * A codec server (Temporal's Codec Server protocol): lets the Temporal Web UI and `temporal workflow show
 * --codec-endpoint` show Tidemark's encrypted payloads decoded, to an operator allowed to see them, without the
 * keys ever reaching the Temporal server.
 *
 * `POST /decode` and `POST /encode` (also under a namespace segment, `/{namespace}/decode`, for the CLI's
 * endpoint templating) take and return `{"payloads": [...]}` in proto3 JSON (metadata values and data base64).
 * Unknown paths answer 404, other methods 405, a bad body 400. CORS admits only the configured Web UI origins.
 * Authorisation: with a token configured, every request must carry `Authorization: Bearer <token>` (compared in
 * constant time); without one the server refuses to listen anywhere but loopback.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Host to bind (default 127.0.0.1). */
  readonly host?: string;
  readonly port: number;
  /** Origins allowed by CORS (the Web UI's), e.g. `http://localhost:8233`. */
  readonly corsOrigins?: readonly string[];
  /** Required bearer token; mandatory unless the host is loopback. */
  readonly token?: string;
  /** Largest accepted request body (default 4 MiB). */
  readonly maxBodyBytes?: number;
}

export interface RunningCodecServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The codec server cannot start as configured. */
export class CodecServerConfigError extends Error {
  override readonly name = 'CodecServerConfigError';
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const ROUTE = /^(?:\/[^/]+)?\/(encode|decode)$/;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.token && !LOOPBACK.has(host))
    throw new CodecServerConfigError(
      `the codec server decrypts workflow payloads: listening on ${host} needs a token (set TIDEMARK_CODEC_TOKEN ` +
        "and configure the Web UI to send it), or bind to 127.0.0.1 and reach it through the operator's own tunnel",
    );
  const server = createServer((req, res) => {
    handle(req, res, options).catch(() => reply(res, 500, { message: 'codec server error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { url: `http://${shown}:${addr.port}`, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: CodecServerOptions): Promise<void> {
  const origin = req.headers.origin;
  if (origin && options.corsOrigins?.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Vary', 'Origin');
  }
  const route = ROUTE.exec((req.url ?? '').split('?')[0] ?? '');
  if (!route) return reply(res, 404, { message: 'not found: use POST /decode or /encode' });
  if (req.method === 'OPTIONS') return reply(res, 204);
  if (req.method !== 'POST') return reply(res, 405, { message: 'use POST' });
  if (options.token && !authorised(req.headers.authorization, options.token))
    return reply(res, 401, { message: 'a valid Authorization: Bearer token is required' });
  let payloads: Payload[];
  try {
    const body = JSON.parse(await readBody(req, options.maxBodyBytes ?? 4 << 20)) as { payloads?: JsonPayload[] };
    if (!Array.isArray(body.payloads)) throw new Error('no payloads');
    payloads = body.payloads.map(fromJson);
  } catch {
    return reply(res, 400, { message: 'the body must be JSON {"payloads": [...]} in proto3 JSON form' });
  }
  try {
    const out = route[1] === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    reply(res, 200, { payloads: out.map(toJson) });
  } catch (err) {
    // The codec's messages name key ids, never payload contents.
    reply(res, 422, { message: err instanceof Error ? err.message : 'cannot transcode' });
  }
}

function authorised(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token));
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
