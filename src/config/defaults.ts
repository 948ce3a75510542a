/** The config's defaults, in one place so the docs and `tidemark.example.yaml` can be checked against them. */
import { durationOf } from './duration.js';

export const DEFAULTS = {
  sourcePort: 1433,
  appName: 'tidemark',
  connectTimeout: durationOf(15_000),
  requestTimeout: durationOf(120_000),
  poolMax: 4,
  poolMin: 0,
  poolIdleTimeout: durationOf(30_000),
  maxConcurrentQueries: 4,
  namespace: 'default',
  taskQueue: 'tidemark',
  cadence: durationOf(15 * 60_000),
  minCadence: durationOf(5_000),
  minIdleCommitInterval: durationOf(60_000),
  maxCadence: durationOf(24 * 3_600_000),
  idleCommitInterval: durationOf(3_600_000),
  maxRowsPerSecond: 5_000,
  maxRowsPerWindow: 1_000_000,
  subRangeRows: 100_000,
  latencyProbe: 'SELECT 1',
  latencyProbeInterval: durationOf(250),
  updatedAtLookback: durationOf(15 * 60_000),
  updatedAtSafetyLag: durationOf(2 * 60_000),
  nightlyDuration: durationOf(2 * 3_600_000),
  timezone: 'UTC',
} as const;
