/**
 * Change Tracking as SQL Server 2019 documents it (brief §B): ALTER DATABASE … SET CHANGE_TRACKING, ALTER TABLE
 * … ENABLE/DISABLE CHANGE_TRACKING, CHANGE_TRACKING_CURRENT_VERSION(), CHANGE_TRACKING_MIN_VALID_VERSION(),
 * CHANGETABLE(CHANGES …) with net changes relative to the baseline, CHANGETABLE(VERSION …),
 * CHANGE_TRACKING_IS_COLUMN_IN_MASK, retention cleanup (run-now: `EXEC sim.run_change_tracking_cleanup`,
 * `sys.sp_flush_CT_internal_table_on_demand`), TRUNCATE resetting a table's tracking, and the
 * sys.change_tracking_databases / sys.change_tracking_tables views.
 *
 * Versions are assigned synchronously at commit (one per transaction that changed tracked tables), together
 * with the commit sequence, so a reader sees exactly the versions its read view (statement or SNAPSHOT) sees.
 */
import type { SqlType, SqlValue } from '../api.js';
import type { Database, DdlEvent, Table } from '../catalog.js';
import type { CommittedTransaction } from '../commit-log.js';
import type { SimEngine, ProcedureHandler } from '../index.js';
import type { FunctionDef } from '../functions.js';
import type { ColumnInfo, EvalCtx } from '../binder.js';
import type { RawTableFunction, TableRef } from '../ast.js';
import type { Runtime, VirtualTable } from '../query.js';
import type { SessionImpl } from '../session.js';
import type { SessionContext } from '../session-context.js';
import { visibleValues } from '../mvcc.js';
import { compareValues, convertValue, textOf } from '../values.js';
import { T } from '../types.js';
import { sqlError } from '../errors.js';
import { extError } from '../ext-errors.js';
import { hasPermission } from '../security/permissions.js';

interface Entry {
  version: bigint;
  seq: number;
  time: number;
  op: 'I' | 'U' | 'D';
  key: SqlValue[];
  /** Column ids of changed non-key columns (updates with TRACK_COLUMNS_UPDATED); null = not tracked. */
  columns: Set<number> | null;
}

interface TrackedTable {
  table: Table;
  trackColumnsUpdated: boolean;
  beginVersion: bigint;
  minValidVersion: bigint;
  cleanupVersion: bigint;
  byKey: Map<string, Entry[]>;
}

