/**
 * Fault drivers: each injects one scheduled fault into the running stack for real and returns what it did.
 *
 * - worker-sigkill / worker-sigterm: a worker process dies mid-whatever (SIGKILL: no shutdown, no last heartbeat)
 *   or shuts down gracefully (SIGTERM); a replacement starts on the same task queue.
 * - sql-reset-connection: the simulator resets the TCP connection of the extractor's next request after N rows
 *   of its result (the driver sees ECONNRESET mid-stream).
 * - sql-stall: the extractor's next statement is held for a while (a stuck query; heartbeats keep going).
 * - ag-failover: the availability group fails over: every connection reset, 983 while RESOLVING, the listener
 *   then reaches the other replica.
 * - azurite-restart: the storage emulator stops (SIGTERM) and restarts on its data folder after a pause; uploads
 *   and commits in flight fail with connection errors.
 * - temporal-restart: the Temporal dev server stops and restarts on its SQLite file; workers and clients lose
 *   their connection until it is back.
 * - cdc-cleanup-overtakes: the CDC table (dbo.Claims) is paused, the workload goes on writing, then CDC cleanup
 *   runs up to the newest LSN, deleting changes the table has not read; on resume Tidemark must see the gap and
 *   heal it by re-seeding the table (a snapshot), never skip it. The final checks require it back to running and
 *   equal to the source.
 * - storage-drop: every connection of the workers to Azurite is reset (TCP RST), and new ones too, for a while
 *   (a TCP proxy in front of Azurite: tcp-proxy.ts); uploads, commits and reads in flight fail mid-request.
 * - storage-delay: the workers' storage traffic gets 0.2-2 s of latency per chunk for a while (a congested link).
 * - capture-instance-drop: dbo.Claims's only capture instance is dropped (sys.sp_cdc_disable_table). That stops
 *   the table by design (CDC is no longer enabled on it: a DBA must act); the driver waits for the stop, then does
 *   what the stop's message asks of an operator (re-creates the instance as the DBA would, `resume`). The table
 *   must see the gap (its position predates the new instance) and re-seed. The checks accept this stop and
 *   report it; the table must be running again and equal to the source.
 *
 * A driver that cannot inject (e.g. the simulator refuses) reports `injected: false` with the reason; the runner
 * counts it apart from the faults survived.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SIM_CREDENTIALS } from '../../sim/index.js';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import type { ChaosStack } from './stack.js';
import type { FaultKind, ScheduledFault } from './schedule.js';

export interface FaultOutcome {
  n: number;
  kind: FaultKind;
  atMs: number;
  /** When it was injected, ms after the chaos phase began (later than `atMs` when an earlier fault ran long). */
  injectedAtMs: number;
  injected: boolean;
  detail: string;
  durationMs: number;
}

type Driver = (stack: ChaosStack, f: ScheduledFault) => Promise<string>;

const extractor = { login: SIM_CREDENTIALS.extractor.user };

