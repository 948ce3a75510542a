/**
 * OpenLineage run events (spec 2-0-2, https://openlineage.io/spec/2-0-2/OpenLineage.json) for Tidemark's runs:
 * one run per window, one per job and one per job chunk (its parent run facet names the job's run). The source
 * table is the input dataset, the table's lake folder the output. Pure: names, types, counts and sums only —
 * never a row value, a key, a position's meaning or a secret (docs/lineage.md).
 */
import { createHash } from 'node:crypto';
import type { PhiAction } from '../config/types.js';
import { producerUri } from '../util/package-identity.js';

/** Who produced the events (the spec's `producer`: a URI naming this package and version, util/package-identity.ts). */
export const PRODUCER = producerUri();
const SPEC = 'https://openlineage.io/spec/2-0-2/OpenLineage.json';
const FACETS = 'https://openlineage.io/spec/facets';

export type RunEventType = 'START' | 'COMPLETE' | 'FAIL';

/** A dataset as OpenLineage names it. */
export interface DatasetRef {
  readonly namespace: string;
  readonly name: string;
}

/** One lake column as the lineage facets describe it: its lake type and what the PHI policy did to it. */
export interface LineageColumn {
  readonly name: string;
  /** The lake type as text (e.g. `decimal(10,2)`); absent when unknown (a dropped column's source type). */
  readonly type?: string;
  readonly phi: PhiAction | 'none';
}

/** A run: its job name and deterministic id, and its parent's when it is a chunk of a job. */
export interface RunRef {
  readonly namespace: string;
  readonly job: string;
  readonly runId: string;
  readonly parent?: { readonly job: string; readonly runId: string };
  /** The job type facet's jobType: `WINDOW`, `JOB` or `CHUNK`. */
  readonly jobType: 'WINDOW' | 'JOB' | 'CHUNK';
}

/** What a finished window or chunk wrote (counts, bytes and the receipt: no values). */
export interface RunOutputStats {
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  /** Events with a NULL key column (the receipt's check, 0 when committed). */
  readonly nullKeys?: number;
  /** Sums of the control-total columns (exact decimal text; null: no value in the window). */
  readonly sums?: Readonly<Record<string, string | null>>;
  /** Key columns (their null counts are the receipt's `nullKeys`). */
  readonly keyColumns?: readonly string[];
}

export interface RunEventInput {
  readonly type: RunEventType;
  readonly run: RunRef;
  readonly eventTime: Date;
  readonly source: DatasetRef;
  readonly lake: DatasetRef;
  /** The landed columns and the dropped ones (schema and column lineage facets); absent: not known. */
  readonly columns?: readonly LineageColumn[];
  readonly stats?: RunOutputStats;
  /** FAIL: the failure's type and message (messages carry names and positions, never row values). */
  readonly error?: { readonly type: string; readonly message: string };
}