/** Change Tracking state of one database. */
export class CtDatabase {
  retentionMinutes = 2 * 24 * 60;
  retentionUnits: 'DAYS' | 'HOURS' | 'MINUTES' = 'DAYS';
  retentionValue = 2;
  autoCleanup = true;
  /** Committed versions, in order: version → commit sequence. */
  versions: { version: bigint; seq: number }[] = [];
  current = 0n;
  readonly tables = new Map<Table, TrackedTable>();
  private unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** The auto-cleanup task (AUTO_CLEANUP = ON): every `intervalMs` (SQL Server runs it every 30 minutes). */
  schedule(intervalMs: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.autoCleanup) return;
    this.timer = setInterval(() => this.cleanup(), intervalMs);
    this.timer.unref();
  }

  constructor(readonly db: Database) {
    this.unsubscribe.push(db.onCommit((t) => this.onCommit(t)));
    const ddl = (e: DdlEvent) => this.onDdl(e);
    db.ddlListeners.push(ddl);
    this.unsubscribe.push(() => db.ddlListeners.splice(db.ddlListeners.indexOf(ddl), 1));
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe) u();
  }

  /** The version visible at commit sequence `seq` (CHANGE_TRACKING_CURRENT_VERSION under that view). */
  versionAt(seq: number): bigint {
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const v = this.versions[i];
      if (v && v.seq <= seq) return v.version;
    }
    return 0n;
  }

  private onCommit(t: CommittedTransaction): void {
    const seq = Number(t.lsn);
    let version: bigint | undefined;
    for (const c of t.changes) {
      const table = t.table(c);
      const tt = table ? this.tables.get(table) : undefined;
      if (!tt || !table) continue;
      if (version === undefined) {
        version = ++this.current;
        this.versions.push({ version, seq });
      }
      const pk = table.primaryKey?.keyColumns.map((k) => k.column) ?? [];
      const keyOf = (row: SqlValue[]) => pk.map((col) => row[col.slot] ?? null);
      const time = t.commitTime.getTime();
      const add = (op: Entry['op'], key: SqlValue[], columns: Set<number> | null) => {
        const k = keyText(key);
        const list = tt.byKey.get(k) ?? [];
        list.push({ version, seq, time, op, key, columns } as Entry);
        tt.byKey.set(k, list);
      };
      if (c.op === 'insert' && c.after) add('I', keyOf(c.after), null);
      else if (c.op === 'delete' && c.before) add('D', keyOf(c.before), null);
      else if (c.before && c.after) {
        const before = keyOf(c.before);
        const after = keyOf(c.after);
        if (before.some((v, i) => compareValues(v, after[i] ?? null) !== 0)) {
          // A primary-key change is a delete of the old key and an insert of the new one (brief §B).
          add('D', before, null);
          add('I', after, null);
        } else {
          let cols: Set<number> | null = null;
          if (tt.trackColumnsUpdated) {
            cols = new Set();
            for (const col of table.columns) {
              if (pk.includes(col)) continue;
              const a = c.before[col.slot] ?? null;
              const b = c.after[col.slot] ?? null;
              const same =
                a === null || b === null
                  ? a === b
                  : Buffer.isBuffer(a) && Buffer.isBuffer(b)
                    ? a.equals(b)
                    : compareValues(a, b) === 0;
              if (!same) cols.add(col.columnId);
            }
          }
          add('U', before, cols);
        }
      }
    }
  }

  private onDdl(e: DdlEvent): void {
    const tt = this.tables.get(e.table);
    if (!tt) return;
    if (e.statement.kind === 'truncateTable') {
      // TRUNCATE is not tracked: the table's tracking restarts, so clients must reinitialise (brief §B).
      tt.byKey.clear();
      tt.minValidVersion = this.current;
      tt.cleanupVersion = this.current;
    }
  }

  /** Removes change information older than the retention; raises min_valid_version past what was removed. */
  cleanup(retentionMinutes = this.retentionMinutes): void {
    const cutoff = Date.now() - retentionMinutes * 60_000;
    for (const tt of this.tables.values()) {
      let removedMax = -1n;
      for (const [k, list] of tt.byKey) {
        const keep = list.filter((e) => e.time >= cutoff);
        for (const e of list) if (e.time < cutoff && e.version > removedMax) removedMax = e.version;
        if (keep.length) tt.byKey.set(k, keep);
        else tt.byKey.delete(k);
      }
      if (removedMax >= 0n) {
        tt.cleanupVersion = removedMax > tt.cleanupVersion ? removedMax : tt.cleanupVersion;
        if (removedMax > tt.minValidVersion) tt.minValidVersion = removedMax;
      }
    }
  }
}

function keyText(key: SqlValue[]): string {
  return JSON.stringify(
    key.map((v) =>
      Buffer.isBuffer(v) ? `b:${v.toString('hex')}` : typeof v === 'string' ? `s:${v.toLowerCase().trimEnd()}` : v,
    ),
    (_k, x: unknown) => (typeof x === 'bigint' ? `i:${x}` : x),
  );
}

/** The CT controller of an engine. */
export class CtController {
  readonly databases = new Map<Database, CtDatabase>();
  /** Interval of the auto-cleanup task (default 30 minutes). */
  cleanupIntervalMs = 30 * 60_000;
  constructor(readonly engine: SimEngine) {}
  stopAll(): void {
    for (const c of this.databases.values()) {
      c.autoCleanup = false;
      c.schedule(this.cleanupIntervalMs);
    }
  }
  of(db: Database): CtDatabase | undefined {
    return this.databases.get(db);
  }
  /** Runs the cleanup now (optionally with another retention, in minutes). */
  runCleanup(database: string, retentionMinutes?: number): void {
    const db = this.engine.admin.database(database);
    const c = db ? this.databases.get(db) : undefined;
    if (!c) throw new Error(`database ${database} does not have change tracking on`);
    c.cleanup(retentionMinutes);
  }
}

