/**
 * A real Prometheus scraping Tidemark workers, with Tidemark's rules loaded: what `npm run demo` starts and what
 * the metrics test asserts through. The server binary comes from {@link ensurePrometheusTools} (installed into
 * `.tidemark/prometheus` when missing). The scrape job is named `tidemark-worker`, as the rules require
 * (docs/metrics.md); its data lives in a temporary directory removed on stop.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrometheusTools } from './prometheus.js';
import { freePort, spawnService, stopProcess, waitUntilReady } from './process.js';

export const RULES_FILE = fileURLToPath(new URL('../../ops/prometheus/tidemark-rules.yml', import.meta.url));

export interface PrometheusServerOptions {
  /** `host:port` of each worker's metrics endpoint. */
  readonly targets: readonly string[];
  /** Where `.tidemark/` is (the installed binaries). Default: the current directory's. */
  readonly stateDir?: string;
  /** Scrape and rule evaluation interval (default `5s`: a demo wants to see changes quickly). */
  readonly interval?: string;
  /** Port for Prometheus' web UI and API (default: a free one). */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export interface PrometheusServer {
  /** e.g. `http://127.0.0.1:9090` */
  readonly url: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** The configuration: one scrape job `tidemark-worker` over the targets, the rules file loaded. */
export function prometheusConfig(targets: readonly string[], interval: string): string {
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    `  - ${JSON.stringify(RULES_FILE)}`,
    'scrape_configs:',
    '  - job_name: tidemark-worker',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

/** Starts Prometheus and waits until it is ready. */
export async function startPrometheusServer(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const tools = ensurePrometheusTools(options.stateDir ?? resolve('.tidemark'), {
    withServer: true,
    ...(options.log ? { log: options.log } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(options.targets, options.interval ?? '5s'));
  const port = options.port ?? (await freePort());
  const logFile = join(dir, 'prometheus.log');
  const service = spawnService({
    name: 'prometheus',
    command: tools.prometheus!,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Debian's build looks for its console templates under /etc; point them at nothing so it starts anywhere.
      `--web.console.templates=${dir}`,
      `--web.console.libraries=${dir}`,
    ],
    logFile,
    detached: false,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(service.pid, 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(
      service,
      async () => {
        try {
          return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
        } catch {
          return false;
        }
      },
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, logFile, stop };
}

/** One instant query through the HTTP API: the result vector (`[]` when no series matched). */
export async function promQuery(
  url: string,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${query}: ${body.error ?? res.status}`);
  if (body.data?.resultType === 'scalar') {
    const [t, v] = body.data.result as [number, string];
    return [{ metric: {}, value: [t, v] }];
  }
  return body.data?.result as { metric: Record<string, string>; value: [number, string] }[];
}
