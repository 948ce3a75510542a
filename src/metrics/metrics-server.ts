/**
 * The worker's metrics endpoint: `GET /metrics` answers Tidemark's series and, appended, the Temporal SDK's
 * runtime metrics, which its Rust core serves on a loopback port of its own (`coreUrl`). One port, one scrape
 * target per worker: operators configure one scrape job (`tidemark-worker`), and the SDK's port never leaves
 * the host. When the core endpoint does not answer, Tidemark's series are still served (with a comment saying
 * what is missing), so a Temporal problem never hides the metrics that describe it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsServerOptions {
  /** Tidemark's series in the Prometheus text format. */
  readonly text: () => Promise<string>;
  /** The Temporal core's endpoint (`http://127.0.0.1:<port>/metrics`), when the runtime exports metrics. */
  readonly coreUrl?: string;
  readonly port: number;
  /** Interface to listen on (default all: Prometheus scrapes from another host). */
  readonly host?: string;
}

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one chosen for 0). */
  readonly port: number;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

async function coreText(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return `# Temporal SDK metrics unavailable: HTTP ${res.status} from the runtime's endpoint\n`;
    return await res.text();
  } catch {
    return "# Temporal SDK metrics unavailable: the runtime's endpoint did not answer\n";
  }
}

/** Starts serving `/metrics` on `port`; resolves once listening. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are served at /metrics\n');
      return;
    }
    void (async () => {
      try {
        const own = await options.text();
        const core = options.coreUrl ? await coreText(options.coreUrl) : '';
        res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(`${own}\n${core}`);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port free on the loopback interface now (for the Temporal core's endpoint, which cannot report a port 0). */
export async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