export function ctAdmin(engine: SimEngine): CtController {
  const c = engine.admin.extensions.get('changeTracking');
  if (!(c instanceof CtController)) throw new Error('Change Tracking extension not installed');
  return c;
}

// ---------------------------------------------------------------------------------------------
// Statements

/** Refuses Change Tracking on a readable secondary (22117). */
export function refuseOnSecondary(s: SessionContext): void {
  if (s.replica) throw extError(22117);
}

function alterDatabase(ctl: CtController): ProcedureHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  return async function* (_s, args) {
    const dbName = textOf(args[0]?.value ?? '');
    const text = textOf(args[1]?.value ?? '')
      .replace(/\s+/g, ' ')
      .toUpperCase();
    const db = ctl.engine.admin.database(dbName);
    if (!db) throw sqlError(5011, dbName);
    const m = /^SET CHANGE_TRACKING\s*=\s*(ON|OFF)\s*(?:\((.*)\))?\s*$/.exec(text);
    const opts = /^SET CHANGE_TRACKING\s*\((.*)\)\s*$/.exec(text);
    if (!m && !opts) throw sqlError(40517, `ALTER DATABASE ${text.slice(0, 40)}`);
    let c = ctl.of(db);
    if (m?.[1] === 'OFF') {
      if (c && c.tables.size) throw extError(22115, db.name);
      c?.dispose();
      ctl.databases.delete(db);
      yield* [];
      return;
    }
    if (m?.[1] === 'ON') {
      if (c) throw extError(5088, db.name);
      c = new CtDatabase(db);
      ctl.databases.set(db, c);
    }
    if (!c) throw extError(22105, db.name);
    const body = m?.[2] ?? opts?.[1] ?? '';
    const ret = /CHANGE_RETENTION\s*=\s*(\d+)\s*(DAYS|HOURS|MINUTES)?/.exec(body);
    const auto = /AUTO_CLEANUP\s*=\s*(ON|OFF)/.exec(body);
    if (auto) {
      const on = auto[1] === 'ON';
      c.autoCleanup = on;
    }
    if (ret) {
      const n = Number(ret[1]);
      const unit = (ret[2] ?? 'DAYS') as CtDatabase['retentionUnits'];
      c.retentionValue = n;
      c.retentionUnits = unit;
      c.retentionMinutes = n * (unit === 'DAYS' ? 1440 : unit === 'HOURS' ? 60 : 1);
    }
    c.schedule(ctl.cleanupIntervalMs);
  };
}

function alterTableRaw(ctl: CtController): ProcedureHandler {
  // eslint-disable-next-line @typescript-eslint/require-await
  return async function* (s, args) {
    const name = textOf(args[0]?.value ?? '');
    const words = textOf(args[1]?.value ?? '')
      .replace(/\s+/g, ' ')
      .toUpperCase();
    const table = s.findTable(name.split('.'));
    if (!table) throw sqlError(4902, name);
    const enable = /^ENABLE CHANGE_TRACKING( WITH \( TRACK_COLUMNS_UPDATED = (ON|OFF) \))?$/.exec(words);
    const disable = /^DISABLE CHANGE_TRACKING$/.exec(words);
    if (!enable && !disable) throw sqlError(40517, `ALTER TABLE ${words.slice(0, 40)}`);
    const c = ctl.of(table.database);
    if (enable) {
      if (!c) throw extError(22100, table.name, table.database.name);
      if (c.tables.has(table)) throw extError(4996, table.name);
      const pk = table.primaryKey;
      if (!pk) throw extError(4997, table.name);
      if (pk.keyColumns.some((k) => k.column.isRowversion)) throw extError(4999, table.name);
      c.tables.set(table, {
        table,
        trackColumnsUpdated: enable[2] === 'ON',
        beginVersion: c.current,
        minValidVersion: c.current,
        cleanupVersion: 0n,
        byKey: new Map(),
      });
      table.extensions.set('ct.tracked', true);
    } else {
      if (!c || !c.tables.has(table)) throw extError(4998, table.name);
      c.tables.delete(table);
      table.extensions.delete('ct.tracked');
    }
    yield* [];
  };
}

