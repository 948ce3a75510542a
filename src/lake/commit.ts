/**
 * The commit protocol of one window: extract → stage → validate → commit manifest → advance watermark.
 *
 * Each step is a plain function that Temporal activities wrap. Inputs and outputs carry positions, paths,
 * counts and checksums only — never row values — so they may be recorded in workflow histories.
 *
 * Guarantees:
 * - stage: data files are uploaded with `If-None-Match: *` under names unique to (window, attempt); a retry
 *   or a zombie attempt writes different names, which no manifest references, so readers never see them.
 * - validate: re-reads the staged files (MD5-verified) with DuckDB and checks them against the extracted
 *   counts, the registered schema, key nulls and (key, position) uniqueness; computes control totals.
 * - commit: the manifest `_manifests/<seq>.json` is created with `If-None-Match: *` — the commit point. A 409
 *   means the window is already committed: if it is the same window (table, sequence, bounds) the call is a
 *   no-op success returning the committed manifest; a different window there is a {@link LakeIntegrityError}.
 *   The audit entry is then created (idempotently) for the committed manifest.
 * - advance: the watermark pointer is replaced by compare-and-swap on its ETag; when missing or behind it is
 *   rebuilt from the manifests, which are the truth. It never moves backwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { md5OfBytes, type BlobStore } from './blob-store.js';
import { BlobAlreadyExistsError, ConditionNotMetError, LakeIntegrityError, WindowValidationError } from './errors.js';
import { EVENT_LAKE_COLUMNS, LakeValueError, duckdbTypeSql } from './lake-types.js';
import { CHANGE_OPS, type ChangeOp, type LakeColumn, type LakeValue } from '../domain/values.js';
import { assertAttemptId, utcDateOfNanos, type TableLayout } from './layout.js';
import { ParquetWriter, quoteIdent, quoteLiteral } from './parquet-writer.js';
import { queryRows, text } from './duckdb.js';
import type { SchemaDoc } from './schema-registry.js';

export const MANIFEST_FORMAT = 'tidemark.manifest/1';
export const WATERMARK_FORMAT = 'tidemark.watermark/1';
export const AUDIT_FORMAT = 'tidemark.audit/1';

/** Source positions are lowercase hex of a fixed width per table, so string order is position order. */
const POSITION = /^[0-9a-f]{1,64}$/;

/**
 * One change event from the source.
 *
 * `position` totally orders the events of one key: the source's position encoded as fixed-width lowercase hex
 * (CDC: 10-byte start_lsn + 10-byte seqval + 4-byte operation ordinal = 48 hex digits; Change Tracking: the
 * 8-byte version; rowversion: 8 bytes; a snapshot/backfill read: the snapshot's position in the same format).
 * All events of a table use the same width, so comparing strings compares positions.
 */
export interface ChangeEvent {
  readonly op: ChangeOp;
  readonly position: string;
  /** When the change entered the source's log (UTC epoch nanoseconds), or null where the source does not know. */
  readonly commitTs: bigint | null;
  /** The table's column values, in the order of the registered schema's `columns`. */
  readonly values: readonly LakeValue[];
}

/** All physical columns of a data file of this schema version. */
export function dataFileColumns(schema: SchemaDoc): LakeColumn[] {
  return [...EVENT_LAKE_COLUMNS, ...schema.columns];
}

/** Where a table lives and which stores to use (`stateStore` may be a non-WORM container). */
export interface LakeTable {
  readonly store: BlobStore;
  /** Store of `_state/` (the only mutable object); defaults to `store`. */
  readonly stateStore?: BlobStore;
  readonly layout: TableLayout;
}

/** A window: its sequence number (1, 2, …) and its source bounds. */
export interface WindowRef {
  readonly sequence: number;
  /** Lower bound (exclusive) and upper bound (inclusive) positions as planned before reading. */
  readonly from: string;
  readonly to: string;
  /**
   * Where the next window starts when the read refined the planned end (identity: the high-water it saw and
   * the gaps still open), recorded in the manifest with the files of the attempt that read it. Absent: `to`.
   * Not part of the window's identity: a retry may see more, and the first committed attempt's value wins.
   */
  readonly resume?: string;
}

/** A data file of a window. Paths are relative to the table root. */
export interface StagedFile {
  readonly path: string;
  readonly commitDate: string;
  readonly rows: number;
  readonly bytes: number;
  /** base64 MD5 of the file's bytes. */
  readonly md5: string;
}

