/**
 * A small TCP proxy for provoking network faults for real: in front of Azurite (the chaos run's storage faults) or
 * of the Temporal server (a worker cut off from Temporal while it still reaches SQL Server and storage: a zombie
 * activity). Clients connect to the proxy; the proxy forwards bytes both ways, or, by its mode:
 *
 * - `pass`: forwards as they come;
 * - `delay`: forwards every chunk `ms` milliseconds after it arrived (order kept), as a congested link would;
 * - `hold`: keeps every chunk (connections stay open) until the mode changes, then forwards them in order: a
 *   request paused mid-flight, which completes after whatever happened meanwhile;
 * - `drop`: resets every open connection (TCP RST) and every new one at once, as a broken link or a firewall
 *   that rejects would.
 *
 * No payload is inspected or logged.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'hold' } | { kind: 'drop' };

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  mode(): ProxyMode;
  /** Switches the mode; `drop` resets the connections open now. */
  setMode(mode: ProxyMode): void;
  /** Connections accepted so far, and how many of them the proxy reset. */
  stats(): { accepted: number; reset: number; open: number; held: number };
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Starts a proxy on 127.0.0.1 (`port` 0 or omitted: a free one) forwarding to `target`. */
export async function startTcpProxy(options: {
  target: { host: string; port: number };
  port?: number;
  mode?: ProxyMode;
}): Promise<TcpProxy> {
  let mode: ProxyMode = options.mode ?? { kind: 'pass' };
  const pairs = new Set<Pair>();
  const counts = { accepted: 0, reset: 0 };
  let held = 0;
  /** Resolves when `hold` ends (a new gate each time it begins). */
  let gate: { promise: Promise<void>; open: () => void } | undefined;

  const reset = (p: Pair): void => {
    counts.reset++;
    pairs.delete(p);
    p.client.resetAndDestroy();
    p.upstream.resetAndDestroy();
  };

  /** Forwards `from` → `to` under the mode current when each chunk arrives. */
  const forward = (from: Socket, to: Socket): void => {
    let queue = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (mode.kind === 'hold' && gate) {
        held++;
        const wait = gate.promise;
        queue = queue
          .then(() => wait)
          .then(() => {
            held--;
            if (!to.destroyed) to.write(chunk);
          });
      } else if (mode.kind === 'delay') {
        // Latency, not a bandwidth cap: each chunk leaves `ms` after it arrived, in order.
        const due = Date.now() + mode.ms;
        queue = queue
          .then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()))))
          .then(() => {
            if (!to.destroyed) to.write(chunk);
          });
      } else {
        queue = queue.then(() => {
          if (!to.destroyed && !to.write(chunk)) {
            from.pause();
            to.once('drain', () => from.resume());
          }
        });
      }
    });
    from.on('end', () => void queue.then(() => to.end()));
  };

  const server: Server = createServer((client) => {
    counts.accepted++;
    if (mode.kind === 'drop') {
      counts.reset++;
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const close = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.connect(options.target.port, options.target.host);
    client.pause();
    upstream.once('connect', () => {
      forward(client, upstream);
      forward(upstream, client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    mode: () => mode,
    setMode(next) {
      if (next.kind === 'hold' && mode.kind !== 'hold') {
        let open = () => undefined as void;
        const promise = new Promise<void>((resolve) => (open = resolve));
        gate = { promise, open };
      } else if (next.kind !== 'hold' && gate) {
        gate.open();
        gate = undefined;
      }
      mode = next;
      if (next.kind === 'drop') for (const p of [...pairs]) reset(p);
    },
    stats: () => ({ ...counts, open: pairs.size, held }),
    close: async () => {
      gate?.open();
      for (const p of [...pairs]) {
        pairs.delete(p);
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