// ---------------------------------------------------------------------------------------------
// Functions

function viewSeq(ctx: EvalCtx): number {
  const rt = ctx.runtime as Runtime | undefined;
  return rt?.view.seq ?? Number.MAX_SAFE_INTEGER;
}

function scalar(arity: [number, number], type: SqlType, f: (vals: SqlValue[], ctx: EvalCtx) => SqlValue): FunctionDef {
  return {
    arity,
    bind: (args) => ({
      type,
      nullable: true,
      constant: false,
      eval: (row, ctx) =>
        f(
          args.map((a) => a.eval(row, ctx)),
          ctx,
        ),
    }),
  };
}

function functions(ctl: CtController): Record<string, FunctionDef> {
  return {
    CHANGE_TRACKING_CURRENT_VERSION: scalar([0, 0], T.bigint, (_v, ctx) => {
      refuseOnSecondary(ctx.session);
      const c = ctl.of(ctx.session.database);
      if (!c) return null;
      // Under SNAPSHOT this fixes the transaction's snapshot, so the version and later CHANGETABLE reads
      // agree (brief §B race 2); 3952 is left to the first table read.
      if (ctx.session.database.allowSnapshotIsolation || ctx.session.replica)
        (ctx.runtime as Runtime | undefined)?.onDataAccess(ctx.session.database);
      return c.versionAt(viewSeq(ctx));
    }),
    CHANGE_TRACKING_MIN_VALID_VERSION: scalar([1, 1], T.bigint, ([id], ctx) => {
      refuseOnSecondary(ctx.session);
      const c = ctl.of(ctx.session.database);
      if (!c || id === null || id === undefined) return null;
      const table = ctx.session.database.tableById(Number(id));
      const tt = table ? c.tables.get(table) : undefined;
      if (!tt || !table) return null;
      if (!hasPermission(ctx.session, 'VIEW CHANGE TRACKING', table)) return null;
      return tt.minValidVersion;
    }),
    // COLUMNPROPERTY(id, column, 'ColumnId'): how CT clients turn a name into the id the mask uses.
    COLUMNPROPERTY: scalar([3, 3], T.int, ([id, col, prop], ctx) => {
      if (id === null || id === undefined || typeof col !== 'string' || typeof prop !== 'string') return null;
      const table = ctx.session.database.tableById(Number(id));
      const c = table?.column(col);
      if (!c) return null;
      const p = prop.toLowerCase();
      if (p === 'columnid') return BigInt(c.columnId);
      if (p === 'allowsnull') return c.nullable ? 1n : 0n;
      if (p === 'isidentity') return c.identity ? 1n : 0n;
      return null;
    }),
    CHANGE_TRACKING_IS_COLUMN_IN_MASK: scalar([2, 2], T.bit, ([colId, mask]) => {
      if (colId === null || colId === undefined) return null;
      if (mask === null || mask === undefined) return true;
      if (!Buffer.isBuffer(mask)) return null;
      return decodeMask(mask).has(Number(colId));
    }),
  };
}

/** SYS_CHANGE_COLUMNS: the changed column ids as int32 LE (SQL Server's own format is undocumented). */
function encodeMask(cols: Set<number>): Buffer {
  const b = Buffer.alloc(4 * cols.size);
  [...cols].sort((a, c) => a - c).forEach((c, i) => b.writeInt32LE(c, i * 4));
  return b;
}

function decodeMask(b: Buffer): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i + 4 <= b.length; i += 4) out.add(b.readInt32LE(i));
  return out;
}

// ---------------------------------------------------------------------------------------------
// CHANGETABLE

