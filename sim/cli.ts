/**
 * `npm run sim -- --port 14330 --tls generate --seed 42 --rows 100000 [--secondary-port 14331 --redo-lag-ms 500
 * --primary-port 14332] [--cdc-polling-s 5 --cdc-retention-min 4320] [--control-port 14399]`: runs the SQL Server
 * simulator until SIGINT/SIGTERM. With --control-port the fault hooks listen for HTTP on 127.0.0.1 (sim/README.md
 * "Fault hooks"); the first stdout line (JSON) names every endpoint. Test-only credentials: see sim/README.md.
 */
import { parseArgs } from 'node:util';
import { SIM_CREDENTIALS, startSimulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '14330' },
    host: { type: 'string', default: '127.0.0.1' },
    tls: { type: 'string' },
    seed: { type: 'string' },
    rows: { type: 'string', default: '10000' },
    'secondary-port': { type: 'string' },
    'primary-port': { type: 'string' },
    'control-port': { type: 'string' },
    'redo-lag-ms': { type: 'string', default: '0' },
    'cdc-polling-s': { type: 'string' },
    'cdc-retention-min': { type: 'string' },
  },
});

const sim = await startSimulator({
  port: Number(values.port),
  host: values.host,
  tls: values.tls === 'generate' ? 'generate' : undefined,
  seed: values.seed === undefined ? undefined : Number(values.seed),
  seedRows: Number(values.rows),
  ...(values['secondary-port'] !== undefined
    ? {
        secondary: {
          port: Number(values['secondary-port']),
          redoLagMs: Number(values['redo-lag-ms']),
          ...(values['primary-port'] !== undefined ? { primaryPort: Number(values['primary-port']) } : {}),
        },
      }
    : {}),
  ...(values['control-port'] !== undefined ? { control: { port: Number(values['control-port']) } } : {}),
  cdc: {
    ...(values['cdc-polling-s'] !== undefined ? { pollingIntervalMs: Number(values['cdc-polling-s']) * 1000 } : {}),
    ...(values['cdc-retention-min'] !== undefined ? { retentionMinutes: Number(values['cdc-retention-min']) } : {}),
  },
});
process.stdout.write(
  `${JSON.stringify({ msg: 'sql server simulator listening', host: sim.host, port: sim.port, tls: !!sim.certificate, secondary: sim.secondary ? { host: sim.secondary.host, port: sim.secondary.port } : undefined, replicas: sim.ag?.replicas, control: sim.control, admin: SIM_CREDENTIALS.admin.user, extractor: SIM_CREDENTIALS.extractor.user })}\n`,
);
const shutdown = (): void => void sim.stop().then(() => process.exit(0));
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