export type OpCounts = Record<ChangeOp, number>;

const zeroCounts = (): OpCounts => ({ c: 0, u: 0, d: 0, r: 0 });

export interface StageWindowInput {
  readonly lake: LakeTable;
  readonly window: WindowRef;
  /** Unique per attempt (e.g. Temporal activity attempt + a random suffix); part of every file name. */
  readonly attemptId: string;
  readonly schema: SchemaDoc;
  readonly events: AsyncIterable<ChangeEvent> | Iterable<ChangeEvent>;
  /** When the extraction read the source (UTC epoch nanoseconds, µs precision). */
  readonly extractedAt: bigint;
  /** Rows per part file (bounded memory); default 500,000. */
  readonly partRows?: number;
  /** Local scratch directory; a temp directory by default. Removed afterwards. */
  readonly scratchDir?: string;
}

export interface StageWindowOutput {
  readonly sequence: number;
  readonly attemptId: string;
  readonly schemaVersion: number;
  readonly files: readonly StagedFile[];
  /** What was extracted (counted while streaming from the source). */
  readonly extracted: { readonly rows: number; readonly byOp: OpCounts };
  /** Lowest and highest event position seen, or null for an empty window. */
  readonly minPosition: string | null;
  readonly maxPosition: string | null;
}

/** Stage: writes the window's events to Parquet parts and uploads them under attempt-unique names. */
export async function stageWindow(input: StageWindowInput): Promise<StageWindowOutput> {
  const { lake, window, attemptId, schema } = input;
  assertAttemptId(attemptId);
  const scratch = input.scratchDir ?? (await mkdtemp(join(tmpdir(), 'tidemark-stage-')));
  // A tombstone carries its key; its other columns may be NULL (a Change Tracking delete knows only the key),
  // whatever the column's nullability. So the writer accepts NULL in non-key columns, and NOT NULL is checked
  // here for every other event.
  const keys = new Set(schema.keyColumns.map((k) => k.toLowerCase()));
  const required = schema.columns.flatMap((c, i) => (c.nullable || keys.has(c.name.toLowerCase()) ? [] : [i]));
  const writer = await ParquetWriter.create({
    columns: [
      ...EVENT_LAKE_COLUMNS,
      ...schema.columns.map((c) => (keys.has(c.name.toLowerCase()) ? c : { ...c, nullable: true })),
    ],
    dir: scratch,
    partRows: input.partRows,
    fileName: (date, part) => `${date}-${part}.parquet`,
  });
  const byOp = zeroCounts();
  let rows = 0;
  let minPosition: string | null = null;
  let maxPosition: string | null = null;
  let positionWidth = -1;
  const extractedDate = utcDateOfNanos(input.extractedAt);
  const windowId = BigInt(window.sequence);
  try {
    for await (const e of input.events) {
      if (!CHANGE_OPS.includes(e.op)) throw new LakeValueError('_op', 'op must be c, u, d or r');
      if (!POSITION.test(e.position)) throw new LakeValueError('_pos', 'position must be lowercase hex');
      if (positionWidth === -1) positionWidth = e.position.length;
      else if (e.position.length !== positionWidth)
        throw new LakeValueError('_pos', 'positions of one window must have one fixed width');
      if (e.op !== 'd')
        for (const i of required)
          if ((e.values[i] ?? null) === null)
            throw new LakeValueError(schema.columns[i]!.name, 'NULL in a non-nullable column');
      if (minPosition === null || e.position < minPosition) minPosition = e.position;
      if (maxPosition === null || e.position > maxPosition) maxPosition = e.position;
      const commitDate = e.commitTs === null ? extractedDate : utcDateOfNanos(e.commitTs);
      const flushing = writer.append(commitDate, [
        e.op,
        e.position,
        e.commitTs,
        windowId,
        input.extractedAt,
        ...e.values,
      ]);
      if (flushing) await flushing;
      byOp[e.op]++;
      rows++;
    }
    const parts = await writer.finish();
    const files: StagedFile[] = [];
    for (const part of parts) {
      const path = lake.layout.dataFileRelative(part.partition, window.sequence, attemptId, part.partIndex);
      const up = await lake.store.uploadFileIfAbsent(lake.layout.resolve(path), part.localPath, {
        contentType: 'application/vnd.apache.parquet',
      });
      files.push({ path, commitDate: part.partition, rows: part.rows, bytes: up.bytes, md5: up.md5 });
    }
    return {
      sequence: window.sequence,
      attemptId,
      schemaVersion: schema.version,
      files,
      extracted: { rows, byOp },
      minPosition,
      maxPosition,
    };
  } finally {
    writer.close();
    if (input.scratchDir === undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/** Control totals: the manifest's completeness receipt. Sums are exact decimal text. */
export interface ControlTotals {
  readonly rows: number;
  readonly rowsByOp: OpCounts;
  readonly sums: Readonly<Record<string, string | null>>;
}

export interface ValidateWindowInput {
  readonly lake: LakeTable;
  readonly schema: SchemaDoc;
  readonly staged: StageWindowOutput;
  /** Numeric columns (integer or decimal) whose sums go into the control totals. */
  readonly sumColumns?: readonly string[];
  readonly scratchDir?: string;
}

export interface ValidateWindowOutput {
  readonly controlTotals: ControlTotals;
}

const SUMMABLE = new Set(['uint8', 'int16', 'int32', 'int64', 'decimal']);

/**
 * Validate: downloads the staged files (MD5-verified against the stage's record), and checks with DuckDB:
 * file row counts = extracted counts (total and per op), schema = the registered version, no NULL key, no
 * duplicate (key, position), every row of this window. Throws {@link WindowValidationError} listing every problem.
 */
export async function validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput> {
  const { lake, schema, staged } = input;
  const problems: string[] = [];
  const sumColumns = input.sumColumns ?? [];
  for (const name of sumColumns) {
    const col = schema.columns.find((c) => c.name === name);
    if (!col || !SUMMABLE.has(col.type.kind))
      problems.push(`control-total column ${name} is not an exact numeric column`);
  }
  if (staged.schemaVersion !== schema.version)
    problems.push(`staged with schema version ${staged.schemaVersion}, validating against ${schema.version}`);
  const byOp = zeroCounts();
  const sums: Record<string, string | null> = {};
  if (staged.files.length === 0) {
    if (staged.extracted.rows !== 0) problems.push(`extracted ${staged.extracted.rows} rows but staged no file`);
    for (const name of sumColumns) sums[name] = null;
  } else if (problems.length === 0) {
    const scratch = input.scratchDir ?? (await mkdtemp(join(tmpdir(), 'tidemark-validate-')));
    const db = await DuckDBInstance.create(':memory:', { threads: '2' });
    const conn = await db.connect();
    try {
      const locals: string[] = [];
      for (const [i, f] of staged.files.entries()) {
        const local = join(scratch, `f${i}.parquet`);
        const got = await lake.store.downloadToFile(lake.layout.resolve(f.path), local);
        if (got.md5 !== f.md5) problems.push(`${f.path}: MD5 differs from the staged record`);
        if (got.bytes !== f.bytes) problems.push(`${f.path}: size differs from the staged record`);
        const [n] = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteLiteral(local)})`);
        const rows = Number(n?.n);
        if (rows !== f.rows) problems.push(`${f.path}: holds ${rows} rows, staged record says ${f.rows}`);
        locals.push(local);
      }
      const files = `read_parquet([${locals.map(quoteLiteral).join(', ')}])`;
      // Schema: names and types, in order, exactly as the registered version.
      const described = await queryRows(conn, `DESCRIBE SELECT * FROM ${files}`);
      const expected = dataFileColumns(schema).map((c) => `${c.name} ${duckdbTypeSql(c.type)}`);
      const actual = described.map((r) => `${text(r.column_name)} ${text(r.column_type)}`);
      const norm = (s: string) => s.replace(/"/g, '').replace(/\s+/g, ' ').toUpperCase();
      if (expected.map(norm).join('|') !== actual.map(norm).join('|'))
        problems.push(`file columns differ from schema version ${schema.version}`);
      else {
        const keys = schema.keyColumns.map(quoteIdent);
        const ops = await queryRows(conn, `SELECT _op, count(*)::BIGINT AS n FROM ${files} GROUP BY _op`);
        for (const r of ops) {
          const op = text(r._op) as ChangeOp;
          if (CHANGE_OPS.includes(op)) byOp[op] = Number(r.n);
          else problems.push('a row has an unknown _op');
        }
        for (const op of CHANGE_OPS)
          if (byOp[op] !== staged.extracted.byOp[op])
            problems.push(`op ${op}: files hold ${byOp[op]} rows, extracted ${staged.extracted.byOp[op]}`);
        const sumSql = sumColumns.map((c, i) => `sum(${quoteIdent(c)})::VARCHAR AS s${i}`);
        const [facts] = await queryRows(
          conn,
          `SELECT count(*)::BIGINT AS n,
                    count(*) FILTER (WHERE ${keys.map((k) => `${k} IS NULL`).join(' OR ')})::BIGINT AS null_keys,
                    count(*) FILTER (WHERE _window_id <> ${staged.sequence})::BIGINT AS foreign_rows
                    ${sumSql.length ? `, ${sumSql.join(', ')}` : ''}
             FROM ${files}`,
        );
        const total = Number(facts?.n);
        if (total !== staged.extracted.rows)
          problems.push(`files hold ${total} rows, extracted ${staged.extracted.rows}`);
        if (Number(facts?.null_keys) > 0) problems.push(`${text(facts?.null_keys)} rows have a NULL key column`);
        if (Number(facts?.foreign_rows) > 0) problems.push(`${text(facts?.foreign_rows)} rows carry another window id`);
        sumColumns.forEach((c, i) => {
          const v = facts?.[`s${i}`];
          sums[c] = v === null || v === undefined ? null : text(v);
        });
        const [dups] = await queryRows(
          conn,
          `SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${files} GROUP BY ${[...keys, '_pos'].join(', ')} HAVING count(*) > 1)`,
        );
        if (Number(dups?.n) > 0) problems.push(`${text(dups?.n)} (key, position) pairs occur more than once`);
      }
    } finally {
      conn.closeSync();
      db.closeSync();
      if (input.scratchDir === undefined) await rm(scratch, { recursive: true, force: true });
    }
  }
  if (problems.length) throw new WindowValidationError(lake.layout.id, staged.sequence, problems);
  return { controlTotals: { rows: staged.extracted.rows, rowsByOp: byOp, sums } };
}

/** A committed manifest as stored. */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly table: string;
  readonly sequence: number;
  /** `resume` (optional, since manifests of older versions lack it): see {@link WindowRef.resume}. */
  readonly window: { readonly from: string; readonly to: string; readonly resume?: string };
  /** Lowest/highest event position in the files (null for an empty window). */
  readonly positions: { readonly min: string | null; readonly max: string | null };
  readonly attemptId: string;
  readonly schemaVersion: number;
  readonly previousManifest: string | null;
  readonly files: readonly StagedFile[];
  readonly controlTotals: ControlTotals;
  readonly committedAt: string;
  readonly committedBy: string;
}

export interface CommitManifestInput {
  readonly lake: LakeTable;
  readonly window: WindowRef;
  readonly staged: StageWindowOutput;
  readonly validated: ValidateWindowOutput;
  /** Who commits (worker identity / workflow id), for the audit ledger. Never a person's data. */
  readonly committedBy: string;
  readonly now?: () => Date;
}

export interface CommitManifestOutput {
  /** `committed`: this call created the manifest; `already-committed`: the same window was committed before. */
  readonly status: 'committed' | 'already-committed';
  readonly sequence: number;
  readonly manifestPath: string;
  /** The attempt whose files the committed manifest references. */
  readonly attemptId: string;
  readonly rows: number;
  readonly files: number;
  /** Where the next window starts, as the committed manifest records it (a no-op retry: the earlier attempt's). */
  readonly resumePosition: string;
}

function parseManifest(layout: TableLayout, path: string, body: Buffer): Manifest {
  const m = JSON.parse(body.toString('utf8')) as Manifest;
  if (m.format !== MANIFEST_FORMAT || m.table !== layout.id)
    throw new LakeIntegrityError(`${path} is not a ${MANIFEST_FORMAT} manifest of ${layout.id}`, layout.id, path);
  return m;
}

/** Reads a committed manifest, or undefined. */
export async function readManifest(lake: LakeTable, sequence: number): Promise<Manifest | undefined> {
  const path = lake.layout.manifestPath(sequence);
  const got = await lake.store.get(path);
  return got ? parseManifest(lake.layout, path, got.body) : undefined;
}

async function writeAudit(
  lake: LakeTable,
  manifest: Manifest,
  manifestPath: string,
  manifestMd5: string,
): Promise<void> {
  const entry = {
    format: AUDIT_FORMAT,
    table: manifest.table,
    sequence: manifest.sequence,
    action: 'commit-window',
    manifest: manifestPath,
    manifestMd5,
    committedBy: manifest.committedBy,
    committedAt: manifest.committedAt,
    schemaVersion: manifest.schemaVersion,
    window: manifest.window,
    rows: manifest.controlTotals.rows,
    files: manifest.files.map((f) => ({ path: f.path, bytes: f.bytes, rows: f.rows, md5: f.md5 })),
  };
  try {
    await lake.store.putIfAbsent(lake.layout.auditPath(manifest.sequence), `${JSON.stringify(entry)}\n`, {
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof BlobAlreadyExistsError)) throw err;
  }
}

/**
 * Commit: creates the window's manifest with `If-None-Match: *`. Requires the previous window's manifest.
 * Idempotent: a retry of a committed window returns `already-committed` and changes nothing.
 */
export async function commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput> {
  const { lake, window, staged, validated } = input;
  const { layout } = lake;
  if (staged.sequence !== window.sequence)
    throw new LakeIntegrityError(`Staged sequence ${staged.sequence} is not window ${window.sequence}`, layout.id, '');
  const path = layout.manifestPath(window.sequence);
  const previous = window.sequence > 1 ? layout.manifestPath(window.sequence - 1) : null;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    table: layout.id,
    sequence: window.sequence,
    window: {
      from: window.from,
      to: window.to,
      ...(window.resume !== undefined && window.resume !== window.to ? { resume: window.resume } : {}),
    },
    positions: { min: staged.minPosition, max: staged.maxPosition },
    attemptId: staged.attemptId,
    schemaVersion: staged.schemaVersion,
    previousManifest: previous,
    files: staged.files,
    controlTotals: validated.controlTotals,
    committedAt: (input.now ?? (() => new Date()))().toISOString(),
    committedBy: input.committedBy,
  };
  const sameWindow = (m: Manifest) =>
    m.sequence === window.sequence && m.window.from === window.from && m.window.to === window.to;
  let committed: Manifest;
  let committedMd5: string;
  let status: CommitManifestOutput['status'] = 'already-committed';
  const existing = await lake.store.get(path);
  if (existing) {
    committed = parseManifest(layout, path, existing.body);
    committedMd5 = md5OfBytes(existing.body);
  } else {
    if (previous !== null && !(await lake.store.exists(previous)))
      throw new LakeIntegrityError(
        `Window ${window.sequence} cannot commit before window ${window.sequence - 1}`,
        layout.id,
        previous,
      );
    try {
      const body = `${JSON.stringify(manifest, null, 2)}\n`;
      committedMd5 = (await lake.store.putIfAbsent(path, body, { contentType: 'application/json' })).md5;
      committed = manifest;
      status = 'committed';
    } catch (err) {
      if (!(err instanceof BlobAlreadyExistsError)) throw err;
      const raced = await lake.store.get(path);
      if (!raced) throw err;
      committed = parseManifest(layout, path, raced.body);
      committedMd5 = md5OfBytes(raced.body);
    }
  }
  if (!sameWindow(committed))
    throw new LakeIntegrityError(
      `Sequence ${window.sequence} of ${layout.id} is already committed for window (${committed.window.from}, ${committed.window.to}], ` +
        `not (${window.from}, ${window.to}]: two planners disagree about window boundaries; stop the table and investigate`,
      layout.id,
      path,
    );
  // Idempotent: also completes the entry of an earlier attempt that crashed right after the manifest.
  await writeAudit(lake, committed, path, committedMd5);
  return summary(status, committed, path);
}

function summary(status: CommitManifestOutput['status'], m: Manifest, path: string): CommitManifestOutput {
  return {
    status,
    sequence: m.sequence,
    manifestPath: path,
    attemptId: m.attemptId,
    rows: m.controlTotals.rows,
    files: m.files.length,
    resumePosition: resumePositionOf(m),
  };
}

/** Where the window after `m` starts: the refined end its read recorded, else its planned `to` (older manifests). */
export function resumePositionOf(m: Manifest): string {
  return m.window.resume ?? m.window.to;
}

/** The watermark pointer as stored. */
export interface Watermark {
  readonly format: typeof WATERMARK_FORMAT;
  readonly table: string;
  /** Last committed window (0 = none). */
  readonly sequence: number;
  readonly manifest: string | null;
  /** Upper bound of the last committed window (where the next window starts), or null. */
  readonly position: string | null;
  readonly updatedAt: string;
}

/**
 * The committed windows: manifests 1..n without a gap (a gap cannot happen through {@link commitManifest},
 * which requires the previous manifest). Lists `_manifests/` — never data directories.
 */
export async function committedSequences(lake: LakeTable): Promise<number[]> {
  const seqs: number[] = [];
  for await (const item of lake.store.list(lake.layout.manifestsPrefix)) {
    const s = lake.layout.sequenceOfManifest(item.path);
    if (s !== undefined) seqs.push(s);
  }
  seqs.sort((a, b) => a - b);
  const chain: number[] = [];
  for (const s of seqs) {
    if (s !== chain.length + 1) break;
    chain.push(s);
  }
  return chain;
}

export interface AdvanceWatermarkInput {
  readonly lake: LakeTable;
  /** The window just committed; the watermark moves at least to it (or further, if later ones are committed). */
  readonly sequence: number;
  readonly now?: () => Date;
  /**
   * The sync position the watermark carries when it points at window `head`. Default: that manifest's `to`.
   * Callers whose manifest chain holds windows that do not move the position (backfill, sweep and
   * reconciliation chunks) pass the position the chain's newest position-carrying window gives.
   */
  readonly positionAt?: (head: number, manifest: Manifest) => Promise<string | null>;
}

export interface AdvanceWatermarkOutput {
  readonly sequence: number;
  readonly position: string | null;
  readonly manifest: string | null;
  /** `advanced`, `unchanged` (already there or beyond), or `rebuilt` (was missing). */
  readonly status: 'advanced' | 'unchanged' | 'rebuilt';
}

/** Reads the watermark (from the state store), or undefined. */
export async function readWatermark(lake: LakeTable): Promise<{ doc: Watermark; etag: string } | undefined> {
  const store = lake.stateStore ?? lake.store;
  const got = await store.get(lake.layout.watermarkPath);
  if (!got) return undefined;
  return { doc: JSON.parse(got.body.toString('utf8')) as Watermark, etag: got.etag };
}

/** Advance: moves the watermark to the highest committed window ≥ `sequence`, by ETag compare-and-swap. */
export async function advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput> {
  const { lake } = input;
  const { layout } = lake;
  const state = lake.stateStore ?? lake.store;
  const now = input.now ?? (() => new Date());
  if (!(await lake.store.exists(layout.manifestPath(input.sequence))))
    throw new LakeIntegrityError(
      `Window ${input.sequence} has no manifest: the watermark only moves to committed windows`,
      layout.id,
      layout.manifestPath(input.sequence),
    );
  for (let round = 0; round < 10; round++) {
    const current = await readWatermark(lake);
    // The truth: the highest window of the unbroken manifest chain.
    let head: number;
    if (!current) {
      const chain = await committedSequences(lake);
      head = chain.length;
    } else {
      head = Math.max(current.doc.sequence, input.sequence);
      while (await lake.store.exists(layout.manifestPath(head + 1))) head++;
    }
    if (current && current.doc.sequence >= head) return { ...pick(current.doc), status: 'unchanged' };
    const manifest = head > 0 ? await readManifest(lake, head) : undefined;
    const doc: Watermark = {
      format: WATERMARK_FORMAT,
      table: layout.id,
      sequence: head,
      manifest: manifest ? layout.manifestPath(head) : null,
      position: manifest ? await (input.positionAt?.(head, manifest) ?? resumePositionOf(manifest)) : null,
      updatedAt: now().toISOString(),
    };
    const body = `${JSON.stringify(doc, null, 2)}\n`;
    try {
      if (current)
        await state.replaceIfMatch(layout.watermarkPath, body, current.etag, { contentType: 'application/json' });
      else await state.putIfAbsent(layout.watermarkPath, body, { contentType: 'application/json' });
      return { ...pick(doc), status: current ? 'advanced' : 'rebuilt' };
    } catch (err) {
      if (!(err instanceof ConditionNotMetError) && !(err instanceof BlobAlreadyExistsError)) throw err;
      // Another advancer moved it: re-read and try again (it never moves backwards).
    }
  }
  throw new LakeIntegrityError('Watermark kept changing under compare-and-swap', layout.id, layout.watermarkPath);
}

function pick(w: Watermark): Omit<AdvanceWatermarkOutput, 'status'> {
  return { sequence: w.sequence, position: w.position, manifest: w.manifest };
}
