/**
 * `npm run tools:prometheus [-- --with-server]`: finds or installs promtool (and the Prometheus server) into
 * `.tidemark/prometheus/bin` — see prometheus.ts for where they come from — and prints what it uses.
 * Idempotent: a second run finds what the first installed and fetches nothing.
 */
import { join } from 'node:path';
import { ensurePrometheusTools } from './prometheus.js';

const withServer = process.argv.includes('--with-server');
try {
  const tools = ensurePrometheusTools(join(process.cwd(), '.tidemark'), {
    withServer,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    [
      `promtool:   ${tools.promtool}`,
      `prometheus: ${tools.prometheus ?? '(not installed; run with --with-server)'}`,
      `version:    ${tools.version}`,
      `source:     ${tools.source}`,
      '',
    ].join('\n'),
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
