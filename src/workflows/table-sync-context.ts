/**
 * What one run of a table's sync holds: its state, its activities, its settings, and the Temporal wiring around
 * them (signals and queries that change or read the state, the Web UI's search attributes). Workflow code.
 */
import { setHandler, upsertSearchAttributes, type CancellationScope } from '@temporalio/workflow';
import type { TableSyncActivities } from '../activities/contracts.js';
import type { TableRef } from '../domain/table.js';
import {
  initialSnapshot,
  TableSyncState,
  type TableSyncMode,
  type TableSyncSnapshot,
} from '../state/table-sync-state.js';
import { tableSyncActivities, type ActivityTimeouts } from './activity-options.js';
import { pauseSignal, requestJobSignal, resumeSignal, statusQuery, syncNowSignal } from './messages.js';
import { STATE_KEY, STRATEGY_KEY, TABLE_KEY } from './search-attributes.js';
import type { TableJobContext } from './table-jobs.js';

export interface TableSyncWorkflowInput {
  /** The table, on first start; ignored when `snapshot` is given. */
  table: TableRef;
  /** Carried state on continue-as-new (or a restart from a recorded watermark). */
  snapshot?: TableSyncSnapshot;
  /** Seconds between windows when caught up (default 900, minimum 60). */
  cadenceSeconds?: number;
  /** An idle table commits an empty window at most this often (default 3600; config `idleCommitInterval`). */
  idleCommitSeconds?: number;
  /** Continue-as-new after this many windows in one run even if Temporal does not suggest it yet. */
  maxWindowsPerRun?: number;
  /** Activity timeouts, overridable by tests. */
  timeouts?: ActivityTimeouts;
}

export interface TableSync {
  readonly input: TableSyncWorkflowInput;
  readonly table: TableRef;
  readonly state: TableSyncState;
  readonly acts: TableSyncActivities;
  readonly jobs: TableJobContext;
  readonly cadenceMs: number;
  readonly idleCommitMs: number;
  /** The window being synced, which a pause-now cancels. */
  inFlight: CancellationScope | undefined;
  /** Windows committed in this run (it continues as new after `input.maxWindowsPerRun`). */
  windowsThisRun: number;
  /** Workflow time at which the last turn began (its plan): the cadence is counted from there. */
  turnStartedAt: number | undefined;
  /** Shows the table's mode in the Web UI's search attributes, when it changed since last shown (a command). */
  showMode(): void;
}

/** Starts a run: its state (from the carried snapshot, or fresh) and its signal and query handlers. */
export function openTableSync(input: TableSyncWorkflowInput): TableSync {
  const acts = tableSyncActivities(input.timeouts);
  // A fresh start (not a continue-as-new) resumes from the lake, whose manifests are the truth: a table whose
  // workflow was terminated and started again must not load itself a second time.
  const state = new TableSyncState(input.snapshot ?? { ...initialSnapshot(input.table), mustReadWatermark: true });
  const table = state.table;
  const sync: TableSync = {
    input,
    table,
    state,
    acts,
    jobs: { table, state, acts, ...(input.timeouts ? { timeouts: input.timeouts } : {}) },
    // The config accepts cadences down to 5 s (config/defaults.ts minCadence); 60 s was the floor before.
    cadenceMs: Math.max(5, input.cadenceSeconds ?? 900) * 1000,
    idleCommitMs: Math.max(60, input.idleCommitSeconds ?? 3600) * 1000,
    inFlight: undefined,
    windowsThisRun: 0,
    turnStartedAt: undefined,
    showMode: modeShower(table, state),
  };
  setHandler(pauseSignal, ({ now, reason }) => {
    state.requestPause(reason);
    if (now) sync.inFlight?.cancel();
  });
  setHandler(resumeSignal, () => state.resume());
  setHandler(statusQuery, () => state.status());
  setHandler(requestJobSignal, (request) => state.requestJob(request));
  setHandler(syncNowSignal, () => {
    state.wakeRequested = true;
  });
  return sync;
}

function modeShower(table: TableRef, state: TableSyncState): () => void {
  let shown: TableSyncMode | undefined;
  return () => {
    if (shown === state.mode) return;
    shown = state.mode;
    upsertSearchAttributes([
      { key: TABLE_KEY, value: table.id },
      { key: STRATEGY_KEY, value: table.strategy },
      { key: STATE_KEY, value: state.mode },
    ]);
  };
}
