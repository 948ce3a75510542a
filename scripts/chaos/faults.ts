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
 *   heal it by re-seeding the table (a snapshot), never skip it. The only fault in this list that must
 *   interrupt a table; the final checks require it back to running and equal to the source.
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

/** The table whose unread changes cdc-cleanup-overtakes deletes. */
export const CDC_TABLE = 'Claims.dbo.Claims';

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
    const injected = !detail.includes(NOT_FIRED);
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
