/**
 * The embedded pipeline, shared by the demo and the end-to-end tests: the SQL Server simulator with the claims
 * tables and workload, and a Tidemark config pointing at it, Azurite and a Temporal server.
 *
 * Credentials here are the simulator's documented test-only logins and Azurite's well-known development key;
 * the PHI hash key is generated per run.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { TableRef } from '../../src/domain/table.js';
import type { ActivityDeps } from '../../src/activities/dependencies.js';
import { verifyTable, type VerifyTableOutput } from '../../src/verify/verify-table.js';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import sql from 'mssql';
import { parseConfig, type TidemarkConfig } from '../../src/config/index.js';
import { SIM_CREDENTIALS, startSimulator, type Simulator, type SimulatorOptions } from '../../sim/index.js';
import { ClaimsWorkload, type ClaimsWorkloadOptions } from '../../sim/workload/index.js';

export interface ClaimsSource {
  sim: Simulator;
  /** A `sa` pool for the workload and for tests' own checks. */
  admin: sql.ConnectionPool;
  workload: ClaimsWorkload;
  stop(): Promise<void>;
}

/** Starts the simulator, creates the claims tables (CDC, Change Tracking, snapshot isolation on). */
export async function startClaimsSource(
  options: {
    port?: number;
    workload?: Partial<ClaimsWorkloadOptions>;
    cdcPollMs?: number;
    /** More simulator options (the chaos runner: an availability group and the fault control channel). */
    simulator?: Pick<SimulatorOptions, 'secondary' | 'control'>;
  } = {},
): Promise<ClaimsSource> {
  const sim = await startSimulator({
    port: options.port ?? 0,
    ...(options.cdcPollMs !== undefined ? { cdc: { pollingIntervalMs: options.cdcPollMs } } : {}),
    ...options.simulator,
  });
  const admin = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 6, min: 0 },
    options: { encrypt: false },
  }).connect();
  const workload = new ClaimsWorkload(admin, { seed: 42, ...options.workload });
  await workload.setup();
  // The extractor is db_datareader; Change Tracking also needs VIEW CHANGE TRACKING on the table (what the
  // prerequisite check tells a DBA to grant).
  await admin.request().batch(`GRANT VIEW CHANGE TRACKING ON dbo.Providers TO [${SIM_CREDENTIALS.extractor.user}]`);
  return {
    sim,
    admin,
    workload,
    stop: async () => {
      await admin.close().catch(() => undefined);
      await sim.stop();
    },
  };
}

/** One table of the pipeline config. */
export interface PipelineTable {
  name: string;
  capture: string;
  key?: string[];
  businessDateColumn?: string;
  phi?: string;
  /** A YAML flow mapping, e.g. `{ maxRowsPerSecond: 300 }`. */
  limits?: string;
  /** A YAML flow mapping, e.g. `{ controlTotals: [TotalBilled], sourceCheckEvery: 1 }`. */
  quality?: string;
}

/** The claims tables by strategy (the workload writes all of them). */
export const CLAIMS_PIPELINE_TABLES: Record<string, PipelineTable> = {
  cdc: {
    name: 'dbo.Claims',
    capture: '{ strategy: cdc }',
    businessDateColumn: 'ServiceDate',
    phi: '[{ columns: [MemberId], action: hash }, { columns: [PatientName], action: drop }]',
  },
  rowversion: {
    name: 'dbo.ClaimPayments',
    capture: '{ strategy: rowversion, column: RowVer }',
    businessDateColumn: 'PaidDate',
  },
  change_tracking: { name: 'dbo.Providers', capture: '{ strategy: change_tracking }' },
  /** ClaimLines gains columns and has one widened during the workload (a new capture instance each time). */
  cdc_lines: {
    name: 'dbo.ClaimLines',
    capture: '{ strategy: cdc }',
    key: ['ClaimId', 'LineNumber'],
    businessDateColumn: 'ServiceDate',
  },
  /** A safety lag of 1 s instead of 2 min keeps demo and tests short; the 15-minute lookback is the default. */
  updated_at: { name: 'dbo.ProviderNotes', capture: '{ strategy: updated_at, column: UpdatedAt, safetyLag: 1s }' },
  identity: {
    name: 'dbo.EligibilityChecks',
    capture: '{ strategy: identity, column: EligibilityCheckId }',
    businessDateColumn: 'CheckedAt',
    phi: '[{ columns: [MemberId], action: hash }]',
  },
};

