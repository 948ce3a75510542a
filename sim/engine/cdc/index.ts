/**
 * CDC as SQL Server 2019 documents it (brief §A): the sys.sp_cdc_* procedures, the sys.fn_cdc_* scalar
 * functions, cdc.fn_cdc_get_all_changes_<ci> / fn_cdc_get_net_changes_<ci>, and the simulator's run-now hooks
 * (`EXEC sim.run_cdc_capture`, `EXEC sim.run_cdc_cleanup @retention_minutes = n`, and {@link cdcAdmin}).
 */
import { type ColumnMeta, type ExecEvent, type SqlType, type SqlValue } from '../api.js';
import type { Database } from '../catalog.js';
import type { SimEngine, ProcedureHandler } from '../index.js';
import type { FunctionDef } from '../functions.js';
import type { EvalCtx } from '../binder.js';
import type { SessionImpl } from '../session.js';
import type { VirtualTable, Runtime } from '../query.js';
import type { SessionContext } from '../session-context.js';
import { sqlError } from '../errors.js';
import { extError, extInfo } from '../ext-errors.js';
import { T } from '../types.js';
import { convertValue, textOf } from '../values.js';
import { visibleVersion } from '../mvcc.js';
import { hasPermission, isDbOwner, isRoleMember, securityOf, FIXED_DATABASE_ROLES } from '../security/permissions.js';
import {
  CdcDatabase,
  DEFAULT_CDC_JOB_OPTIONS,
  RESERVED_COLUMNS,
  changeTableType,
  datetimeOf,
  maskBitSet,
  startLsnAt,
  sourceExists,
  type CaptureInstance,
  type CdcJobOptions,
  type ScanSession,
} from './capture.js';
import type { ViewDef } from '../system-views.js';
import { afterCommitLsn, decrementLsn, incrementLsn, lsnFromBuffer, lsnText, lsnToBuffer } from './lsn.js';
import { get, insertNamed, deleteWhere, visibleRows, writerView } from './store.js';

export type { CdcJobOptions } from './capture.js';

/** The engine-wide CDC controller (one {@link CdcDatabase} per enabled database). */
export class CdcController {
  readonly databases = new Map<Database, CdcDatabase>();
  options: CdcJobOptions = { ...DEFAULT_CDC_JOB_OPTIONS };
  constructor(readonly engine: SimEngine) {}

  of(db: Database): CdcDatabase | undefined {
    return this.databases.get(db);
  }

  private named(database: string): CdcDatabase {
    const db = this.engine.admin.database(database);
    const c = db ? this.databases.get(db) : undefined;
    if (!c) throw new Error(`database ${database} is not enabled for CDC`);
    return c;
  }

  /** Runs one capture scan now in `database` (all enabled databases when omitted). */
  async runCapture(database?: string): Promise<void> {
    const targets = database ? [this.named(database)] : [...this.databases.values()];
    for (const c of targets) await c.scan();
  }

  /** Runs the cleanup job now, optionally with another retention (minutes). */
  async runCleanup(database: string, retentionMinutes?: number): Promise<void> {
    await this.named(database).cleanup(retentionMinutes);
  }

  /** Default job settings for databases enabled from now on (and applied to running ones at restart). */
  configure(opts: Partial<CdcJobOptions>): void {
    this.options = { ...this.options, ...opts };
    for (const c of this.databases.values()) {
      c.options = { ...c.options, ...opts };
      if (c.jobsStarted && this.options.autoStart) c.startJobs();
      if (!this.options.autoStart) c.stopJobs();
    }
  }

  stopAll(): void {
    for (const c of this.databases.values()) c.stopJobs();
  }
}

