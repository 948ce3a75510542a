/**
 * The stack of the two-worker e2e tests (zombie attempts, sub-range windows): the claims simulator with the test's
 * table, the test stack's Temporal and Azurite, and two configs for one task queue and container. Worker A
 * reaches Temporal and Azurite through TCP proxies (scripts/chaos/tcp-proxy.ts), so a test can cut it off like a
 * killed host and hold its uploads; worker B reaches them directly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { syncNowSignal } from '../../../src/workflows/messages.js';
import { parseConfig, type TidemarkConfig } from '../../../src/config/index.js';
import type { LakeTable } from '../../../src/lake/lake-table.js';
import { eventually as until } from '../../support/eventually.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import {
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
  type PipelineTable,
} from '../../../scripts/demo/harness.js';
import { startTcpProxy, type TcpProxy } from '../../../scripts/chaos/tcp-proxy.js';

export interface TwoWorkerStack {
  source: ClaimsSource;
  /** The test stack's Temporal (host:port), as worker B reaches it. */
  temporalAddress: string;
  /** Worker A's way to Temporal. */
  proxy: TcpProxy;
  /** Worker A's way to Azurite. */
  storageProxy: TcpProxy;
  /** Worker A's config: Temporal and Azurite through the proxies. */
  configA: TidemarkConfig;
  /** Worker B's config: the same task queue, container and keys, reaching Temporal and Azurite directly. */
  configB: TidemarkConfig;
  /** Worker B's config as YAML and its environment (for a worker process of its own). */
  yamlB: string;
  envB: Record<string, string>;
  /** Lets everything through again (faults cleared, proxies passing): before the workers stop. */
  unblock(): void;
  /** Closes the proxies and stops the simulator: after the workers stopped. */
  close(): Promise<void>;
}

export async function startTwoWorkerStack(o: {
  /** Prefix of the task queue and container names (a random suffix is added). */
  name: string;
  source: Parameters<typeof startClaimsSource>[0];
  /** Creates the test's table (and enables its capture). */
  setupSql: string;
  tables: PipelineTable[];
  cadence?: string;
  /** Worker A's application name at the source (a stall fault can then hold A's reads only). */
  appNameA?: string;
}): Promise<TwoWorkerStack> {
  const source = await startClaimsSource(o.source);
  await source.admin.request().batch(o.setupSql);
  const temporalAddress = await temporalForTests();
  const [host, port] = temporalAddress.split(':');
  const proxy = await startTcpProxy({ target: { host: host!, port: Number(port) } });
  const azurite = await azuriteForTests();
  const blobPort = /BlobEndpoint=http:\/\/[^:]+:(\d+)\//.exec(azurite)?.[1];
  assert.ok(blobPort, 'the test Azurite connection string names its blob endpoint');
  const storageProxy = await startTcpProxy({ target: { host: '127.0.0.1', port: Number(blobPort) } });
  const made = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: azurite.replace(`:${blobPort}/`, `:${storageProxy.port}/`),
    temporalAddress: proxy.address,
    taskQueue: `${o.name}-${randomBytes(4).toString('hex')}`,
    container: `${o.name}-${randomBytes(4).toString('hex')}`,
    tables: o.tables,
    ...(o.cadence ? { cadence: o.cadence } : {}),
  });
  const parsedA = o.appNameA
    ? parseConfig(made.yaml.replace('  encrypt: false', `  encrypt: false\n  appName: ${o.appNameA}`), made.env)
    : undefined;
  assert.ok(parsedA === undefined || parsedA.ok);
  const yamlB = made.yaml.replace(`address: ${proxy.address}`, `address: ${temporalAddress}`);
  const envB = { ...made.env, TIDEMARK_SINK_CONNECTION_STRING: azurite };
  const parsedB = parseConfig(yamlB, envB);
  assert.ok(parsedB.ok);
  return {
    source,
    temporalAddress,
    proxy,
    storageProxy,
    configA: parsedA?.ok ? parsedA.config : made.config,
    configB: parsedB.config,
    yamlB,
    envB,
    unblock() {
      source.sim.faults.clear();
      proxy.setMode({ kind: 'pass' });
      storageProxy.setMode({ kind: 'pass' });
    },
    async close() {
      await proxy.close();
      await storageProxy.close();
      await source.stop();
    },
  };
}

/** `eventually` of test/support with what was awaited in its failure message. */
export const eventually = <T>(check: () => Promise<T>, timeoutMs: number, what: string): Promise<T> =>
  until(check, timeoutMs, 500).catch((err: unknown) => {
    throw new Error(`${what}: ${(err as Error).message}`);
  });

/** The table's data files in the container (committed or not). */
export async function dataFiles(lake: LakeTable): Promise<string[]> {
  const out: string[] = [];
  for await (const item of lake.store.list(`${lake.layout.root}data/`)) out.push(item.path);
  return out;
}

/**
 * The zombie's last acts, after the window was committed without it: worker A's held uploads go through (the
 * files they create are returned: in the container, referenced by no manifest, if all is well), then A reaches
 * Temporal again and tries to report (Temporal refuses a timed-out attempt's result), and the table is asked for
 * its next window.
 */
export async function zombieUploadsThenReports(
  stack: TwoWorkerStack,
  lake: LakeTable,
  filesAtCommit: ReadonlySet<string>,
  handle: WorkflowHandle,
): Promise<string[]> {
  stack.storageProxy.setMode({ kind: 'pass' });
  const zombieFiles = await eventually(
    async () => {
      const added = (await dataFiles(lake)).filter((f) => !filesAtCommit.has(f));
      assert.ok(added.length > 0, 'no zombie upload yet');
      return added;
    },
    60_000,
    'the zombie uploads its staged file',
  );
  stack.proxy.setMode({ kind: 'pass' });
  await sleep(8_000);
  await handle.signal(syncNowSignal);
  await sleep(5_000);
  return zombieFiles;
}