const DRIVERS: Record<FaultKind, Driver> = {
  'worker-sigkill': async (stack, f) => {
    const w = stack.workers[(f.worker ?? 0) % stack.workers.length];
    if (!w) throw new Error('no live worker');
    await w.kill();
    stack.forget(w);
    const next = await stack.startWorker();
    return `SIGKILL ${w.identity}; started ${next.identity}`;
  },
  'worker-sigterm': async (stack, f) => {
    const w = stack.workers[(f.worker ?? 0) % stack.workers.length];
    if (!w) throw new Error('no live worker');
    // The replacement starts first: a graceful shutdown waits for in-flight activities (up to 30 s).
    const next = await stack.startWorker();
    stack.forget(w);
    const code = await w.stop();
    return `SIGTERM ${w.identity} (exit ${code}); started ${next.identity}`;
  },
  'sql-reset-connection': async (stack, f) => {
    // After N rows of a result: a window's read is often only a few rows, so when no result that long comes within
    // 10 s the fault is re-armed to reset the next request before its response (the client never hears back).
    const fault = await stack.control<{ id: string }>('POST', '/faults/reset-connection', {
      match: extractor,
      afterRows: f.afterRows ?? 1,
      times: 1,
    });
    if (await waitFired(stack, fault.id, 10_000)) return `reset after ${f.afterRows} rows of a result: fired`;
    const before = await stack.control<{ id: string }>('POST', '/faults/reset-connection', {
      match: extractor,
      times: 1,
    });
    const fired = await waitFired(stack, before.id, 20_000);
    return `no result of ${f.afterRows} rows within 10 s; reset before a response: ${fired ? 'fired' : NOT_FIRED}`;
  },
  'sql-stall': async (stack, f) => {
    const fault = await stack.control<{ id: string }>('POST', '/faults/stall', {
      match: extractor,
      ms: f.durationMs ?? 2000,
      times: 1,
    });
    const fired = await waitFired(stack, fault.id, 20_000);
    return `stall ${f.durationMs} ms: ${fired ? 'fired' : NOT_FIRED}`;
  },
  'ag-failover': async (stack, f) => {
    const state = await stack.control<{ primary?: string }>('POST', '/ag/failover', {
      resolvingMs: f.durationMs ?? 0,
      secondaryReadable: true,
    });
    return `failover (resolving ${f.durationMs} ms), primary now ${state.primary ?? JSON.stringify(state)}`;
  },
  'azurite-restart': async (stack, f) => {
    await stack.azurite.restart(f.durationMs ?? 1000);
    return `Azurite down ${f.durationMs} ms, restarted on its data folder`;
  },
  'temporal-restart': async (stack, f) => {
    const t0 = Date.now();
    await stack.temporal.restart(f.durationMs ?? 1000);
    return `Temporal dev server down ${f.durationMs} ms, serving again after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  },
  'storage-drop': async (stack, f) => {
    const before = stack.storageProxy.stats().reset;
    stack.storageProxy.setMode({ kind: 'drop' });
    await sleep(f.durationMs ?? 1000);
    stack.storageProxy.setMode({ kind: 'pass' });
    const reset = stack.storageProxy.stats().reset - before;
    // No connection open or tried while the link was down: the fault hit nothing (counted apart, as a simulator
    // fault that matched nothing is).
    if (reset === 0) return `storage down ${f.durationMs} ms, ${HIT_NOTHING}`;
    return `storage connections reset for ${f.durationMs} ms (${reset} reset)`;
  },
  'storage-delay': async (stack, f) => {
    stack.storageProxy.setMode({ kind: 'delay', ms: f.delayMs ?? 500 });
    await sleep(f.durationMs ?? 3000);
    stack.storageProxy.setMode({ kind: 'pass' });
    return `storage traffic delayed ${f.delayMs} ms per chunk for ${f.durationMs} ms`;
  },
  'capture-instance-drop': async (stack, f) => {
    const client = stack.client;
    if (!client) throw new Error('no Temporal client');
    const handle = client.workflow.getHandle(tableSyncWorkflowId(CDC_TABLE));
    await stack.control('POST', '/cdc/drop-capture-instance', { database: 'Claims', captureInstance: CDC_INSTANCE });
    stack.expectedStops.set(CDC_TABLE, CAPTURE_INSTANCE_GONE);
    // The table stops at its next window (the runner asks every table to sync every 5 s).
    const deadline = Date.now() + 60_000;
    let status = await handle.query(statusQuery);
    while (Date.now() < deadline && status.mode !== 'stopped') {
      await sleep(500);
      status = await handle.query(statusQuery);
    }
    const seen =
      status.mode === 'stopped'
        ? `stopped (${(status.stoppedReason ?? '').replace(/\s+/g, ' ').slice(0, 120)}…)`
        : `not stopped within 60 s (${status.mode})`;
    await sleep(f.durationMs ?? 2000);
    // What the stop's message asks for: a DBA re-creates the instance, the operator resumes the table.
    await stack.source.admin
      .request()
      .batch(
        `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Claims', @role_name = NULL, @capture_instance = N'${CDC_INSTANCE}', @supports_net_changes = 1`,
      );
    await handle.signal(resumeSignal);
    stack.expectedReseeds.add(CDC_TABLE);
    return `dropped ${CDC_INSTANCE}: ${CDC_TABLE} ${seen}; re-created after ${f.durationMs} ms, resumed`;
  },
  'cdc-cleanup-overtakes': async (stack, f) => {
    const client = stack.client;
    if (!client) throw new Error('no Temporal client');
    const handle = client.workflow.getHandle(tableSyncWorkflowId(CDC_TABLE));
    await handle.signal(pauseSignal, { reason: 'chaos: CDC cleanup overtakes a paused table' });
    const deadline = Date.now() + 60_000;
    let status = await handle.query(statusQuery);
    while (Date.now() < deadline && status.mode !== 'paused' && status.mode !== 'stopped') {
      await sleep(500);
      status = await handle.query(statusQuery);
    }
    if (status.mode !== 'paused') {
      // A stopped table is left stopped (resuming it here would hide the stop from the checks).
      if (status.mode !== 'stopped') await handle.signal(resumeSignal);
      throw new Error(
        `${CDC_TABLE} did not pause within 60 s (mode ${status.mode}${status.stoppedReason ? `: ${status.stoppedReason}` : ''})`,
      );
    }
    // The workload keeps writing while the table is paused: these changes are the ones cleanup takes away.
    await sleep(f.durationMs ?? 3000);
    const r = await stack.source.admin
      .request()
      .query<{ lsn: Buffer | null }>('SELECT sys.fn_cdc_get_max_lsn() AS lsn');
    const lsn = r.recordset[0]?.lsn;
    if (!lsn) throw new Error('no max LSN');
    const cleaned = await stack.control<{ captureInstances: string[] }>('POST', '/cdc/cleanup', {
      database: 'Claims',
      lowWaterMark: `0x${lsn.toString('hex')}`,
    });
    await handle.signal(resumeSignal);
    stack.expectedReseeds.add(CDC_TABLE);
    return `paused ${CDC_TABLE}, cleanup to the max LSN in ${cleaned.captureInstances.join(', ')}, resumed`;
  },
};

