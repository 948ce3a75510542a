/**
 * Names in a table's Delta log (`<table root>/_delta_log/`), as the Delta protocol fixes them
 * (PROTOCOL.md, "Delta Log Entries" and "Checkpoints"): versions zero-padded to 20 digits, so a lexicographic
 * listing is version order.
 *
 * ```
 * _delta_log/00000000000000000042.json                  version 42 (= manifest 42)
 * _delta_log/00000000000000000100.checkpoint.parquet    classic (V1) checkpoint of version 100
 * _delta_log/_last_checkpoint                           the hint naming a recent checkpoint (last-checkpoint.ts)
 * ```
 */
import type { TableLayout } from './lake-port.js';

const VERSION_WIDTH = 20;

/** A version zero-padded to 20 digits. */
export function padVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0)
    throw new RangeError(`Delta version must be a non-negative integer, got ${version}`);
  return String(version).padStart(VERSION_WIDTH, '0');
}

/** Container-relative paths of one table's Delta log. */
export class DeltaLogPaths {
  /** `<table root>/_delta_log/`. */
  readonly prefix: string;

  constructor(readonly layout: TableLayout) {
    this.prefix = layout.resolve('_delta_log/');
  }

  /** The commit file of a version. */
  version(version: number): string {
    return `${this.prefix}${padVersion(version)}.json`;
  }

  /** The hint naming a recent checkpoint ("Last Checkpoint File"). */
  get lastCheckpoint(): string {
    return `${this.prefix}_last_checkpoint`;
  }

  /** The classic checkpoint of a version. */
  checkpoint(version: number): string {
    return `${this.prefix}${padVersion(version)}.checkpoint.parquet`;
  }

  /** The version of a commit file's path, or undefined if the path is not one. */
  versionOf(path: string): number | undefined {
    if (!path.startsWith(this.prefix)) return undefined;
    const m = /^(\d{20})\.json$/.exec(path.slice(this.prefix.length));
    return m ? Number(m[1]) : undefined;
  }
}