/** A UUID (v4 layout) derived from `parts`, so every activity of a run names the same run on any worker. */
export function runIdOf(...parts: readonly (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x40;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const facet = (path: string) => ({ _producer: PRODUCER, _schemaURL: `${FACETS}/${path}` });

const PHI_NOTE: Record<PhiAction | 'none', string | undefined> = {
  none: undefined,
  keep: 'PHI (landed unchanged, tagged PHI in the lake schema)',
  hash: 'PHI (landed as HMAC-SHA-256, hex)',
  drop: 'PHI (dropped: not landed)',
};

function schemaFacet(columns: readonly LineageColumn[]) {
  return {
    ...facet('1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet'),
    fields: columns.map((c, i) => ({
      name: c.name,
      ...(c.type !== undefined ? { type: c.type } : {}),
      ...(PHI_NOTE[c.phi] !== undefined ? { description: PHI_NOTE[c.phi] } : {}),
      ordinal_position: i + 1,
    })),
  };
}

/**
 * Column lineage of the lake table: each landed column from the source column of the same name — IDENTITY, or a
 * masking HMAC-SHA-256 TRANSFORMATION for a hashed PHI column; a dropped column has no output field at all.
 */
function columnLineageFacet(source: DatasetRef, columns: readonly LineageColumn[]) {
  const fields: Record<string, unknown> = {};
  for (const c of columns) {
    if (c.phi === 'drop') continue;
    const hashed = c.phi === 'hash';
    fields[c.name] = {
      inputFields: [
        {
          namespace: source.namespace,
          name: source.name,
          field: c.name,
          transformations: [
            hashed
              ? { type: 'DIRECT', subtype: 'TRANSFORMATION', description: 'HMAC-SHA-256 (PHI hash)', masking: true }
              : { type: 'DIRECT', subtype: 'IDENTITY', masking: false },
          ],
        },
      ],
    };
  }
  return { ...facet('1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet'), fields };
}

/** The receipt as data-quality metrics: rows, null key counts, control-total sums as column `sum`s. */
function dataQualityFacet(stats: RunOutputStats) {
  const columnMetrics: Record<string, { nullCount?: number; sum?: number }> = {};
  for (const k of stats.keyColumns ?? []) columnMetrics[k] = { nullCount: stats.nullKeys ?? 0 };
  for (const [column, sum] of Object.entries(stats.sums ?? {})) {
    // The spec's sum is a JSON number: exact decimal text becomes the nearest double (the manifest keeps the text).
    if (sum !== null) columnMetrics[column] = { ...columnMetrics[column], sum: Number(sum) };
  }
  return {
    ...facet('1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet'),
    rowCount: stats.rows,
    bytes: stats.bytes,
    fileCount: stats.files,
    columnMetrics,
  };
}

/** One OpenLineage RunEvent. */
export function runEvent(e: RunEventInput): Record<string, unknown> {
  const runFacets: Record<string, unknown> = {};
  if (e.run.parent)
    runFacets.parent = {
      ...facet('1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet'),
      run: { runId: e.run.parent.runId },
      job: { namespace: e.run.namespace, name: e.run.parent.job },
    };
  if (e.error)
    runFacets.errorMessage = {
      ...facet('1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet'),
      message: `${e.error.type}: ${e.error.message}`,
      programmingLanguage: 'TypeScript',
    };
  const inputFacets: Record<string, unknown> = {};
  const outputFacets: Record<string, unknown> = {};
  const outputStatistics: Record<string, unknown> = {};
  if (e.columns) {
    inputFacets.schema = schemaFacet(e.columns.map((c) => (c.phi === 'hash' ? { name: c.name, phi: c.phi } : c)));
    outputFacets.schema = schemaFacet(
      e.columns
        .filter((c) => c.phi !== 'drop')
        .map((c) => (c.phi === 'hash' ? { name: c.name, type: 'string', phi: c.phi } : c)),
    );
    outputFacets.columnLineage = columnLineageFacet(e.source, e.columns);
  }
  if (e.stats) {
    outputStatistics.outputStatistics = {
      ...facet('1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet'),
      rowCount: e.stats.rows,
      size: e.stats.bytes,
      fileCount: e.stats.files,
    };
    outputFacets.dataQualityMetrics = dataQualityFacet(e.stats);
  }
  return {
    eventType: e.type,
    eventTime: e.eventTime.toISOString(),
    producer: PRODUCER,
    schemaURL: `${SPEC}#/$defs/RunEvent`,
    run: { runId: e.run.runId, facets: runFacets },
    job: {
      namespace: e.run.namespace,
      name: e.run.job,
      facets: {
        jobType: {
          ...facet('2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet'),
          processingType: 'BATCH',
          integration: 'TIDEMARK',
          jobType: e.run.jobType,
        },
      },
    },
    inputs: [{ ...e.source, facets: inputFacets }],
    outputs: [{ ...e.lake, facets: outputFacets, outputFacets: outputStatistics }],
  };
}