/** The CDC controller of an engine. */
export function cdcAdmin(engine: SimEngine): CdcController {
  const c = engine.admin.extensions.get('cdc');
  if (!(c instanceof CdcController)) throw new Error('CDC extension not installed');
  return c;
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Arg = { name?: string; type: SqlType; value: SqlValue; output: boolean };

/** Procedure arguments by name, or by position in `order`. `undefined` = not supplied. */
function argsOf(args: Arg[], order: string[]): (name: string) => Arg | undefined {
  const positional = args.filter((a) => !a.name);
  return (name) => {
    const byName = args.find((a) => a.name?.toLowerCase() === name.toLowerCase());
    if (byName) return byName;
    const i = order.indexOf(name);
    return i >= 0 ? positional[i] : undefined;
  };
}

const text = (a: Arg | undefined): string | null =>
  a === undefined || a.value === null ? null : textOf(convertValue(a.value, a.type, T.nvarchar(-1)));
const bit = (a: Arg | undefined): boolean | null =>
  a === undefined || a.value === null ? null : convertValue(a.value, a.type, T.bit) === true;
const int = (a: Arg | undefined): number | null =>
  a === undefined || a.value === null ? null : Number(convertValue(a.value, a.type, T.bigint));

function unquote(name: string): string {
  const t = name.trim();
  if ((t.startsWith('[') && t.endsWith(']')) || (t.startsWith('"') && t.endsWith('"'))) return t.slice(1, -1);
  return t;
}

function resultSet(columns: ColumnMeta[], rows: SqlValue[][]): ExecEvent[] {
  return [
    { kind: 'resultSet', columns, rows },
    { kind: 'done', rowCount: BigInt(rows.length) },
  ];
}

/** Reading an instance's changes: db_owner, or the gating role plus SELECT on every captured column. */
export function canReadInstance(s: SessionContext, inst: CaptureInstance): boolean {
  if (isDbOwner(s, inst.source.database)) return true;
  if (inst.roleName && !isRoleMember(s, inst.roleName, inst.source.database)) return false;
  return hasPermission(
    s,
    'SELECT',
    inst.source,
    inst.columns.map((c) => c.name),
  );
}

// ---------------------------------------------------------------------------------------------
// Procedures

const METADATA_DDL = `
CREATE TABLE cdc.change_tables (object_id int NOT NULL, version int NULL, source_object_id int NULL,
  capture_instance sysname NOT NULL, start_lsn binary(10) NULL, end_lsn binary(10) NULL,
  supports_net_changes bit NULL, has_drop_pending bit NULL, role_name sysname NULL, index_name sysname NULL,
  filegroup_name sysname NULL, create_date datetime NULL, partition_switch bit NOT NULL);
CREATE TABLE cdc.captured_columns (object_id int NOT NULL, column_name sysname NOT NULL, column_id int NULL,
  column_type sysname NOT NULL, column_ordinal int NOT NULL, is_computed bit NULL);
CREATE TABLE cdc.index_columns (object_id int NOT NULL, column_name sysname NOT NULL, index_ordinal tinyint NOT NULL,
  column_id int NOT NULL);
CREATE TABLE cdc.lsn_time_mapping (start_lsn binary(10) NOT NULL, tran_begin_time datetime NULL,
  tran_end_time datetime NULL, tran_id varbinary(10) NULL, tran_begin_lsn binary(10) NULL,
  CONSTRAINT lsn_time_mapping_clustered_idx PRIMARY KEY CLUSTERED (start_lsn));
CREATE TABLE cdc.ddl_history (source_object_id int NULL, object_id int NOT NULL, required_column_update bit NULL,
  ddl_command nvarchar(max) NULL, ddl_lsn binary(10) NOT NULL, ddl_time datetime NULL);
`;

function requireEnabled(ctl: CdcController, db: Database): CdcDatabase {
  const c = ctl.of(db);
  if (!c) throw extError(22901, db.name);
  return c;
}

function procedures(ctl: CdcController): Record<string, ProcedureHandler> {
  const engine = ctl.engine;
  return {
    sp_cdc_enable_db: async function* (s) {
      const db = s.database;
      if (!s.login.sysadmin) throw extError(22902);
      if (ctl.of(db)) {
        yield { kind: 'message', error: extInfo(22905, db.name) };
        return 0;
      }
      if (['master', 'tempdb', 'model', 'msdb'].includes(db.name.toLowerCase())) throw extError(22989, db.name);
      if (db.schema('cdc') || db.users.has('cdc')) throw extError(22906, db.name);
      db.addSchema('cdc');
      db.users.set('cdc', { name: 'cdc', principalId: 5, roles: new Set(['db_owner']), defaultSchema: 'cdc' });
      await engine.admin.execute(METADATA_DDL, { database: db.name });
      db.extensions.set('cdc.enabled', true);
      const c = new CdcDatabase(engine, db, { ...ctl.options });
      c.dropInstance = (inst) => disableInstance(ctl, c, inst);
      ctl.databases.set(db, c);
      return 0;
    },

    sp_cdc_disable_db: async function* (s) {
      const db = s.database;
      if (!s.login.sysadmin) throw extError(22902);
      const c = ctl.of(db);
      if (!c) return 0;
      for (const inst of [...c.instances]) await disableInstance(ctl, c, inst);
      c.dispose();
      ctl.databases.delete(db);
      const names = [...(db.schema('cdc')?.tables.values() ?? [])].map((t) => `cdc.[${t.name}]`);
      if (names.length) await engine.admin.execute(`DROP TABLE ${names.join(', ')}`, { database: db.name });
      db.schemas.delete('cdc');
      db.users.delete('cdc');
      db.extensions.delete('cdc.enabled');
      yield* [];
      return 0;
    },

    sp_cdc_enable_table: async function* (s, args) {
      const db = s.database;
      if (!isDbOwner(s, db)) throw extError(22904);
      const c = requireEnabled(ctl, db);
      const a = argsOf(args, [
        '@source_schema',
        '@source_name',
        '@role_name',
        '@capture_instance',
        '@supports_net_changes',
        '@index_name',
        '@captured_column_list',
        '@filegroup_name',
        '@allow_partition_switch',
      ]);
      const schemaName = text(a('@source_schema'));
      const tableName = text(a('@source_name'));
      if (schemaName === null) throw sqlError(201, 'sp_cdc_enable_table', '@source_schema');
      if (tableName === null) throw sqlError(201, 'sp_cdc_enable_table', '@source_name');
      if (a('@role_name') === undefined) throw sqlError(201, 'sp_cdc_enable_table', '@role_name');
      const source = db.schema(schemaName)?.tables.get(tableName.toLowerCase());
      if (!source) throw extError(22931, `${schemaName}.${tableName}`);
      if (source.schema.name.toLowerCase() === 'cdc') throw extError(22974, `${schemaName}.${tableName}`);
      const roleName = text(a('@role_name'));
      if (roleName !== null && roleName.trim() === '') throw extError(22907);
      const ci = (text(a('@capture_instance')) ?? `${source.schema.name}_${source.name}`).trimEnd();
      if (ci.length > 100) throw extError(22927, ci);
      if (c.instance(ci)) throw extError(22926, ci);
      if (c.instances.filter((i) => i.source === source).length >= 2)
        throw extError(22962, `${source.schema.name}.${source.name}`);
      const indexName = text(a('@index_name'));
      let index = source.primaryKey;
      if (indexName !== null) {
        const ix = source.indexes.find((i) => i.name.toLowerCase() === indexName.toLowerCase());
        if (!ix) throw extError(22928, indexName, `${source.schema.name}.${source.name}`);
        if (!ix.unique) throw extError(22929, indexName);
        index = ix;
      }
      const net = bit(a('@supports_net_changes')) ?? index !== undefined;
      if (net && !index) throw extError(22939);
      const list = text(a('@captured_column_list'));
      let cols = source.columns.slice();
      if (list !== null) {
        const names = list
          .split(',')
          .map(unquote)
          .filter((n) => n !== '');
        cols = names.map((n) => {
          const col = source.column(n);
          if (!col) throw extError(22945, n, `${source.schema.name}.${source.name}`);
          return col;
        });
      } else {
        const reserved = cols.find((col) => RESERVED_COLUMNS.includes(col.name.toLowerCase()));
        if (reserved) throw extError(22975, `${source.schema.name}.${source.name}`, reserved.name);
      }
      const indexColumns = index ? index.keyColumns.map((k) => k.column) : [];
      for (const k of indexColumns) if (!cols.includes(k)) throw extError(22943, ci, k.name);
      if (roleName !== null) {
        const sec = securityOf(db);
        const r = roleName.toLowerCase();
        if (!FIXED_DATABASE_ROLES.includes(r) && !sec.roles.has(r) && !db.users.has(r))
          sec.roles.set(r, { name: roleName, principalId: 16_384 + sec.roles.size });
      }
      const startSeq = engine.admin.lastCommitSeq;
      const ct = await c.createChangeTable(
        ci,
        cols.map((col) => ({ name: col.name, type: col.type })),
      );
      const inst: CaptureInstance = {
        name: ci,
        source,
        changeTable: ct,
        roleName,
        indexName: index ? index.name : null,
        indexColumns,
        supportsNetChanges: net,
        columns: cols.map((col, i) => ({
          name: col.name,
          source: col,
          columnId: col.columnId,
          ordinal: i + 1,
          typeName: changeTableType(col.type).name,
        })),
        startLsn: afterCommitLsn(startSeq),
        startHistory: [],
        startSeq,
        createDate: new Date(),
      };
      await engine.admin.writeTransaction(db.name, async (wc) => {
        const txn = wc.txn;
        void txn.done.then(() => inst.startHistory.push({ seq: txn.commitSeq, lsn: inst.startLsn }));
        await insertNamed(
          c.table('change_tables'),
          {
            object_id: BigInt(ct.objectId),
            version: 0n,
            source_object_id: BigInt(source.objectId),
            capture_instance: ci,
            start_lsn: lsnToBuffer(inst.startLsn),
            end_lsn: null,
            supports_net_changes: net,
            has_drop_pending: null,
            role_name: roleName,
            index_name: inst.indexName,
            filegroup_name: text(a('@filegroup_name')),
            create_date: datetimeOf(inst.createDate).value,
            partition_switch: bit(a('@allow_partition_switch')) ?? true,
          },
          wc,
        );
        for (const cc of inst.columns)
          await insertNamed(
            c.table('captured_columns'),
            {
              object_id: BigInt(ct.objectId),
              column_name: cc.name,
              column_id: BigInt(cc.columnId),
              column_type: cc.typeName,
              column_ordinal: BigInt(cc.ordinal),
              is_computed: false,
            },
            wc,
          );
        let k = 0;
        for (const ic of indexColumns)
          await insertNamed(
            c.table('index_columns'),
            {
              object_id: BigInt(ct.objectId),
              column_name: ic.name,
              index_ordinal: BigInt(++k),
              column_id: BigInt(ic.columnId),
            },
            wc,
          );
      });
      c.instances.push(inst);
      source.extensions.set('cdc.tracked', true);
      if (!c.jobsStarted) {
        c.jobsStarted = true;
        if (c.options.autoStart) c.startJobs();
      }
      yield* [];
      return 0;
    },

    sp_cdc_disable_table: async function* (s, args) {
      const db = s.database;
      if (!isDbOwner(s, db)) throw extError(22904);
      const c = requireEnabled(ctl, db);
      const a = argsOf(args, ['@source_schema', '@source_name', '@capture_instance']);
      const schemaName = text(a('@source_schema')) ?? '';
      const tableName = text(a('@source_name')) ?? '';
      const ci = text(a('@capture_instance'));
      if (ci === null) throw sqlError(201, 'sp_cdc_disable_table', '@capture_instance');
      const source = db.schema(schemaName)?.tables.get(tableName.toLowerCase());
      if (!source) throw extError(22931, `${schemaName}.${tableName}`);
      const victims =
        ci.toLowerCase() === 'all'
          ? c.instances.filter((i) => i.source === source)
          : c.instances.filter((i) => i.source === source && i.name.toLowerCase() === ci.trimEnd().toLowerCase());
      if (victims.length === 0 && ci.toLowerCase() !== 'all') throw extError(22958, ci, `${schemaName}.${tableName}`);
      for (const inst of victims) await disableInstance(ctl, c, inst);
      yield* [];
      return 0;
    },

    // sys.sp_cdc_help_change_data_capture [@source_schema, @source_name]: the instances the caller may read.
    sp_cdc_help_change_data_capture: async function* (s, args) {
      const c = requireEnabled(ctl, s.database);
      const a = argsOf(args, ['@source_schema', '@source_name']);
      const schema = text(a('@source_schema'))?.toLowerCase();
      const name = text(a('@source_name'))?.toLowerCase();
      const rows: SqlValue[][] = [];
      const list = (cols: string[]) => cols.map((n) => `[${n}]`).join(', ');
      for (const inst of c.instances) {
        if (schema && inst.source.schema.name.toLowerCase() !== schema) continue;
        if (name && inst.source.name.toLowerCase() !== name) continue;
        if (!canReadInstance(s, inst)) continue;
        const start = startLsnAt(inst, engine.admin.lastCommitSeq);
        rows.push([
          inst.source.schema.name,
          inst.source.name,
          inst.name,
          BigInt(inst.changeTable.objectId),
          BigInt(inst.source.objectId),
          start === undefined ? null : lsnToBuffer(start),
          null,
          inst.supportsNetChanges,
          null,
          inst.roleName,
          inst.indexName,
          null,
          datetimeOf(inst.createDate).value,
          inst.indexColumns.length ? list(inst.indexColumns.map((x) => x.name)) : null,
          list(inst.columns.map((x) => x.name)),
        ]);
      }
      await Promise.resolve();
      yield* resultSet(
        [
          { name: 'source_schema', type: T.sysname, nullable: false },
          { name: 'source_table', type: T.sysname, nullable: false },
          { name: 'capture_instance', type: T.sysname, nullable: false },
          { name: 'object_id', type: T.int, nullable: false },
          { name: 'source_object_id', type: T.int, nullable: false },
          { name: 'start_lsn', type: T.binary(10), nullable: true },
          { name: 'end_lsn', type: T.binary(10), nullable: true },
          { name: 'supports_net_changes', type: T.bit, nullable: true },
          { name: 'has_drop_pending', type: T.bit, nullable: true },
          { name: 'role_name', type: T.sysname, nullable: true },
          { name: 'index_name', type: T.sysname, nullable: true },
          { name: 'filegroup_name', type: T.sysname, nullable: true },
          { name: 'create_date', type: { name: 'datetime' }, nullable: true },
          { name: 'index_column_list', type: T.nvarchar(-1), nullable: true },
          { name: 'captured_column_list', type: T.nvarchar(-1), nullable: true },
        ],
        rows,
      );
      return 0;
    },

    // sys.sp_cdc_help_jobs: the capture and cleanup jobs of the current database.
    sp_cdc_help_jobs: async function* (s) {
      requireEnabled(ctl, s.database);
      await Promise.resolve();
      const cols = CDC_JOB_COLUMNS;
      const pick = (n: string) => cols.find((c) => c.name === n) as ColumnMeta;
      yield* resultSet(
        [
          pick('job_id'),
          pick('job_type'),
          { name: 'job_name', type: T.sysname, nullable: true },
          ...['maxtrans', 'maxscans', 'continuous', 'pollinginterval', 'retention', 'threshold'].map(pick),
        ],
        cdcJobRows(ctl, s.database).map((r) => [
          r[2] ?? null,
          r[1] ?? null,
          `cdc.${s.database.name}_${textOf(r[1] ?? null)}`,
          ...r.slice(3),
        ]),
      );
      return 0;
    },

    sp_cdc_get_ddl_history: async function* (s, args) {
      const c = requireEnabled(ctl, s.database);
      const ci = text(argsOf(args, ['@capture_instance'])('@capture_instance')) ?? '';
      const inst = c.instance(ci);
      if (!inst) throw extError(22960, ci);
      const h = c.table('ddl_history');
      const view = { seq: engine.admin.lastCommitSeq, txn: undefined, dirty: false, readPast: false };
      const rows: SqlValue[][] = [];
      for (const { values } of visibleRows(h, view))
        if (get(h, values, 'object_id') === BigInt(inst.changeTable.objectId))
          rows.push([
            inst.source.schema.name,
            inst.source.name,
            inst.name,
            get(h, values, 'required_column_update'),
            get(h, values, 'ddl_command'),
            get(h, values, 'ddl_lsn'),
            get(h, values, 'ddl_time'),
          ]);
      await Promise.resolve();
      yield* resultSet(
        [
          { name: 'source_schema', type: T.sysname, nullable: false },
          { name: 'source_table', type: T.sysname, nullable: false },
          { name: 'capture_instance', type: T.sysname, nullable: false },
          { name: 'required_column_update', type: T.bit, nullable: true },
          { name: 'ddl_command', type: T.nvarchar(-1), nullable: true },
          { name: 'ddl_lsn', type: T.binary(10), nullable: false },
          { name: 'ddl_time', type: { name: 'datetime' }, nullable: true },
        ],
        rows,
      );
      return 0;
    },

    // sys.sp_cdc_scan: one capture cycle now (@continuous = 0), as SQL Server runs it outside the Agent job.
    sp_cdc_scan: async function* (s, args) {
      if (!isDbOwner(s)) throw extError(22904);
      const c = requireEnabled(ctl, s.database);
      const a = argsOf(args, ['@maxtrans', '@maxscans', '@continuous', '@pollinginterval']);
      await c.scan({ maxtrans: int(a('@maxtrans')) ?? undefined, maxscans: int(a('@maxscans')) ?? undefined });
      yield* [];
      return 0;
    },

    'sim.run_cdc_capture': async function* (s) {
      const c = requireEnabled(ctl, s.database);
      await c.scan();
      yield* [];
      return 0;
    },

    'sim.run_cdc_cleanup': async function* (s, args) {
      const c = requireEnabled(ctl, s.database);
      const r = int(argsOf(args, ['@retention_minutes'])('@retention_minutes'));
      await c.cleanup(r ?? undefined);
      yield* [];
      return 0;
    },

    sp_cdc_cleanup_change_table: async function* (s, args) {
      if (!isDbOwner(s)) throw extError(22904);
      const c = requireEnabled(ctl, s.database);
      const a = argsOf(args, ['@capture_instance', '@low_water_mark', '@threshold']);
      const ci = text(a('@capture_instance')) ?? '';
      const inst = c.instance(ci);
      if (!inst) throw extError(22960, ci);
      const lw = a('@low_water_mark');
      const lsn = lw && Buffer.isBuffer(lw.value) ? lsnFromBuffer(lw.value) : c.maxLsn;
      if (lsn !== undefined) await c.cleanupInstance(inst, lsn);
      yield* [];
      return 0;
    },

    // eslint-disable-next-line @typescript-eslint/require-await
    sp_cdc_change_job: async function* (s, args) {
      if (!isDbOwner(s)) throw extError(22904);
      const c = requireEnabled(ctl, s.database);
      const a = argsOf(args, ['@job_type', '@maxtrans', '@maxscans', '@continuous', '@pollinginterval', '@retention']);
      const type = (text(a('@job_type')) ?? 'capture').toLowerCase();
      if (type === 'capture') {
        const mt = int(a('@maxtrans'));
        const ms = int(a('@maxscans'));
        const pi = int(a('@pollinginterval'));
        if (mt !== null) c.pendingOptions.maxtrans = mt;
        if (ms !== null) c.pendingOptions.maxscans = ms;
        if (pi !== null) c.pendingOptions.pollingIntervalMs = Math.max(pi, 0) * 1000 || 1;
      } else {
        const r = int(a('@retention'));
        if (r !== null) c.pendingOptions.retentionMinutes = r;
      }
      yield* [];
      return 0;
    },

    // eslint-disable-next-line @typescript-eslint/require-await
    sp_cdc_start_job: async function* (s) {
      if (!isDbOwner(s)) throw extError(22904);
      requireEnabled(ctl, s.database).startJobs();
      yield* [];
      return 0;
    },

    // eslint-disable-next-line @typescript-eslint/require-await
    sp_cdc_stop_job: async function* (s) {
      if (!isDbOwner(s)) throw extError(22904);
      requireEnabled(ctl, s.database).stopJobs();
      yield* [];
      return 0;
    },
  };
}

async function disableInstance(ctl: CdcController, c: CdcDatabase, inst: CaptureInstance): Promise<void> {
  const engine = ctl.engine;
  const oid = BigInt(inst.changeTable.objectId);
  await engine.admin.writeTransaction(c.db.name, async (wc) => {
    const view = writerView(wc, engine.admin.lastCommitSeq);
    for (const name of ['change_tables', 'captured_columns', 'index_columns']) {
      const t = c.table(name);
      await deleteWhere(t, view, wc, (v) => get(t, v, 'object_id') === oid);
    }
  });
  c.instances.splice(c.instances.indexOf(inst), 1);
  await engine.admin.execute(`DROP TABLE cdc.[${inst.changeTable.name}]`, { database: c.db.name });
  if (!c.instances.some((i) => i.source === inst.source)) inst.source.extensions.delete('cdc.tracked');
}

// ---------------------------------------------------------------------------------------------
// Scalar functions

/** The commit sequence the evaluating statement reads at (its read view). */
function viewSeq(ctx: EvalCtx): number {
  const rt = ctx.runtime as Runtime | undefined;
  // The LSN functions read cdc tables: that is a data access (fixes a SNAPSHOT; 3952 when not allowed).
  rt?.onDataAccess(ctx.session.database);
  return rt?.view.seq ?? Number.MAX_SAFE_INTEGER;
}

function cdcOfSession(ctl: CdcController, ctx: EvalCtx): CdcDatabase | undefined {
  return ctl.of(ctx.session.database);
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

const ZERO_LSN = Buffer.alloc(10);

/**
 * SQL Server answers `sys.fn_cdc_map_lsn_to_time` with a seek on `cdc.lsn_time_mapping`'s clustered index: each
 * call counts as one row read by a seek in the statement's accounting (`sim.statement_stats`), so a test can tell a
 * reader that calls it per change row from one that calls it per transaction.
 */
function countMappingSeek(ctx: EvalCtx): void {
  const stats = (ctx.runtime as Runtime | undefined)?.stats;
  if (!stats) return;
  let acct = stats.accesses.find((a) => a.table === 'lsn_time_mapping' && a.schema === 'cdc');
  if (!acct) {
    acct = {
      database: ctx.session.database.name,
      schema: 'cdc',
      table: 'lsn_time_mapping',
      index: 'lsn_time_mapping_clustered_idx',
      kind: 'seek',
      rowsRead: 0,
    };
    stats.accesses.push(acct);
  }
  acct.rowsRead++;
}
const asLsn = (v: SqlValue): bigint | null => (Buffer.isBuffer(v) ? lsnFromBuffer(v) : null);

const TIME_OPS = [
  'largest less than',
  'largest less than or equal',
  'smallest greater than',
  'smallest greater than or equal',
];

function functions(ctl: CdcController): Record<string, FunctionDef> {
  return {
    'SYS.FN_CDC_GET_MIN_LSN': scalar([1, 1], T.binary(10), ([ci], ctx) => {
      const c = cdcOfSession(ctl, ctx);
      const inst = c && typeof ci === 'string' ? c.instance(ci) : undefined;
      if (!inst || !canReadInstance(ctx.session, inst)) return ZERO_LSN;
      const min = startLsnAt(inst, viewSeq(ctx));
      return min === undefined ? ZERO_LSN : lsnToBuffer(min);
    }),
    'SYS.FN_CDC_GET_MAX_LSN': scalar([0, 0], T.binary(10), (_v, ctx) => {
      const max = cdcOfSession(ctl, ctx)?.maxLsnAt(viewSeq(ctx));
      return max === undefined ? null : lsnToBuffer(max);
    }),
    'SYS.FN_CDC_INCREMENT_LSN': scalar([1, 1], T.binary(10), ([v]) => {
      const n = asLsn(v ?? null);
      return n === null ? null : lsnToBuffer(incrementLsn(n));
    }),
    'SYS.FN_CDC_DECREMENT_LSN': scalar([1, 1], T.binary(10), ([v]) => {
      const n = asLsn(v ?? null);
      return n === null ? null : lsnToBuffer(decrementLsn(n));
    }),
    'SYS.FN_CDC_MAP_LSN_TO_TIME': scalar([1, 1], { name: 'datetime' }, ([v], ctx) => {
      const n = asLsn(v ?? null);
      const c = cdcOfSession(ctl, ctx);
      if (n === null || !c) return null;
      countMappingSeek(ctx);
      // The entry at or before the LSN; the mapping is in LSN order, so a binary search (a connector calls this
      // once per change row, as Debezium does).
      let lo = 0;
      let hi = c.mapping.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((c.mapping[mid]?.lsn ?? 0n) <= n) lo = mid + 1;
        else hi = mid;
      }
      return lo > 0 ? (c.mapping[lo - 1]?.end ?? null) : null;
    }),
    'SYS.FN_CDC_MAP_TIME_TO_LSN': scalar([2, 2], T.binary(10), ([op, time], ctx) => {
      const c = cdcOfSession(ctl, ctx);
      if (!c || op === null || time === null || op === undefined || time === undefined) return null;
      const o = textOf(op).trim().toLowerCase();
      if (!TIME_OPS.includes(o)) return null;
      const t = convertValue(time, typeOfValue(time), { name: 'datetime' }) as { days: number; ticks: bigint };
      const ticks = BigInt(t.days) * 864_000_000_000n + t.ticks;
      const ok = (e: bigint): boolean =>
        o === 'largest less than'
          ? e < ticks
          : o === 'largest less than or equal'
            ? e <= ticks
            : o === 'smallest greater than'
              ? e > ticks
              : e >= ticks;
      const hits = c.mapping.filter((m) => ok(m.endTicks));
      const pick = o.startsWith('largest') ? hits[hits.length - 1] : hits[0];
      return pick ? lsnToBuffer(pick.lsn) : null;
    }),
    'SYS.FN_CDC_IS_BIT_SET': scalar([2, 2], T.bit, ([pos, mask]) => {
      if (pos === null || pos === undefined || !Buffer.isBuffer(mask)) return null;
      return maskBitSet(mask, Number(pos));
    }),
    'SYS.FN_CDC_GET_COLUMN_ORDINAL': scalar([2, 2], T.int, ([ci, col], ctx) => {
      const inst = typeof ci === 'string' ? cdcOfSession(ctl, ctx)?.instance(ci) : undefined;
      const cc = inst?.columns.find((x) => typeof col === 'string' && x.name.toLowerCase() === col.toLowerCase());
      return cc ? BigInt(cc.ordinal) : -1n;
    }),
    'SYS.FN_CDC_HAS_COLUMN_CHANGED': scalar([3, 3], T.bit, ([ci, col, mask], ctx) => {
      const inst = typeof ci === 'string' ? cdcOfSession(ctl, ctx)?.instance(ci) : undefined;
      const cc = inst?.columns.find((x) => typeof col === 'string' && x.name.toLowerCase() === col.toLowerCase());
      if (!cc || !Buffer.isBuffer(mask)) return null;
      return maskBitSet(mask, cc.ordinal);
    }),
  };
}

function typeOfValue(v: SqlValue): SqlType {
  if (typeof v === 'string') return T.nvarchar(4000);
  if (v !== null && typeof v === 'object' && 'kind' in v) {
    if (v.kind === 'datetime') return { name: 'datetime2', scale: 7 };
    if (v.kind === 'datetimeoffset') return { name: 'datetimeoffset', scale: 7 };
    if (v.kind === 'date') return { name: 'date' };
  }
  return { name: 'datetime' };
}

// ---------------------------------------------------------------------------------------------
// Table-valued functions

const ALL_PREFIX = 'fn_cdc_get_all_changes_';
const NET_PREFIX = 'fn_cdc_get_net_changes_';

function rangeError(net: boolean): Error {
  // SQL Server's text names no instance: "…function cdc.fn_cdc_get_all_changes_ ... ." (brief §A.5).
  return extError(313, net ? 'cdc.fn_cdc_get_net_changes_ ... ' : 'cdc.fn_cdc_get_all_changes_ ... ');
}

function changeFunction(ctl: CdcController, parts: string[], session: SessionImpl): VirtualTable | undefined {
  if (parts.length < 2) return undefined;
  const schema = (parts[parts.length - 2] ?? '').toLowerCase();
  const name = parts[parts.length - 1] ?? '';
  const lower = name.toLowerCase();
  if (schema !== 'cdc') return undefined;
  const net = lower.startsWith(NET_PREFIX);
  if (!net && !lower.startsWith(ALL_PREFIX)) return undefined;
  const dbName = parts.length >= 3 ? parts[parts.length - 3] : undefined;
  const db = dbName ? ctl.engine.admin.database(dbName) : session.database;
  const c = db ? ctl.of(db) : undefined;
  const inst = c?.instance(name.slice(net ? NET_PREFIX.length : ALL_PREFIX.length));
  if (!c || !inst || (net && !inst.supportsNetChanges) || !sourceExists(inst)) return undefined;
  const captured = inst.columns.map((cc) => {
    const col = inst.changeTable.column(cc.name);
    return { name: cc.name, type: col?.type ?? cc.source.type, nullable: true };
  });
  const columns = net
    ? [
        { name: '__$start_lsn', type: T.binary(10), nullable: true },
        { name: '__$operation', type: T.int, nullable: true },
        { name: '__$update_mask', type: T.varbinary(128), nullable: true },
        ...captured,
      ]
    : [
        { name: '__$start_lsn', type: T.binary(10), nullable: false },
        { name: '__$seqval', type: T.binary(10), nullable: false },
        { name: '__$operation', type: T.int, nullable: false },
        { name: '__$update_mask', type: T.varbinary(128), nullable: true },
        ...captured,
      ];
  return {
    name,
    columns,
    // All changes come in the change table's clustered order (ctRows), so a read ordered by it — Tidemark's —
    // streams: no sort of the whole range before the first row. Net changes come grouped, in no declared order.
    ...(net
      ? {}
      : {
          order: [
            { col: 0, desc: false },
            { col: 1, desc: false },
            { col: 2, desc: false },
          ],
        }),
    rows: (rt: Runtime, args: SqlValue[], used?: readonly boolean[]) => {
      if (!canReadInstance(rt.ctx.session, inst)) throw extError(229, 'SELECT', name, inst.source.database.name, 'cdc');
      if (args.length !== 3) throw rangeError(net);
      const [fromV, toV, filterV] = args;
      const from = asLsn(fromV ?? null);
      const to = asLsn(toV ?? null);
      const filter = typeof filterV === 'string' ? filterV.trim().toLowerCase() : null;
      const filters = net ? ['all', 'all with mask', 'all with merge'] : ['all', 'all update old'];
      const min = startLsnAt(inst, rt.view.seq);
      const max = c.maxLsnAt(rt.view.seq);
      if (from === null || to === null || filter === null || !filters.includes(filter)) throw rangeError(net);
      if (min === undefined || from < min || max === undefined || to > max || from > to) throw rangeError(net);
      // An instance whose capture stopped at a transaction it could not write (see CdcDatabase.scan) is complete
      // only below that transaction: a range reaching it is not processed yet for this instance.
      const stalled = c.stalledAt(inst);
      if (stalled !== undefined && to >= stalled) throw rangeError(net);
      rt.onDataAccess(inst.source.database);
      const range: ChangeRange = { inst, rt, from, to, filter, used };
      return net ? netRows(range) : allRows(range);
    },
  };
}

/** One change function call: the instance, its LSN range [from, to], its row filter and the columns it reads. */
interface ChangeRange {
  readonly inst: CaptureInstance;
  readonly rt: Runtime;
  readonly from: bigint;
  readonly to: bigint;
  readonly filter: string;
  /** By output column of the function (see VirtualTable.used); undefined: every column. */
  readonly used?: readonly boolean[] | undefined;
}

/** Offsets in a {@link ctRows} row: start_lsn, seqval (1), operation, update_mask, then the captured columns. */
const LSN = 0;
const OP = 2;
const MASK = 3;
const CAPTURED = 4;

/**
 * Change-table rows with __$start_lsn in [from, to], in (start_lsn, seqval, operation) order, except those of
 * operation `skipOp`, each as `[start_lsn, seqval, operation, update_mask, ...captured]` — the layout of
 * fn_cdc_get_all_changes_, so that function yields them as they are. Only the slots `read` asks for are decoded
 * (the others are null), and a skipped row's operation alone: a change-table row is ~30 columns, an update's
 * old-values row is half of a burst's change table, and a count or a `GROUP BY __$start_lsn` reads one column.
 */
function* ctRows(
  r: ChangeRange,
  read: { meta: readonly boolean[]; captured: readonly boolean[] | undefined },
  skipOp: bigint | undefined,
): Generator<SqlValue[]> {
  const ct = r.inst.changeTable;
  const slot = (n: string) => ct.column(n)?.slot ?? -1;
  const opSlot = slot('__$operation');
  // (output offset, change-table slot) of every column read besides the operation.
  const reads: [number, number][] = [];
  ['__$start_lsn', '__$seqval', '', '__$update_mask'].forEach((n, k) => {
    if (k !== OP && read.meta[k] !== false && slot(n) >= 0) reads.push([k, slot(n)]);
  });
  r.inst.columns.forEach((cc, k) => {
    if (read.captured?.[k] !== false && slot(cc.name) >= 0) reads.push([CAPTURED + k, slot(cc.name)]);
  });
  // Rows end at the last column read: the query reads no column past it (its evaluators take a missing one as
  // NULL), and a count or a GROUP BY __$start_lsn then builds no ~30-slot row per change.
  const width =
    read.captured === undefined || read.captured.some((u) => u) ? CAPTURED + r.inst.columns.length : CAPTURED;
  const lower = { key: [lsnToBuffer(r.from)], inclusive: true };
  const upper = { key: [lsnToBuffer(r.to)], inclusive: true };
  for (const rec of ct.records.range(lower, upper)) {
    const v = visibleVersion(rec, r.rt.view);
    if (!v || v.deleted) continue;
    // The packed newest version (the common case: a harvested row no reader has seen change) decodes per slot.
    const values = v === rec && rec.isPacked ? undefined : v.values;
    const op = (values ? values[opSlot] : rec.slot(opSlot)) ?? null;
    if (op === skipOp) continue;
    const row = new Array<SqlValue>(width).fill(null);
    row[OP] = op;
    for (const [at, s] of reads) row[at] = (values ? values[s] : rec.slot(s)) ?? null;
    yield row;
  }
}

/** fn_cdc_get_all_changes_: the change-table rows in order, an update's old values only under `all update old`. */
function allRows(r: ChangeRange): Iterable<SqlValue[]> {
  const used = r.used;
  return ctRows(
    r,
    { meta: used?.slice(0, CAPTURED) ?? [], captured: used?.slice(CAPTURED) },
    r.filter === 'all update old' ? undefined : 3n,
  );
}

/**
 * fn_cdc_get_net_changes_: one row per key changed in the range (the key is always read), with the net
 * operation and the last row's values. Its output columns are all-changes' without __$seqval.
 */
function* netRows(r: ChangeRange): Generator<SqlValue[]> {
  const { inst, filter, used } = r;
  const keyIdx = inst.indexColumns.map((k) => inst.columns.findIndex((c) => c.source === k));
  const captured = used?.slice(3).map((u, k) => u || keyIdx.includes(k));
  const groups = new Map<string, { first: bigint; last: SqlValue[]; mask: Buffer | null; order: number }>();
  let order = 0;
  for (const row of ctRows(r, { meta: [true, false, true, true], captured }, 3n)) {
    const key = JSON.stringify(keyIdx.map((i) => keyText(row[CAPTURED + i] ?? null)));
    const op = row[OP] as bigint;
    const mask = row[MASK] as Buffer | null;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: op, last: row, mask: op === 4n ? mask : null, order: order++ });
    } else {
      g.last = row;
      if (op === 4n && mask) g.mask = g.mask ? orMask(g.mask, mask) : Buffer.from(mask);
      g.order = order++;
    }
  }
  const out = [...groups.values()].sort((a, b) => a.order - b.order);
  for (const g of out) {
    const existedBefore = g.first !== 2n;
    const existsAfter = g.last[OP] !== 1n;
    let op: number;
    if (!existedBefore && !existsAfter) continue;
    if (!existsAfter) op = 1;
    else if (!existedBefore) op = 2;
    else op = 4;
    if (filter === 'all with merge' && op !== 1) op = 5;
    const mask = filter === 'all with mask' && op === 4 ? g.mask : null;
    yield [g.last[LSN] ?? null, BigInt(op), mask, ...g.last.slice(CAPTURED)];
  }
}

