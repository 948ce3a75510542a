/**
 * OpenLineage run events from the activities' inputs and outputs (the lineage twin of metered.ts): a wrapper
 * around each activity submits events to the worker's {@link LineageEmitter}, which builds and sends them off the
 * activity's path — an endpoint that is down or slow never delays or fails a window.
 *
 * Runs and how they nest (docs/lineage.md):
 * - a window is a run of job `<table>.changes`: START when its extraction starts, COMPLETE when its manifest is
 *   committed, FAIL when a step fails for good (a non-retryable error: the table stops);
 * - a job (snapshot, backfill, sweep, reconcile) is a run of job `<table>.<kind>`: START when its chunks are
 *   planned, COMPLETE when its last chunk commits, FAIL when a chunk fails for good;
 * - each chunk is a run of job `<table>.<kind>.chunk` whose parent run facet names the job's run.
 * Run ids are UUIDs derived from the table, the window's sequence and planning time, or the job's kind and
 * position, so every activity on any worker names the same run. A retried step may send START again (same run).
 */
import { decodeControlTotals } from '../lake/control-totals.js';
import { formatLakeType } from '../lake/lake-types.js';
import { readSchema, type SchemaDoc } from '../lake/schema-registry.js';
import { TableLayout } from '../lake/layout.js';
import type { TableConfig } from '../config/types.js';
import { findTable } from '../config/tables.js';
import type { LineageEmitter, LineageEvent } from '../lineage/emitter.js';
import {
  runEvent,
  runIdOf,
  type DatasetRef,
  type LineageColumn,
  type RunEventType,
  type RunOutputStats,
  type RunRef,
} from '../lineage/run-events.js';
import type { WindowPlan } from '../domain/window.js';
import type { JobKind } from '../domain/jobs.js';
import type {
  CommitManifestInput,
  ExtractWindowInput,
  ExtractWindowOutput,
  PlanChunksInput,
  PlanChunksOutput,
  RunChunkInput,
  RunChunkOutput,
} from './contracts.js';
import { WINDOW_READ_ACTIVITIES } from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { stopKindOf } from './failure-kinds.js';
import { failureTypeOf } from './failures.js';

/** The job namespace of Tidemark's runs. */
export const LINEAGE_NAMESPACE = 'tidemark';

export interface ActivityLineage {
  wrap<I extends { table: { id: string } }, O>(name: string, fn: (input: I) => Promise<O>): (input: I) => Promise<O>;
}

/** No lineage: activities run unwrapped (tests, benches, a config without `lineage`). */
export const noLineage: ActivityLineage = { wrap: (_name, fn) => fn };

/** What a run's events need to know about its table. */
interface TableLineage {
  source: DatasetRef;
  lake: DatasetRef;
  layout: TableLayout;
  config: TableConfig;
}

/** The lineage of `deps`' tables sent through `emitter` (undefined: none). */
export function activityLineage(deps: ActivityDeps, emitter: LineageEmitter | undefined): ActivityLineage {
  if (!emitter) return noLineage;
  const r = new LineageRecorder(deps, emitter);
  return {
    wrap: (name, fn) => async (input) => {
      try {
        r.before(name, input);
      } catch {
        // Lineage never changes an activity's outcome.
      }
      let out;
      try {
        out = await fn(input);
      } catch (err) {
        try {
          r.failed(name, input, err);
        } catch {
          // idem
        }
        throw err;
      }
      try {
        r.after(name, input, out);
      } catch {
        // idem
      }
      return out;
    },
  };
}

class LineageRecorder {
  private readonly schemas = new Map<string, Promise<SchemaDoc | undefined>>();

  constructor(
    private readonly deps: ActivityDeps,
    private readonly emitter: LineageEmitter,
  ) {}