function changeTable(
  ctl: CtController,
  parts: string[],
  session: SessionImpl,
  extra: unknown,
): VirtualTable | undefined {
  if (parts.length !== 1 || parts[0]?.toUpperCase() !== 'CHANGETABLE') return undefined;
  const ref = (extra as { ref?: TableRef & { kind: 'function'; raw?: RawTableFunction } }).ref;
  const raw = ref?.raw;
  if (!ref || !raw) return undefined;
  if (!ref.alias) throw extError(22104);
  refuseOnSecondary(session);
  const table = session.findTable(raw.table);
  if (!table) throw sqlError(208, raw.table.join('.'));
  const c = ctl.of(table.database);
  const tt = c?.tables.get(table);
  if (!c || !tt) throw extError(22105, table.name);
  const pk = table.primaryKey?.keyColumns.map((k) => k.column) ?? [];
  const pkCols: ColumnInfo[] = pk.map((col) => ({ name: col.name, type: col.type, nullable: false }));
  const checkPermission = (s: SessionContext) => {
    if (!hasPermission(s, 'VIEW CHANGE TRACKING', table))
      throw extError(229, 'VIEW CHANGE TRACKING', table.name, table.database.name, table.schema.name);
    if (
      !hasPermission(
        s,
        'SELECT',
        table,
        pk.map((p) => p.name),
      )
    )
      throw extError(229, 'SELECT', table.name, table.database.name, table.schema.name);
  };
  if (raw.keyword === 'VERSION') {
    return {
      name: 'CHANGETABLE',
      columns: [
        { name: 'SYS_CHANGE_VERSION', type: T.bigint, nullable: true },
        { name: 'SYS_CHANGE_CONTEXT', type: T.varbinary(128), nullable: true },
        ...pkCols,
      ],
      rows: function* (rt, args) {
        checkPermission(rt.ctx.session);
        rt.onDataAccess(table.database);
        const cols = raw.columns ?? [];
        const key = pk.map((p) => {
          const i = cols.findIndex((n) => n.toLowerCase() === p.name.toLowerCase());
          const v = args[i] ?? null;
          return v === null ? null : convertValue(v, typeOfArg(v), p.type);
        });
        const entries = (tt.byKey.get(keyText(key)) ?? []).filter((e) => e.seq <= rt.view.seq);
        const exists = [...table.records.equal(key)].some((r) => visibleValues(r, rt.view));
        if (!entries.length && !exists) return;
        const last = entries[entries.length - 1];
        yield [last ? last.version : null, null, ...key];
      },
    };
  }
  if (raw.keyword !== 'CHANGES') throw extError(22105, table.name);
  return {
    name: 'CHANGETABLE',
    columns: [
      { name: 'SYS_CHANGE_VERSION', type: T.bigint, nullable: true },
      { name: 'SYS_CHANGE_CREATION_VERSION', type: T.bigint, nullable: true },
      { name: 'SYS_CHANGE_OPERATION', type: { name: 'nchar', length: 1 }, nullable: true },
      { name: 'SYS_CHANGE_COLUMNS', type: T.varbinary(4100), nullable: true },
      { name: 'SYS_CHANGE_CONTEXT', type: T.varbinary(128), nullable: true },
      ...pkCols,
    ],
    rows: function* (rt, args) {
      checkPermission(rt.ctx.session);
      rt.onDataAccess(table.database);
      const baseV = args[0] ?? null;
      const baseline = baseV === null ? -1n : BigInt(convertValue(baseV, typeOfArg(baseV), T.bigint) as bigint);
      const out: { version: bigint; row: SqlValue[] }[] = [];
      for (const list of tt.byKey.values()) {
        const visible = list.filter((e) => e.seq <= rt.view.seq);
        const after = visible.filter((e) => e.version > baseline);
        const first = after[0];
        const last = after[after.length - 1];
        if (!first || !last) continue;
        const existedBefore = first.op !== 'I';
        const existsAfter = last.op !== 'D';
        const op = !existsAfter ? 'D' : existedBefore ? 'U' : 'I';
        let creation: bigint | null = null;
        for (const e of visible) if (e.op === 'I') creation = e.version;
        let columns: Buffer | null = null;
        if (op === 'U' && tt.trackColumnsUpdated) {
          const all = new Set<number>();
          let untracked = false;
          for (const e of after) {
            if (e.op !== 'U' || !e.columns) untracked = true;
            else for (const x of e.columns) all.add(x);
          }
          const nonPk = table.columns.filter((col) => !pk.includes(col)).length;
          if (!untracked && all.size < nonPk) columns = encodeMask(all);
        }
        out.push({ version: last.version, row: [last.version, creation, op, columns, null, ...last.key] });
      }
      out.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
      for (const o of out) yield o.row;
    },
  };
}

