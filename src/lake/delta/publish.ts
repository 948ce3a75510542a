/**
 * Publishes a lake table as a Delta Lake table at the same root: `_delta_log/` versions derived from the
 * committed manifests, one to one (Delta version N = manifest N; version 0 = the table's creation).
 *
 * The manifest stays the commit point; the Delta log is published from it right after each commit. Why not
 * make the Delta version the commit point: the manifest protocol, its validation and its readers (verify,
 * sweep, reconcile, `tidemark lake`) stay as they are, the Delta log can be (re)built for any existing lake, and
 * a Delta-specific refusal (a type Delta cannot declare) never stops the lake from landing data.
 *
 * `publishDelta` writes every missing version in order, each with `If-None-Match: *`, so:
 * - a crash between a manifest and its version, or between two versions, is repaired by the next call, which
 *   starts after the highest version present; versions are only ever written in order, so there is no gap;
 * - a version is never written twice (the name is the version), and a publisher that finds its version already
 *   there (a concurrent publisher won the race) checks that it is the same version it would have written, or
 *   fails with a LakeIntegrityError (someone else — another Delta writer — wrote into this table's log);
 * - every `interval` versions a Parquet checkpoint follows (checkpoint.ts); a crash between a version and its
 *   checkpoint is repaired by the next call too;
 * - after each checkpoint `_last_checkpoint` is pointed at it, best effort (last-checkpoint.ts): an immutability
 *   policy that refuses the overwrite is reported once (`lastCheckpointRefused`) and never fails the call.
 */
import { allSettledOrThrow } from '../../util/settle-all.js';
import { ensureCheckpoint } from './checkpoint.js';
import { DeltaSchemaError, deltaSchemaOf, schemaChangeProblems, type DeltaStructType } from './delta-schema.js';
import { DeltaLogPaths } from './log-paths.js';
import { manifestSequenceOf, tidemarkInfoOf } from './live-files.js';
import { DEFAULT_CHECKPOINT_INTERVAL } from './protocol.js';
import {
  creationVersion,
  deltaTableId,
  serializeVersion,
  versionEssence,
  windowVersion,
  type DeltaAction,
} from './version-actions.js';
import {
  BlobAlreadyExistsError,
  LakeIntegrityError,
  readManifest,
  readSchema,
  type LakeTable,
  type Manifest,
  type SchemaDoc,
} from './lake-port.js';

export interface PublishDeltaInput {
  readonly lake: LakeTable;
  /** A checkpoint every this many versions (default 100); 0: none. */
  readonly checkpointInterval?: number;
  /** Parent of local scratch directories (checkpoints); a temp directory by default. */
  readonly scratchDir?: string;
  /**
   * At most this many versions per call (default: all missing ones). The pipeline bounds each call so that the
   * first publication of a long-existing lake never holds a commit activity for long; the next call goes on
   * from where this one stopped.
   */
  readonly maxVersions?: number;
}

export interface PublishDeltaOutput {
  /** The highest version in the log after the call (-1: no log, the table has no schema yet). */
  readonly version: number;
  /** Versions this call created. */
  readonly written: readonly number[];
  /** Versions whose checkpoint this call created. */
  readonly checkpoints: readonly number[];
  /** True when `maxVersions` stopped the call before the last committed manifest. */
  readonly behind: boolean;
  /**
   * Present the first time in this process that an immutability policy refused to move this table's
   * `_last_checkpoint` (the caller logs it once; the hint stays where it was, the log is complete).
   */
  readonly lastCheckpointRefused?: string;
}

/**
 * The highest version in the log, or -1. Versions are written only in order, so "version v exists" is true for
 * exactly 0..h: an exponential then binary search finds h in about 2·log2(h) existence checks, without listing
 * a log that grows by one object per window.
 */