  before(name: string, input: unknown): void {
    if (WINDOW_READ_ACTIVITIES.includes(name)) {
      const i = input as ExtractWindowInput;
      if (!i.window.keyRange) this.emit(i.table.id, 'START', windowRun(i.table.id, i.window));
    } else if (name === 'runChunk') {
      const i = input as RunChunkInput;
      this.emit(i.table.id, 'START', chunkRun(i.table.id, i.job.kind, i.chunk.jobPosition ?? '', i.chunk.index));
    }
  }

  after(name: string, input: unknown, output: unknown): void {
    if (name === 'planChunks') {
      const i = input as PlanChunksInput;
      this.emit(i.table.id, 'START', jobRun(i.table.id, i.job.kind, (output as PlanChunksOutput).position));
    } else if (name === 'runChunk') {
      const i = input as RunChunkInput;
      if ((output as RunChunkOutput).staged !== null) return; // completes at its commit
      // Nothing to commit (no deleted key, say): the chunk is done here.
      const run = chunkRun(i.table.id, i.job.kind, i.chunk.jobPosition ?? '', i.chunk.index);
      this.emit(i.table.id, 'COMPLETE', run, { rows: 0, bytes: 0, files: 0 });
      if (i.chunk.count !== undefined && i.chunk.index === i.chunk.count - 1)
        this.emit(i.table.id, 'COMPLETE', jobRun(i.table.id, i.job.kind, i.chunk.jobPosition ?? ''));
    } else if (name === 'commitManifest') {
      const i = input as CommitManifestInput;
      const run = runOfWindow(i.table.id, i.window);
      this.emit(i.table.id, 'COMPLETE', run, statsOf(i), i.extract.schemaVersion);
      const chunk = i.window.keyRange;
      const job = parentOf(run);
      if (chunk?.count !== undefined && chunk.index === chunk.count - 1 && job) this.emit(i.table.id, 'COMPLETE', job);
    }
  }

  /** A failure for good (the table stops or the job fails) ends the run with FAIL; a retryable one does not. */
  failed(name: string, input: unknown, err: unknown): void {
    if (stopKindOf(err) === undefined) return;
    const error = {
      type: failureTypeOf(err) ?? 'Error',
      message: err instanceof Error ? err.message : String(err),
    };
    const table = (input as { table: { id: string } }).table.id;
    let run: RunRef | undefined;
    if (WINDOW_READ_ACTIVITIES.includes(name) || name === 'validateWindow' || name === 'commitManifest')
      run = runOfWindow(table, (input as ExtractWindowInput).window);
    else if (name === 'runChunk') {
      const i = input as RunChunkInput;
      run = chunkRun(table, i.job.kind, i.chunk.jobPosition ?? '', i.chunk.index);
    } else if (name === 'planChunks') {
      const i = input as PlanChunksInput;
      run = jobRun(table, i.job.kind, 'unplanned');
    }
    if (!run) return;
    this.emit(table, 'FAIL', run, undefined, undefined, error);
    const job = parentOf(run);
    if (job) this.emit(table, 'FAIL', job, undefined, undefined, error);
  }

  private emit(
    tableId: string,
    type: RunEventType,
    run: RunRef,
    stats?: RunOutputStats,
    schemaVersion?: number,
    error?: { type: string; message: string },
  ): void {
    const eventTime = new Date();
    this.emitter.submit(async (): Promise<LineageEvent[]> => {
      const t = this.table(tableId);
      if (!t) return [];
      const schema = schemaVersion !== undefined ? await this.schema(t, schemaVersion) : undefined;
      const event = runEvent({
        type,
        run,
        eventTime,
        source: t.source,
        lake: t.lake,
        ...(schema ? { columns: columnsOf(schema, t.config) } : {}),
        ...(stats ? { stats: { ...stats, ...(schema ? { keyColumns: schema.keyColumns } : {}) } } : {}),
        ...(error ? { error } : {}),
      });
      return [{ event, lakePath: t.layout.resolve(`_lineage/${run.runId}/${type}.json`) }];
    });
  }