function typeOfArg(v: SqlValue): SqlType {
  if (typeof v === 'bigint') return T.bigint;
  if (typeof v === 'string') return T.nvarchar(4000);
  if (typeof v === 'number') return { name: 'float', precision: 53 };
  if (typeof v === 'boolean') return T.bit;
  if (Buffer.isBuffer(v)) return T.varbinary(-1);
  if (v && typeof v === 'object' && v.kind === 'decimal') return { name: 'decimal', precision: 38, scale: v.scale };
  return T.bigint;
}

// ---------------------------------------------------------------------------------------------
// Install

export function installChangeTracking(engine: SimEngine): CtController {
  const ctl = new CtController(engine);
  engine.admin.extensions.set('changeTracking', ctl);
  engine.admin.registerProcedure('__statement_alter_database', alterDatabase(ctl));
  engine.admin.registerProcedure('__statement_alter_table', alterTableRaw(ctl));
  const cleanup: ProcedureHandler = async function* (s, args) {
    const c = ctl.of(s.database);
    if (c) {
      const a = args.find((x) => x.name?.toLowerCase() === '@retention_minutes') ?? args[0];
      const r = a && a.value !== null && typeof a.value === 'bigint' ? Number(a.value) : undefined;
      c.cleanup(a?.name?.toLowerCase() === '@tabletoclean' ? undefined : r);
    }
    await Promise.resolve();
    yield* [];
    return 0;
  };
  engine.admin.registerProcedure('sim.run_change_tracking_cleanup', cleanup);
  engine.admin.registerProcedure('sp_flush_ct_internal_table_on_demand', cleanup);
  for (const [n, f] of Object.entries(functions(ctl))) engine.admin.registerFunction(n, f);
  engine.admin.registerTableFunction((parts, session, extra) => changeTable(ctl, parts, session, extra));
  engine.admin.registerView('sys.change_tracking_databases', {
    server: true,
    columns: [
      { name: 'database_id', type: T.int, nullable: false },
      { name: 'is_auto_cleanup_on', type: T.bit, nullable: true },
      { name: 'retention_period', type: T.int, nullable: true },
      { name: 'retention_period_units', type: T.tinyint, nullable: true },
      { name: 'retention_period_units_desc', type: T.nvarchar(60), nullable: true },
      { name: 'max_cleanup_version', type: T.bigint, nullable: true },
    ],
    rows: function* (_db, s) {
      for (const [db, c] of ctl.databases) {
        if (!s.engine.databases.has(db.name.toLowerCase())) continue;
        const units = c.retentionUnits === 'MINUTES' ? 1n : c.retentionUnits === 'HOURS' ? 2n : 3n;
        let max = 0n;
        for (const t of c.tables.values()) if (t.cleanupVersion > max) max = t.cleanupVersion;
        yield [BigInt(db.databaseId), c.autoCleanup, BigInt(c.retentionValue), units, c.retentionUnits, max];
      }
    },
  });
  engine.admin.registerView('sys.change_tracking_tables', {
    columns: [
      { name: 'object_id', type: T.int, nullable: false },
      { name: 'is_track_columns_updated_on', type: T.bit, nullable: false },
      { name: 'min_valid_version', type: T.bigint, nullable: true },
      { name: 'begin_version', type: T.bigint, nullable: true },
      { name: 'cleanup_version', type: T.bigint, nullable: true },
    ],
    rows: function* (db) {
      const c = ctl.of(db);
      if (!c) return;
      for (const t of c.tables.values())
        yield [BigInt(t.table.objectId), t.trackColumnsUpdated, t.minValidVersion, t.beginVersion, t.cleanupVersion];
    },
  });
  return ctl;
}