export interface PipelineConfigOptions {
  sourcePort: number;
  azuriteConnectionString: string;
  temporalAddress: string;
  taskQueue: string;
  container: string;
  tables: PipelineTable[];
  cadence?: string;
  /** Seal Temporal payloads with a fresh key (`temporal.payloadKeys` from TIDEMARK_PAYLOAD_KEYS). */
  payloadEncryption?: boolean;
}

/** The pipeline's config (YAML text and parsed), with secrets passed as environment values. */
export function pipelineConfig(o: PipelineConfigOptions): {
  yaml: string;
  env: Record<string, string>;
  config: TidemarkConfig;
} {
  const yaml = `version: 1
source:
  host: 127.0.0.1
  port: ${o.sourcePort}
  database: Claims
  auth: { type: sql-login, user: ${SIM_CREDENTIALS.extractor.user}, password: '\${TIDEMARK_SOURCE_PASSWORD}' }
  encrypt: false
  readOnlyIntent: false
  maxConcurrentQueries: 4
sink:
  auth: connectionString
  connectionString: '\${TIDEMARK_SINK_CONNECTION_STRING}'
  container: ${o.container}
temporal:
  address: ${o.temporalAddress}
  namespace: default
  taskQueue: ${o.taskQueue}${o.payloadEncryption ? "\n  payloadKeys: '${TIDEMARK_PAYLOAD_KEYS}'" : ''}
nightly:
  windowStart: '01:00'
  duration: 2h
  timezone: UTC
privacy:
  hashKey: '\${TIDEMARK_PHI_HASH_KEY}'
tables:
${o.tables
  .map(
    (t) => `  - name: ${t.name}
    capture: ${t.capture}
    cadence: ${o.cadence ?? '1m'}${t.key ? `\n    key: [${t.key.join(', ')}]` : ''}${
      t.businessDateColumn ? `\n    businessDateColumn: ${t.businessDateColumn}` : ''
    }${t.phi ? `\n    phi: ${t.phi}` : ''}${t.limits ? `\n    limits: ${t.limits}` : ''}${
      t.quality ? `\n    quality: ${t.quality}` : ''
    }`,
  )
  .join('\n')}
`;
  const env = {
    TIDEMARK_SOURCE_PASSWORD: SIM_CREDENTIALS.extractor.password,
    TIDEMARK_SINK_CONNECTION_STRING: o.azuriteConnectionString,
    TIDEMARK_PHI_HASH_KEY: randomBytes(24).toString('hex'),
    ...(o.payloadEncryption ? { TIDEMARK_PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}` } : {}),
  };
  const parsed = parseConfig(yaml, env);
  if (!parsed.ok) throw new Error(`pipeline config: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return { yaml, env, config: parsed.config };
}

/** Wakes a table waiting for its cadence (test and demo use): pause, wait until paused, resume. */
export async function wakeTable(client: Client, tableId: string, timeoutMs = 30_000): Promise<void> {
  const handle = client.workflow.getHandle(tableSyncWorkflowId(tableId));
  await handle.signal(pauseSignal, { reason: 'wake' });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await handle.query(statusQuery);
    if (s.mode === 'paused' || s.mode === 'stopped') break;
    await sleep(200);
  }
  await handle.signal(resumeSignal);
}

/**
 * Waits until the lake's latest state of a table equals the source (verify), waking the table between checks.
 * Returns the last verification (ok or not, at the deadline). `until` replaces "equals the source" (a test
 * waiting for an expected difference).
 */
export async function waitUntilVerified(
  deps: ActivityDeps,
  client: Client,
  table: TableRef,
  options: {
    timeoutMs: number;
    wake?: boolean;
    onCheck?: (v: VerifyTableOutput) => void;
    until?: (v: VerifyTableOutput) => boolean;
  },
): Promise<VerifyTableOutput> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    let v: VerifyTableOutput | undefined;
    try {
      v = await verifyTable(deps, table);
      options.onCheck?.(v);
      if (options.until ? options.until(v) : v.ok) return v;
    } catch {
      // No schema or manifest yet: the snapshot has not committed.
    }
    if (Date.now() > deadline) {
      if (v) return v;
      throw new Error(`${table.id}: nothing verifiable in the lake after ${options.timeoutMs} ms`);
    }
    if (options.wake ?? true) await wakeTable(client, table.id).catch(() => undefined);
    await sleep(2000);
  }
}
