/** What one job chunk produced: rows compared/read, and the staged events to commit (counts, paths only). */
import type { StagedWindow } from '../domain/staged.js';
import type { ChunkSteps } from '../domain/stage-steps.js';

export type { ChunkSteps } from '../domain/stage-steps.js';

export interface ChunkResult {
  /** Source rows read for this chunk (the sweep's and reconciliation's cost, reported). */
  sourceRowsRead: number;
  /** The chunk staged as its window, with the job position it was read at; null: nothing to commit. */
  staged: (StagedWindow & { readAt: string }) | null;
  /** Sweep and backfill: the chunk's source rows against the lake's latest state of the same keys (counts). */
  compared?: { differs: boolean; sourceRows: number; lakeRows: number };
  /** Where the chunk's time went (bench:e2e's load timeline); absent from reconciliation chunks. */
  steps?: ChunkSteps;
}