/** What a simulator fault that matched nothing in time reports (it was cancelled: not injected). */
const NOT_FIRED = 'nothing matched within 20 s (cancelled)';
/** What a storage fault that found no connection to act on reports (not injected). */
const HIT_NOTHING = 'no connection open or tried: hit nothing';

/** The table whose unread changes cdc-cleanup-overtakes deletes, and whose capture instance is dropped. */
export const CDC_TABLE = 'Claims.dbo.Claims';
const CDC_INSTANCE = 'dbo_Claims';
/** The reasons a table gives when its only capture instance is gone (the prerequisite check's code). */
const CAPTURE_INSTANCE_GONE = /cdc\.table_not_enabled|cdc\.instance_missing/;

/** Waits until a simulator fault fired; cancels it (and says so) when nothing matched in time. */
async function waitFired(stack: ChaosStack, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await stack.control<{ fired: number; waiting: number }>('GET', `/faults/${id}`);
    if (s.fired > 0) return true;
    await sleep(250);
  }
  await stack.control('DELETE', `/faults/${id}`).catch(() => undefined);
  return false;
}

export async function injectFault(stack: ChaosStack, f: ScheduledFault, phaseStart: number): Promise<FaultOutcome> {
  const t0 = Date.now();
  const base = { n: f.n, kind: f.kind, atMs: f.atMs, injectedAtMs: t0 - phaseStart };
  try {
    const detail = await DRIVERS[f.kind](stack, f);
    // A simulator fault that matched nothing was not injected.
    const injected = !detail.includes(NOT_FIRED) && !detail.includes(HIT_NOTHING);
    return { ...base, injected, detail, durationMs: Date.now() - t0 };
  } catch (err) {
    return {
      ...base,
      injected: false,
      detail: `could not inject: ${err instanceof Error ? err.message : String(err)}`,
      durationMs: Date.now() - t0,
    };
  }
}