export async function highestPublishedVersion(
  lake: LakeTable,
  paths = new DeltaLogPaths(lake.layout),
): Promise<number> {
  const exists = (v: number) => lake.store.exists(paths.version(v));
  if (!(await exists(0))) return -1;
  let lo = 0;
  let step = 1;
  while (await exists(lo + step)) {
    lo += step;
    step *= 2;
  }
  let hi = lo + step; // absent
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * What a publication in this process left a table's log at: its head version and that version's text, the
 * manifest sequence it reflects, the schema version in effect there, and the table's first schema. Only a hint
 * for the next publication of the table in this process: it is used only when the head version is still there
 * with the same text and nothing follows it (two requests, at once); else the next publication searches and
 * checks the head as a first call does. Versions are immutable and written in order, so a head that is still
 * there, unchanged, with nothing after it, is still the head this process wrote or checked.
 */
interface KnownHead {
  readonly version: number;
  readonly text: string;
  readonly sequence: number;
  readonly schemaVersion: number;
  readonly first: SchemaDoc;
}

/** By store, then by the table's version-0 path (unique in a store). */
let knownHeads = new WeakMap<object, Map<string, KnownHead>>();

/** Forgets every table's {@link KnownHead} (tests that simulate a restart). */
export function forgetKnownHeads(): void {
  knownHeads = new WeakMap();
}

/** Writes every missing Delta version (and due checkpoint) of a lake table, in order. Idempotent. */
export async function publishDelta(input: PublishDeltaInput): Promise<PublishDeltaOutput> {
  const interval = input.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
  if (!Number.isSafeInteger(interval) || interval < 0)
    throw new RangeError(`checkpointInterval must be a non-negative integer, got ${interval}`);
  const max = input.maxVersions ?? Number.POSITIVE_INFINITY;
  if (!(max >= 1)) throw new RangeError(`maxVersions must be at least 1, got ${max}`);
  return new DeltaPublisher(input.lake, interval, input.scratchDir, max).publish();
}

/** One publication run: the versions and checkpoints it wrote, and the schema in effect as it walks the chain. */
class DeltaPublisher {
  private readonly paths: DeltaLogPaths;
  private readonly written: number[] = [];
  private readonly checkpoints: number[] = [];
  private lastCheckpointRefused: string | undefined;
  private readonly schemas = new Map<number, SchemaDoc>();
  /** The schema in effect before the next window's version (version 0: schema version 1). */
  private previousSchemaVersion = 1;
  private previousDelta: DeltaStructType | undefined;
  /** The text of the log's head version as this run last wrote or read it. */
  private headText: string | undefined;

  constructor(
    private readonly lake: LakeTable,
    private readonly interval: number,
    private readonly scratchDir: string | undefined,
    private readonly maxVersions: number,
  ) {
    this.paths = new DeltaLogPaths(lake.layout);
  }

  async publish(): Promise<PublishDeltaOutput> {
    const { store, layout } = this.lake;
    // A commit publishes right after the last one in this process: the known head read and the version after it
    // checked, at once, instead of the head's search (~2·log2(head) checks, one after the other) and its check (the
    // head version and two manifests).
    const known = await this.knownHead();
    const head = known?.version ?? (await highestPublishedVersion(this.lake, this.paths));
    const first = known?.first ?? (await readSchema(store, layout, 1));
    if (!first) {
      if (head >= 0) throw this.mismatch(0, 0);
      return this.result(head);
    }
    this.schemas.set(1, first);
    const tableId = deltaTableId(layout, first);
    let published = 0; // the last manifest sequence the log holds
    if (known) {
      this.headText = known.text;
      published = known.sequence;
      this.previousSchemaVersion = known.schemaVersion;
    } else if (head < 0) await this.put(0, 0, creationVersion(layout, first));
    else published = await this.checkHead(head, first, tableId);
    // Version numbers and manifest sequences advance together, except where a compaction version (written by
    // compaction.ts, not derived from a manifest) took a version: the window's version is then the next one.
    let version = Math.max(head + 1, 1);
    let next = published + 1;
    for (; ; next++) {
      if (this.written.length >= this.maxVersions) break;
      const manifest = await readManifest(this.lake, next);
      if (!manifest) break;
      const actions = await this.versionOf(manifest, tableId);
      while (!(await this.put(version, next, actions))) version++;
      version++;
    }
    if (this.headText !== undefined)
      this.remember({
        version: version - 1,
        text: this.headText,
        sequence: next - 1,
        schemaVersion: this.previousSchemaVersion,
        first,
      });
    return this.result(version - 1, this.written.length >= this.maxVersions);
  }

  /** This process's {@link KnownHead} of the table, when it is still the log's head. */
  private async knownHead(): Promise<KnownHead | undefined> {
    const known = knownHeads.get(this.lake.store)?.get(this.paths.version(0));
    if (!known) return undefined;
    const [head, followed] = await allSettledOrThrow([
      this.lake.store.get(this.paths.version(known.version)),
      this.lake.store.exists(this.paths.version(known.version + 1)),
    ]);
    return head?.body.toString('utf8') === known.text && !followed ? known : undefined;
  }

  private remember(head: KnownHead): void {
    let tables = knownHeads.get(this.lake.store);
    if (!tables) knownHeads.set(this.lake.store, (tables = new Map<string, KnownHead>()));
    tables.set(this.paths.version(0), head);
  }

  private result(version: number, behind = false): PublishDeltaOutput {
    const refused = this.lastCheckpointRefused;
    return {
      version,
      written: this.written,
      checkpoints: this.checkpoints,
      behind,
      ...(refused !== undefined ? { lastCheckpointRefused: refused } : {}),
    };
  }

  /**
   * The head must be Tidemark's: another Delta writer appends after it, and would otherwise go unnoticed (its
   * version taken for a published window). Earlier versions were checked when they were the head. Returns the
   * manifest sequence the head reflects (a window version's own; a compaction version's `afterSequence`).
   */
  private async checkHead(head: number, first: SchemaDoc, tableId: string): Promise<number> {
    const stored = (await this.lake.store.get(this.paths.version(head)))?.body.toString('utf8');
    this.headText = stored;
    const info = stored === undefined ? undefined : tidemarkInfoOf(stored);
    const sequence = manifestSequenceOf(info);
    if (stored === undefined || info?.table !== this.lake.layout.id || sequence === undefined)
      throw this.mismatch(head, head);
    if (info.compaction) {
      // The compaction checked what it wrote; what follows it is the window after `afterSequence`.
      if (sequence > 0) this.previousSchemaVersion = (await this.manifestAt(sequence, head)).schemaVersion;
    } else {
      let expected: DeltaAction[];
      if (sequence === 0) expected = creationVersion(this.lake.layout, first);
      else {
        if (sequence > 1) this.previousSchemaVersion = (await this.manifestAt(sequence - 1, head)).schemaVersion;
        expected = await this.versionOf(await this.manifestAt(sequence, head), tableId);
      }
      if (versionEssence(stored) !== versionEssence(serializeVersion(expected))) throw this.mismatch(head, sequence);
    }
    // A crash between the last version and its checkpoint: write the checkpoint now.
    if (this.interval > 0 && head >= this.interval) await this.checkpointIfDue(head - (head % this.interval));
    return sequence;
  }

  /**
   * Creates version `version` for manifest `sequence`, or checks that the one there is the same version (a
   * concurrent publisher's). Returns false when a Tidemark compaction version holds it (the caller tries the
   * next version).
   */
  private async put(version: number, sequence: number, actions: DeltaAction[]): Promise<boolean> {
    const path = this.paths.version(version);
    const body = serializeVersion(actions);
    try {
      await this.lake.store.putIfAbsent(path, body, { contentType: 'application/json' });
      this.written.push(version);
      this.headText = body;
    } catch (err) {
      if (!(err instanceof BlobAlreadyExistsError)) throw err;
      const existing = (await this.lake.store.get(path))?.body.toString('utf8');
      if (existing !== undefined && versionEssence(existing) !== versionEssence(body)) {
        const info = tidemarkInfoOf(existing);
        if (info?.compaction && info.table === this.lake.layout.id) return false;
      }
      if (existing === undefined || versionEssence(existing) !== versionEssence(body))
        throw this.mismatch(version, sequence);
      this.headText = existing;
    }
    await this.checkpointIfDue(version);
    return true;
  }

  private async checkpointIfDue(version: number): Promise<void> {
    const { interval } = this;
    if (!(interval > 0 && version > 0 && version % interval === 0)) return;
    const { created, lastCheckpoint } = await ensureCheckpoint({
      lake: this.lake,
      paths: this.paths,
      version,
      interval,
      scratchDir: this.scratchDir,
    });
    if (created) this.checkpoints.push(version);
    if (lastCheckpoint.status === 'refused') this.lastCheckpointRefused = lastCheckpoint.message;
  }

  /** Version `manifest.sequence` from its manifest, advancing the schema in effect. */
  private async versionOf(manifest: Manifest, tableId: string): Promise<DeltaAction[]> {
    let schemaChange: { schema: SchemaDoc; deltaSchema: DeltaStructType } | undefined;
    if (manifest.schemaVersion !== this.previousSchemaVersion) {
      const schema = await this.schemaOf(manifest.schemaVersion);
      const deltaSchema = deltaSchemaOf(schema);
      this.previousDelta ??= deltaSchemaOf(await this.schemaOf(this.previousSchemaVersion));
      const problems = schemaChangeProblems(this.previousDelta, deltaSchema);
      if (problems.length) throw new DeltaSchemaError(this.lake.layout.id, schema.version, problems);
      schemaChange = { schema, deltaSchema };
      this.previousDelta = deltaSchema;
      this.previousSchemaVersion = manifest.schemaVersion;
    }
    return windowVersion({ layout: this.lake.layout, manifest, tableId, schemaChange });
  }

  private async manifestAt(sequence: number, version: number): Promise<Manifest> {
    const m = await readManifest(this.lake, sequence);
    if (!m) throw this.mismatch(version, sequence);
    return m;
  }

  private async schemaOf(version: number): Promise<SchemaDoc> {
    const cached = this.schemas.get(version);
    if (cached) return cached;
    const { store, layout } = this.lake;
    const doc = await readSchema(store, layout, version);
    if (!doc)
      throw new LakeIntegrityError(
        `Schema version ${version} of ${layout.id} is missing, but a manifest names it`,
        layout.id,
        layout.schemaPath(version),
      );
    this.schemas.set(version, doc);
    return doc;
  }

  private mismatch(version: number, sequence: number): LakeIntegrityError {
    const { layout } = this.lake;
    return new LakeIntegrityError(
      `Delta version ${version} of ${layout.id} exists but is not the version ` +
        `${sequence === 0 ? 'schema version 1' : `manifest ${sequence}`} gives: ` +
        "something other than Tidemark wrote into this table's _delta_log (Tidemark must be its only writer). " +
        'Stop the Delta publication of this table and investigate; the manifests remain the truth.',
      layout.id,
      this.paths.version(version),
    );
  }
}
