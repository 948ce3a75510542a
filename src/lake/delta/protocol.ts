/**
 * The Delta protocol level and table properties Tidemark declares, and why (quotes from the Delta protocol,
 * PROTOCOL.md of delta-io/delta).
 *
 * - `timestampNtz`, a reader+writer feature: the lake's timestamps are Parquet `TIMESTAMP(isAdjustedToUTC =
 *   false, MICROS)` (DuckDB's TIMESTAMP, including the event columns `_commit_ts` and `_extracted_at`), and the
 *   protocol's Delta `timestamp` requires "When this is stored in a parquet file, its `isAdjustedToUTC` must be
 *   set to `true`". The type that matches the files is `timestamp_ntz`: "To have a column of TimestampNtz type
 *   in a table, the table must have Reader Version 3 and Writer Version 7. A feature name `timestampNtz` must
 *   exist in the table's `readerFeatures` and `writerFeatures`." Every table has the event columns, so every
 *   table declares it, and the protocol never changes after version 0.
 * - `appendOnly`, a writer feature, with `delta.appendOnly = true`: "If the table is on Writer Version 7, the
 *   feature `appendOnly` must exist in the table `protocol`'s `writerFeatures`." and, when set, "New log entries
 *   MUST NOT change or remove data from the table. New log entries may rearrange data (i.e. `add` and `remove`
 *   actions where `dataChange=false`)." The change log is append-only by design, and the planned compaction
 *   (rewrite a closed day's partition, recorded as remove + add with `dataChange = false`) is exactly such a
 *   rearrangement, so the property holds for the table's whole life and keeps other writers from deleting.
 * - No `typeWidening`: delta-rs 1.6.6 refuses to open such a table at all ("The table has set these reader
 *   features: {'typeWidening'} but these are not yet supported by the deltalake reader"), so a lake widening
 *   that changes the Delta type is refused by the publication instead (see delta-schema.ts).
 * - No `v2Checkpoint`: classic V1 checkpoints are readable by every reader ("Writers are always allowed create a
 *   classic checkpoint following v1 spec").
 */

/** The `protocol` action of every Tidemark Delta table. */
export interface ProtocolAction {
  readonly minReaderVersion: 3;
  readonly minWriterVersion: 7;
  readonly readerFeatures: readonly string[];
  readonly writerFeatures: readonly string[];
}

export const DELTA_PROTOCOL: ProtocolAction = {
  minReaderVersion: 3,
  minWriterVersion: 7,
  readerFeatures: ['timestampNtz'],
  writerFeatures: ['appendOnly', 'timestampNtz'],
};

/** `metaData.configuration`: the table properties. */
export const TABLE_PROPERTIES: Readonly<Record<string, string>> = { 'delta.appendOnly': 'true' };

/**
 * The partition column: the lake's `commit_date=YYYY-MM-DD` directories. It is not stored in the data files;
 * Delta readers take it from each `add` action's `partitionValues` ("Actual partition values for a file must be
 * read from the transaction log").
 */
export const PARTITION_COLUMN = 'commit_date';

/** Written into every `commitInfo` as `engineInfo`. */
export const ENGINE_INFO = 'tidemark';

/** Version tag of the `commitInfo.tidemark` object (what a version carries of its manifest). */
export const COMMIT_INFO_FORMAT = 'tidemark.delta/1';

/** Checkpoint every this many versions unless configured otherwise. */
export const DEFAULT_CHECKPOINT_INTERVAL = 100;