function keyText(v: SqlValue): string {
  if (Buffer.isBuffer(v)) return `b:${v.toString('hex')}`;
  if (typeof v === 'bigint') return `i:${v}`;
  if (typeof v === 'string') return `s:${v.toLowerCase().trimEnd()}`;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

function orMask(a: Buffer, b: Buffer): Buffer {
  const n = Math.max(a.length, b.length);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[n - 1 - i] = (a[a.length - 1 - i] ?? 0) | (b[b.length - 1 - i] ?? 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Install

const DM_CDC_LOG_SCAN_SESSIONS: ViewDef = {
  columns: [
    { name: 'session_id', type: T.int, nullable: false },
    { name: 'start_time', type: { name: 'datetime' }, nullable: true },
    { name: 'end_time', type: { name: 'datetime' }, nullable: true },
    { name: 'duration', type: T.int, nullable: true },
    { name: 'scan_phase', type: T.nvarchar(200), nullable: true },
    { name: 'error_count', type: T.int, nullable: true },
    { name: 'tran_count', type: T.bigint, nullable: true },
    { name: 'command_count', type: T.bigint, nullable: true },
    { name: 'schema_change_count', type: T.int, nullable: true },
    { name: 'last_commit_cdc_lsn', type: T.binary(10), nullable: true },
    { name: 'last_commit_cdc_time', type: { name: 'datetime' }, nullable: true },
    { name: 'latency', type: T.int, nullable: true },
    { name: 'empty_scan_count', type: T.int, nullable: true },
    { name: 'failed_sessions_count', type: T.int, nullable: true },
  ],
  rows: function* (db, s, engine) {
    if (!hasPermission(s, 'VIEW DATABASE STATE')) throw extError(297);
    const ctl = (engine as unknown as SimEngine).admin.extensions.get('cdc');
    const c = ctl instanceof CdcController ? ctl.of(db) : undefined;
    if (!c) return;
    const all = c.scanSessions;
    const row = (x: ScanSession, id: number): SqlValue[] => [
      BigInt(id),
      datetimeOf(x.start).value,
      datetimeOf(x.end).value,
      BigInt(Math.round((x.end.getTime() - x.start.getTime()) / 1000)),
      'Done',
      BigInt(x.errorCount),
      BigInt(x.tranCount),
      BigInt(x.commandCount),
      BigInt(x.schemaChangeCount),
      x.lastCommitLsn === undefined ? null : lsnToBuffer(x.lastCommitLsn),
      x.lastCommitTime ? datetimeOf(x.lastCommitTime).value : null,
      BigInt(x.latencySeconds),
      BigInt(x.emptyScanCount),
      0n,
    ];
    const last = all[all.length - 1];
    if (last) {
      const agg = row(last, 0);
      agg[6] = BigInt(all.reduce((n, x) => n + x.tranCount, 0));
      agg[7] = BigInt(all.reduce((n, x) => n + x.commandCount, 0));
      yield agg;
    }
    for (const x of all) yield row(x, x.sessionId);
  },
};

const CDC_JOB_COLUMNS = [
  { name: 'database_id', type: T.int, nullable: false },
  { name: 'job_type', type: T.nvarchar(20), nullable: false },
  { name: 'job_id', type: T.uniqueidentifier, nullable: true },
  { name: 'maxtrans', type: T.int, nullable: true },
  { name: 'maxscans', type: T.int, nullable: true },
  { name: 'continuous', type: T.bit, nullable: true },
  { name: 'pollinginterval', type: T.bigint, nullable: true },
  { name: 'retention', type: T.bigint, nullable: true },
  { name: 'threshold', type: T.bigint, nullable: true },
];

/** Rows of msdb.dbo.cdc_jobs: the settings in effect (sp_cdc_change_job values apply at the next start). */
function cdcJobRows(ctl: CdcController, only?: Database): SqlValue[][] {
  const rows: SqlValue[][] = [];
  for (const [db, c] of ctl.databases) {
    if ((only && db !== only) || !c.jobsStarted) continue;
    const o = c.options;
    const id = (n: number) =>
      `00000000-0000-0000-0000-${(db.databaseId * 10 + n).toString(16).padStart(12, '0')}`.toUpperCase();
    rows.push([
      BigInt(db.databaseId),
      'capture',
      id(1),
      BigInt(o.maxtrans),
      BigInt(o.maxscans),
      true,
      BigInt(Math.round(o.pollingIntervalMs / 1000)),
      0n,
      0n,
    ]);
    rows.push([BigInt(db.databaseId), 'cleanup', id(2), 0n, 0n, false, 0n, BigInt(o.retentionMinutes), 5000n]);
  }
  return rows;
}

export function installCdc(engine: SimEngine): CdcController {
  const ctl = new CdcController(engine);
  engine.admin.extensions.set('cdc', ctl);
  engine.admin.registerView('sys.dm_cdc_log_scan_sessions', DM_CDC_LOG_SCAN_SESSIONS);
  // The errors capture scans recorded instead of failing (CdcDatabase.scan): the last 32 sessions.
  engine.admin.registerView('sys.dm_cdc_errors', {
    columns: [
      { name: 'session_id', type: T.int, nullable: false },
      { name: 'phase_number', type: T.int, nullable: true },
      { name: 'entry_time', type: { name: 'datetime' }, nullable: true },
      { name: 'error_number', type: T.int, nullable: true },
      { name: 'error_severity', type: T.int, nullable: true },
      { name: 'error_state', type: T.int, nullable: true },
      { name: 'error_message', type: T.nvarchar(1024), nullable: true },
      { name: 'start_lsn', type: T.nvarchar(23), nullable: true },
      { name: 'begin_lsn', type: T.nvarchar(23), nullable: true },
      { name: 'sequence_value', type: T.nvarchar(23), nullable: true },
    ],
    rows: (db, s, e) => {
      if (!hasPermission(s, 'VIEW DATABASE STATE')) throw extError(297);
      const ctl = (e as unknown as SimEngine).admin.extensions.get('cdc');
      const c = ctl instanceof CdcController ? ctl.of(db) : undefined;
      return (c?.errors ?? []).map((x) => [
        BigInt(x.sessionId),
        BigInt(x.phase),
        datetimeOf(x.time).value,
        BigInt(x.number),
        BigInt(x.severity),
        BigInt(x.state),
        x.message.slice(0, 1024),
        lsnText(x.startLsn),
        lsnText(x.beginLsn),
        lsnText(x.seqval),
      ]);
    },
  });
  engine.admin.registerView('dbo.cdc_jobs', {
    columns: CDC_JOB_COLUMNS,
    rows: (db, _s, e) => {
      const c = (e as unknown as SimEngine).admin.extensions.get('cdc');
      return db.name.toLowerCase() === 'msdb' && c instanceof CdcController ? cdcJobRows(c) : [];
    },
  });
  for (const [name, h] of Object.entries(procedures(ctl))) engine.admin.registerProcedure(name, h);
  for (const [name, f] of Object.entries(functions(ctl))) engine.admin.registerFunction(name, f);
  engine.admin.registerTableFunction((parts, session) => changeFunction(ctl, parts, session));
  return ctl;
}
