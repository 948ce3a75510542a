/**
 * The fault hooks' control channel for a simulator running as its own process (`npm run sim -- --control-port N`):
 * HTTP with JSON bodies on 127.0.0.1 only (a test instrument: no authentication, never expose it). Each route maps
 * to one {@link FaultInjector} method; sim/README.md "Fault hooks" documents them.
 *
 *   GET    /faults                           → FaultStatus[]
 *   GET    /faults/:id                       → FaultStatus
 *   POST   /faults/reset-connection          { match, afterRows?, afterBytes?, times? } → FaultStatus
 *   POST   /faults/stall                     { match, ms?, afterRows?, times? } → FaultStatus
 *   POST   /faults/:id/release               → { released }
 *   DELETE /faults/:id                       → {}
 *   DELETE /faults                           → {}
 *   GET    /connections                      → ConnectionStatus[]
 *   POST   /connections/kill                 { match } → { killed }
 *   GET    /ag                               → AgState
 *   POST   /ag/failover                      { resolvingMs?, secondaryReadable? } → AgState (once settled)
 *   POST   /ag/secondary-readable            { readable } → AgState
 *   POST   /cdc/cleanup                      { database, captureInstance?, lowWaterMark?, retentionMinutes? }
 *   POST   /cdc/drop-capture-instance        { database, captureInstance } → {}
 *
 * A request the injector cannot act on gets 400 with `{ error }` saying what was wrong; an unknown route 404.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqlError } from '../engine/api.js';
import { FaultRequestError, type FaultInjector } from './injector.js';

export interface ControlServer {
  host: string;
  port: number;
  stop(): Promise<void>;
}

type Body = Record<string, unknown>;
type Route = (body: Body, id: string | undefined) => unknown;

/** Starts the control channel on 127.0.0.1:`port` (0 picks a free port). */
export async function startControlServer(faults: FaultInjector, options: { port: number }): Promise<ControlServer> {
  const routes: Record<string, Route> = {
    'GET /faults': () => faults.list(),
    'GET /faults/:id': (_b, id) => faults.status(id ?? ''),
    'POST /faults/reset-connection': (b) => faults.resetConnection(b as never).status(),
    'POST /faults/stall': (b) => faults.stall(b as never).status(),
    'POST /faults/:id/release': (_b, id) => ({ released: faults.release(id ?? '') }),
    'DELETE /faults/:id': (_b, id) => {
      faults.cancel(id ?? '');
      return {};
    },
    'DELETE /faults': () => {
      faults.clear();
      return {};
    },
    'GET /connections': () => faults.connections(),
    'POST /connections/kill': (b) => ({ killed: faults.killConnections(b.match as never) }),
    'GET /ag': () => faults.agState(),
    'POST /ag/failover': (b) => faults.failover(b),
    'POST /ag/secondary-readable': (b) => {
      if (typeof b.readable !== 'boolean') throw new FaultRequestError('readable must be true or false');
      return faults.setSecondaryReadable(b.readable);
    },
    'POST /cdc/cleanup': (b) => faults.cdcCleanup(b as never),
    'POST /cdc/drop-capture-instance': async (b) => {
      await faults.dropCaptureInstance(b as never);
      return {};
    },
  };
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const reply = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
      const parts = path.split('/');
      // /faults/<id> and /faults/<id>/release: the id is the third segment.
      const id =
        parts[1] === 'faults' && parts[2] && !['reset-connection', 'stall'].includes(parts[2]) ? parts[2] : undefined;
      const key = `${req.method ?? 'GET'} ${id ? path.replace(`/faults/${id}`, '/faults/:id') : path}`;
      const route = routes[key];
      if (!route) return reply(404, { error: `no route ${key}` });
      const body = await readJson(req);
      reply(200, (await route(body, id)) ?? {});
    } catch (e) {
      if (e instanceof FaultRequestError) return reply(400, { error: e.message });
      // The procedure a fault runs refused (e.g. 22904 without db_owner): the caller asked for something invalid.
      if (e instanceof SqlError) return reply(400, { error: `SQL Server error ${e.number}: ${e.message}` });
      reply(500, { error: e instanceof Error ? e.message : String(e) });
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readJson(req: http.IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FaultRequestError('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FaultRequestError('the body must be a JSON object');
  return value as Body;
}