  private table(tableId: string): TableLineage | undefined {
    const config = findTable(this.deps.config, tableId);
    if (!config) return undefined;
    const { source, sink } = this.deps.config;
    const layout = new TableLayout(sink.prefix, { db: source.database, schema: config.schema, table: config.table });
    return {
      source: { namespace: `mssql://${source.host}:${source.port}`, name: tableId },
      lake: { namespace: lakeNamespace(this.deps.store.location), name: layout.root.replace(/\/$/, '') },
      layout,
      config,
    };
  }

  private schema(t: TableLineage, version: number): Promise<SchemaDoc | undefined> {
    const key = `${t.layout.id}@${version}`;
    let doc = this.schemas.get(key);
    if (!doc) {
      doc = readSchema(this.deps.store, t.layout, version).catch(() => undefined);
      this.schemas.set(key, doc);
    }
    return doc;
  }
}

function windowRun(table: string, w: WindowPlan): RunRef {
  return {
    namespace: LINEAGE_NAMESPACE,
    job: `${table}.changes`,
    runId: runIdOf(table, 'window', w.seq, w.plannedAt),
    jobType: 'WINDOW',
  };
}

function jobRun(table: string, kind: JobKind, position: string): RunRef {
  return {
    namespace: LINEAGE_NAMESPACE,
    job: `${table}.${kind}`,
    runId: runIdOf(table, kind, position),
    jobType: 'JOB',
  };
}

function chunkRun(table: string, kind: JobKind, position: string, index: number): RunRef {
  const parent = jobRun(table, kind, position);
  return {
    namespace: LINEAGE_NAMESPACE,
    job: `${table}.${kind}.chunk`,
    runId: runIdOf(table, kind, position, index),
    parent: { job: parent.job, runId: parent.runId },
    jobType: 'CHUNK',
  };
}

/** A chunk's job run (a run of its own: no parent), or undefined for a run without a parent. */
function parentOf(run: RunRef): RunRef | undefined {
  if (!run.parent) return undefined;
  return { namespace: run.namespace, job: run.parent.job, runId: run.parent.runId, jobType: 'JOB' };
}

/** The run a window belongs to: a change window's own, or its job chunk's. */
function runOfWindow(table: string, w: WindowPlan): RunRef {
  if (w.kind === 'changes' || !w.keyRange) return windowRun(table, w);
  return chunkRun(table, w.kind, w.keyRange.jobPosition ?? '', w.keyRange.index);
}

function statsOf(i: CommitManifestInput): RunOutputStats {
  const e: ExtractWindowOutput = i.extract;
  const totals = decodeControlTotals(i.validation.controlTotals);
  return {
    rows: e.rows,
    bytes: e.files.reduce((n, f) => n + f.bytes, 0),
    files: e.files.length,
    ...(totals.receipt ? { nullKeys: totals.receipt.nullKeys } : {}),
    sums: totals.sums,
  };
}

/** The lake columns with their PHI action, then the dropped PHI columns (names only: they never reach the lake). */
function columnsOf(schema: SchemaDoc, config: TableConfig): LineageColumn[] {
  const action = new Map<string, LineageColumn['phi']>();
  for (const rule of config.phi) for (const c of rule.columns) action.set(c.toLowerCase(), rule.action);
  const landed = schema.columns.map((c) => ({
    name: c.name,
    type: formatLakeType(c.type),
    phi: action.get(c.name.toLowerCase()) ?? ('none' as const),
  }));
  const dropped = config.phi
    .filter((r) => r.action === 'drop')
    .flatMap((r) => r.columns.map((name) => ({ name, phi: 'drop' as const })));
  return [...landed, ...dropped];
}

/**
 * The lake's dataset namespace: `abfss://<container>@<account>.dfs.core.windows.net` for an Azure account (the
 * OpenLineage naming of ADLS Gen2), else the blob endpoint and container as a URL (Azurite, other clouds).
 */
export function lakeNamespace(location: string): string {
  const url = location.replace(/^azure:/, '');
  const m = /^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net\/([^/?]+)/i.exec(url);
  return m ? `abfss://${m[2]}@${m[1]}.dfs.core.windows.net` : url;
}
