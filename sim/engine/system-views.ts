/**
 * Catalog views (sys.*, INFORMATION_SCHEMA.*) and the simulator's own `sim.statement_stats`, generated from
 * the catalog when read. Column names and types follow SQL Server 2019's documentation; the columns a
 * connector does not use are left out (and selecting them fails with 207, not with a made-up value).
 */
import type { SqlType, SqlValue } from './api.js';
import type { ColumnInfo } from './binder.js';
import type { Database, Table } from './catalog.js';
import type { RowVersion } from './mvcc.js';
import type { EngineCore, SessionContext } from './session-context.js';
import type { Runtime, VirtualTable } from './query.js';
import { SYSTEM_TYPE_ID, maxLength, typePrecision, typeScale, T } from './types.js';
import { totalRowsRead, type StatementStats } from './accounting.js';
import { UNIX_EPOCH_DAYS, roundDatetimeTicks, localOffsetMinutes } from './datetime.js';
import { dec } from './values.js';

const SYSNAME = T.sysname;
const col = (name: string, type: SqlType, nullable = false): ColumnInfo => ({ name, type, nullable });
const b = (v: boolean): SqlValue => v;
const n = (v: number | bigint): SqlValue => BigInt(v);
const NV60 = T.nvarchar(60);

/** A JS Date (server-local wall clock) as a datetime value. */
function datetimeOf(d: Date): SqlValue {
  const ms = d.getTime() + localOffsetMinutes() * 60000;
  const days = Math.floor(ms / 86400000);
  const ticks = BigInt(ms - days * 86400000) * 10000n;
  return { kind: 'datetime', days: days + UNIX_EPOCH_DAYS, ticks: roundDatetimeTicks(ticks) };
}

export type RowsFn = (db: Database, s: SessionContext, engine: EngineCore, rt: Runtime) => Iterable<SqlValue[]>;

export interface ViewDef {
  columns: ColumnInfo[];
  rows: RowsFn;
  /** Server-scoped views (sys.databases) ignore the database part of the name. */
  server?: boolean;
}

const TYPE_NAMES: [string, SqlType][] = [
  ['bigint', { name: 'bigint' }],
  ['binary', { name: 'binary', length: 8000 }],
  ['bit', { name: 'bit' }],
  ['char', { name: 'char', length: 8000 }],
  ['date', { name: 'date' }],
  ['datetime', { name: 'datetime' }],
  ['datetime2', { name: 'datetime2', scale: 7 }],
  ['datetimeoffset', { name: 'datetimeoffset', scale: 7 }],
  ['decimal', { name: 'decimal', precision: 38, scale: 38 }],
  ['float', { name: 'float', precision: 53 }],
  ['int', { name: 'int' }],
  ['money', { name: 'money' }],
  ['nchar', { name: 'nchar', length: 4000 }],
  ['numeric', { name: 'numeric', precision: 38, scale: 38 }],
  ['nvarchar', { name: 'nvarchar', length: 4000 }],
  ['real', { name: 'real', precision: 24 }],
  ['smalldatetime', { name: 'smalldatetime' }],
  ['smallint', { name: 'smallint' }],
  ['smallmoney', { name: 'smallmoney' }],
  ['sysname', { name: 'nvarchar', length: 128 }],
  ['time', { name: 'time', scale: 7 }],
  ['timestamp', { name: 'rowversion', length: 8 }],
  ['tinyint', { name: 'tinyint' }],
  ['uniqueidentifier', { name: 'uniqueidentifier' }],
  ['varbinary', { name: 'varbinary', length: 8000 }],
  ['varchar', { name: 'varchar', length: 8000 }],
];

function typeName(t: SqlType): string {
  return t.name === 'rowversion' ? 'timestamp' : t.name;
}

function collationOf(t: SqlType): SqlValue {
  return ['char', 'varchar', 'nchar', 'nvarchar'].includes(t.name) ? 'SQL_Latin1_General_CP1_CI_AS' : null;
}

/** Rows whose newest version is committed and not deleted (what sys.partitions reports, approximately). */
function committedRowCount(t: Table): number {
  let k = 0;
  for (const r of t.records.all()) {
    let v: RowVersion | null = r;
    while (v && v.txn !== null && v.txn.state !== 'committed') v = v.prev;
    if (v && !v.deleted) k++;
  }
  return k;
}

function* tablesOf(db: Database): Generator<Table> {
  yield* db.tables();
}

const VIEWS: Record<string, ViewDef> = {
  'sys.databases': {
    server: true,
    columns: [
      col('name', SYSNAME),
      col('database_id', T.int),
      col('create_date', T.datetime),
      col('compatibility_level', T.tinyint),
      col('collation_name', SYSNAME, true),
      col('user_access', T.tinyint),
      col('user_access_desc', NV60),
      col('is_read_only', T.bit),
      col('state', T.tinyint),
      col('state_desc', NV60),
      col('snapshot_isolation_state', T.tinyint),
      col('snapshot_isolation_state_desc', NV60),
      col('is_read_committed_snapshot_on', T.bit),
      col('recovery_model', T.tinyint),
      col('recovery_model_desc', NV60),
      col('is_cdc_enabled', T.bit),
      col('is_encrypted', T.bit),
    ],
    rows: function* (_db, _s, engine) {
      const dbs = [...engine.databases.values()].sort((a, c) => a.databaseId - c.databaseId);
      for (const d of dbs)
        yield [
          d.name,
          n(d.databaseId),
          datetimeOf(d.createDate),
          150n,
          'SQL_Latin1_General_CP1_CI_AS',
          0n,
          'MULTI_USER',
          b(d.isReadOnly),
          0n,
          'ONLINE',
          d.allowSnapshotIsolation ? 1n : 0n,
          d.allowSnapshotIsolation ? 'ON' : 'OFF',
          b(d.readCommittedSnapshot),
          1n,
          'FULL',
          b(d.extensions.get('cdc.enabled') === true),
          false,
        ];
    },
  },
  'sys.schemas': {
    columns: [col('name', SYSNAME), col('schema_id', T.int), col('principal_id', T.int, true)],
    rows: function* (db) {
      for (const s of db.schemas.values()) yield [s.name, n(s.schemaId), n(s.principalId)];
    },
  },
  'sys.objects': {
    columns: [
      col('name', SYSNAME),
      col('object_id', T.int),
      col('principal_id', T.int, true),
      col('schema_id', T.int),
      col('parent_object_id', T.int),
      col('type', { name: 'char', length: 2 }),
      col('type_desc', NV60),
      col('create_date', T.datetime),
      col('modify_date', T.datetime),
      col('is_ms_shipped', T.bit),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        yield [
          t.name,
          n(t.objectId),
          null,
          n(t.schema.schemaId),
          0n,
          'U ',
          'USER_TABLE',
          datetimeOf(t.createDate),
          datetimeOf(t.modifyDate),
          false,
        ];
        for (const ix of t.indexes)
          if (ix.constraintObjectId !== undefined)
            yield [
              ix.name,
              n(ix.constraintObjectId),
              null,
              n(t.schema.schemaId),
              n(t.objectId),
              ix.primaryKey ? 'PK' : 'UQ',
              ix.primaryKey ? 'PRIMARY_KEY_CONSTRAINT' : 'UNIQUE_CONSTRAINT',
              datetimeOf(t.createDate),
              datetimeOf(t.modifyDate),
              false,
            ];
        for (const c of t.columns)
          if (c.default)
            yield [
              c.default.name,
              n(c.default.objectId),
              null,
              n(t.schema.schemaId),
              n(t.objectId),
              'D ',
              'DEFAULT_CONSTRAINT',
              datetimeOf(t.createDate),
              datetimeOf(t.modifyDate),
              false,
            ];
      }
    },
  },
  'sys.tables': {
    columns: [
      col('name', SYSNAME),
      col('object_id', T.int),
      col('principal_id', T.int, true),
      col('schema_id', T.int),
      col('parent_object_id', T.int),
      col('type', { name: 'char', length: 2 }),
      col('type_desc', NV60),
      col('create_date', T.datetime),
      col('modify_date', T.datetime),
      col('is_ms_shipped', T.bit),
      col('is_published', T.bit),
      col('is_replicated', T.bit),
      col('is_tracked_by_cdc', T.bit),
      col('temporal_type', T.tinyint),
      col('is_memory_optimized', T.bit),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        yield [
          t.name,
          n(t.objectId),
          null,
          n(t.schema.schemaId),
          0n,
          'U ',
          'USER_TABLE',
          datetimeOf(t.createDate),
          datetimeOf(t.modifyDate),
          false,
          false,
          false,
          b(t.extensions.get('cdc.tracked') === true),
          0n,
          false,
        ];
    },
  },
  'sys.columns': {
    columns: [
      col('object_id', T.int),
      col('name', SYSNAME, true),
      col('column_id', T.int),
      col('system_type_id', T.tinyint),
      col('user_type_id', T.int),
      col('max_length', T.smallint),
      col('precision', T.tinyint),
      col('scale', T.tinyint),
      col('collation_name', SYSNAME, true),
      col('is_nullable', T.bit, true),
      col('is_rowguidcol', T.bit),
      col('is_identity', T.bit),
      col('is_computed', T.bit),
      col('is_sparse', T.bit),
      col('default_object_id', T.int),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const c of t.columns) {
          const id = SYSTEM_TYPE_ID[c.type.name];
          yield [
            n(t.objectId),
            c.name,
            n(c.columnId),
            n(id),
            n(id),
            n(maxLength(c.type)),
            n(typePrecision(c.type)),
            n(typeScale(c.type)),
            collationOf(c.type),
            b(c.nullable),
            false,
            b(!!c.identity),
            false,
            false,
            n(c.default?.objectId ?? 0),
          ];
        }
    },
  },
  'sys.types': {
    columns: [
      col('name', SYSNAME),
      col('system_type_id', T.tinyint),
      col('user_type_id', T.int),
      col('schema_id', T.int),
      col('max_length', T.smallint),
      col('precision', T.tinyint),
      col('scale', T.tinyint),
      col('collation_name', SYSNAME, true),
      col('is_nullable', T.bit, true),
      col('is_user_defined', T.bit),
      col('is_table_type', T.bit),
    ],
    rows: function* () {
      for (const [name, t] of TYPE_NAMES) {
        const id = SYSTEM_TYPE_ID[t.name];
        const userId = name === 'sysname' ? 256 : id;
        const ml = name === 'sysname' ? 256 : t.name === 'decimal' || t.name === 'numeric' ? 17 : maxLength(t);
        yield [
          name,
          n(id),
          n(userId),
          4n,
          n(ml),
          n(typePrecision(t)),
          n(t.name === 'decimal' || t.name === 'numeric' ? 38 : typeScale(t)),
          collationOf(t),
          name !== 'sysname',
          false,
          false,
        ];
      }
    },
  },
  'sys.indexes': {
    columns: [
      col('object_id', T.int),
      col('name', SYSNAME, true),
      col('index_id', T.int),
      col('type', T.tinyint),
      col('type_desc', NV60, true),
      col('is_unique', T.bit, true),
      col('is_primary_key', T.bit, true),
      col('is_unique_constraint', T.bit, true),
      col('is_disabled', T.bit, true),
      col('has_filter', T.bit, true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        if (!t.clustered) yield [n(t.objectId), null, 0n, 0n, 'HEAP', false, false, false, false, false];
        for (const ix of [...t.indexes].sort((a, c) => a.indexId - c.indexId))
          yield [
            n(t.objectId),
            ix.name,
            n(ix.indexId),
            ix.clustered ? 1n : 2n,
            ix.clustered ? 'CLUSTERED' : 'NONCLUSTERED',
            b(ix.unique),
            b(ix.primaryKey),
            b(ix.uniqueConstraint),
            false,
            false,
          ];
      }
    },
  },
  'sys.index_columns': {
    columns: [
      col('object_id', T.int),
      col('index_id', T.int),
      col('index_column_id', T.int),
      col('column_id', T.int),
      col('key_ordinal', T.tinyint),
      col('partition_ordinal', T.tinyint),
      col('is_descending_key', T.bit, true),
      col('is_included_column', T.bit, true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const ix of t.indexes) {
          let k = 1;
          for (const kc of ix.keyColumns)
            yield [n(t.objectId), n(ix.indexId), n(k), n(kc.column.columnId), n(k++), 0n, b(kc.desc), false];
          for (const c of ix.includeColumns)
            yield [n(t.objectId), n(ix.indexId), n(k++), n(c.columnId), 0n, 0n, false, true];
        }
    },
  },
  'sys.identity_columns': {
    columns: [
      col('object_id', T.int),
      col('name', SYSNAME, true),
      col('column_id', T.int),
      col('system_type_id', T.tinyint),
      col('user_type_id', T.int),
      col('max_length', T.smallint),
      col('is_nullable', T.bit, true),
      col('is_identity', T.bit),
      // sql_variant in SQL Server; the simulator has no sql_variant and reports decimal(38,0).
      col('seed_value', { name: 'decimal', precision: 38, scale: 0 }, true),
      col('increment_value', { name: 'decimal', precision: 38, scale: 0 }, true),
      col('last_value', { name: 'decimal', precision: 38, scale: 0 }, true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        const c = t.identityColumn;
        if (!c?.identity) continue;
        const id = SYSTEM_TYPE_ID[c.type.name];
        yield [
          n(t.objectId),
          c.name,
          n(c.columnId),
          n(id),
          n(id),
          n(maxLength(c.type)),
          false,
          true,
          dec(c.identity.seed, 0),
          dec(c.identity.increment, 0),
          t.identityLast === undefined ? null : dec(t.identityLast, 0),
        ];
      }
    },
  },
  'sys.key_constraints': {
    columns: [
      col('name', SYSNAME),
      col('object_id', T.int),
      col('schema_id', T.int),
      col('parent_object_id', T.int),
      col('type', { name: 'char', length: 2 }),
      col('type_desc', NV60),
      col('unique_index_id', T.int),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const ix of t.indexes)
          if (ix.constraintObjectId !== undefined)
            yield [
              ix.name,
              n(ix.constraintObjectId),
              n(t.schema.schemaId),
              n(t.objectId),
              ix.primaryKey ? 'PK' : 'UQ',
              ix.primaryKey ? 'PRIMARY_KEY_CONSTRAINT' : 'UNIQUE_CONSTRAINT',
              n(ix.indexId),
            ];
    },
  },
  'sys.default_constraints': {
    columns: [
      col('name', SYSNAME),
      col('object_id', T.int),
      col('parent_object_id', T.int),
      col('parent_column_id', T.int),
      col('definition', T.nvarchar(-1), true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const c of t.columns)
          if (c.default) yield [c.default.name, n(c.default.objectId), n(t.objectId), n(c.columnId), c.default.text];
    },
  },
  'sys.dm_exec_sessions': {
    server: true,
    columns: [
      col('session_id', T.smallint),
      col('login_name', SYSNAME),
      col('program_name', T.nvarchar(128), true),
      col('host_name', T.nvarchar(128), true),
      col('database_id', T.smallint),
      col('transaction_isolation_level', T.smallint),
      col('open_transaction_count', T.int),
      col('is_user_process', T.bit),
    ],
    rows: function* (_db, _s, engine) {
      const sessions = (
        engine as EngineCore & { sessionContexts(): Iterable<SessionContext & { isolation: number }> }
      ).sessionContexts();
      for (const x of sessions)
        yield [
          n(x.spid),
          x.login.name,
          x.appName,
          x.hostName,
          n(x.database.databaseId),
          n(x.isolation),
          n(x.tranCount),
          true,
        ];
    },
  },
  'sys.partitions': {
    columns: [
      col('partition_id', T.bigint),
      col('object_id', T.int),
      col('index_id', T.int),
      col('partition_number', T.int),
      col('rows', T.bigint, true),
      col('data_compression', T.tinyint),
      col('data_compression_desc', NV60, true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        const rows = committedRowCount(t);
        const ids = t.clustered ? t.indexes.map((i) => i.indexId) : [0, ...t.indexes.map((i) => i.indexId)];
        for (const id of ids.sort((a, c) => a - c))
          yield [n(t.objectId * 1000 + id), n(t.objectId), n(id), 1n, n(rows), 0n, 'NONE'];
      }
    },
  },
  'sys.dm_db_partition_stats': {
    columns: [
      col('partition_id', T.bigint),
      col('object_id', T.int),
      col('index_id', T.int),
      col('partition_number', T.int),
      col('row_count', T.bigint),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        const rows = committedRowCount(t);
        const ids = t.clustered ? t.indexes.map((i) => i.indexId) : [0, ...t.indexes.map((i) => i.indexId)];
        for (const id of ids.sort((a, c) => a - c))
          yield [n(t.objectId * 1000 + id), n(t.objectId), n(id), 1n, n(rows)];
      }
    },
  },
  'sys.dm_tran_active_transactions': {
    server: true,
    columns: [
      col('transaction_id', T.bigint),
      col('name', T.nvarchar(32)),
      col('transaction_begin_time', T.datetime),
      col('transaction_type', T.int),
      col('transaction_state', T.int),
    ],
    rows: function* (_db, _s, engine) {
      for (const t of engine.activeTxns)
        yield [n(t.id), t.implicit ? 'user_transaction' : 'user_transaction', datetimeOf(t.beginTime), 1n, 2n];
    },
  },
  'sys.dm_tran_session_transactions': {
    server: true,
    columns: [
      col('session_id', T.int),
      col('transaction_id', T.bigint),
      col('transaction_descriptor', T.binary(8)),
      col('is_user_transaction', T.bit),
      col('is_local', T.bit),
    ],
    rows: function* (_db, _s, engine) {
      // transaction_descriptor: "used by SQL Server when communicating with the client driver" — the ENVCHANGE 8
      // value the client echoes in ALL_HEADERS.
      for (const t of engine.activeTxns) yield [n(t.spid), n(t.id), t.descriptor, !t.implicit, true];
    },
  },
  'information_schema.tables': {
    columns: [
      col('TABLE_CATALOG', T.nvarchar(128), true),
      col('TABLE_SCHEMA', T.nvarchar(128), true),
      col('TABLE_NAME', SYSNAME),
      col('TABLE_TYPE', T.varchar(10), true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) yield [db.name, t.schema.name, t.name, 'BASE TABLE'];
    },
  },
  'information_schema.columns': {
    columns: [
      col('TABLE_CATALOG', T.nvarchar(128), true),
      col('TABLE_SCHEMA', T.nvarchar(128), true),
      col('TABLE_NAME', SYSNAME),
      col('COLUMN_NAME', SYSNAME, true),
      col('ORDINAL_POSITION', T.int, true),
      col('COLUMN_DEFAULT', T.nvarchar(4000), true),
      col('IS_NULLABLE', T.varchar(3), true),
      col('DATA_TYPE', T.nvarchar(128), true),
      col('CHARACTER_MAXIMUM_LENGTH', T.int, true),
      col('CHARACTER_OCTET_LENGTH', T.int, true),
      col('NUMERIC_PRECISION', T.tinyint, true),
      col('NUMERIC_PRECISION_RADIX', T.smallint, true),
      col('NUMERIC_SCALE', T.int, true),
      col('DATETIME_PRECISION', T.smallint, true),
      col('CHARACTER_SET_NAME', T.nvarchar(128), true),
      col('COLLATION_NAME', T.nvarchar(128), true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db)) {
        let pos = 1;
        for (const c of t.columns) {
          const ty = c.type;
          const isChar = ['char', 'varchar', 'nchar', 'nvarchar'].includes(ty.name);
          const isBin = ['binary', 'varbinary'].includes(ty.name);
          const isNum = [
            'tinyint',
            'smallint',
            'int',
            'bigint',
            'decimal',
            'numeric',
            'money',
            'smallmoney',
            'float',
            'real',
          ].includes(ty.name);
          const isDt = ['date', 'time', 'datetime', 'datetime2', 'smalldatetime', 'datetimeoffset'].includes(ty.name);
          const radix = ty.name === 'float' || ty.name === 'real' ? 2n : 10n;
          yield [
            db.name,
            t.schema.name,
            t.name,
            c.name,
            n(pos++),
            c.default?.text ?? null,
            c.nullable ? 'YES' : 'NO',
            typeName(ty),
            isChar || isBin ? n(ty.length ?? 1) : null,
            isChar || isBin
              ? n(ty.length === -1 ? -1 : ty.name.startsWith('n') ? (ty.length ?? 1) * 2 : (ty.length ?? 1))
              : null,
            isNum ? n(typePrecision(ty)) : null,
            isNum ? radix : null,
            isNum && radix === 10n ? n(typeScale(ty)) : null,
            isDt ? n(ty.name === 'date' ? 0 : typeScale(ty)) : null,
            isChar ? (ty.name.startsWith('n') ? 'UNICODE' : 'iso_1') : null,
            isChar ? 'SQL_Latin1_General_CP1_CI_AS' : null,
          ];
        }
      }
    },
  },
  'information_schema.key_column_usage': {
    columns: [
      col('CONSTRAINT_CATALOG', T.nvarchar(128), true),
      col('CONSTRAINT_SCHEMA', T.nvarchar(128), true),
      col('CONSTRAINT_NAME', SYSNAME),
      col('TABLE_CATALOG', T.nvarchar(128), true),
      col('TABLE_SCHEMA', T.nvarchar(128), true),
      col('TABLE_NAME', SYSNAME),
      col('COLUMN_NAME', SYSNAME, true),
      col('ORDINAL_POSITION', T.int),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const ix of t.indexes) {
          if (!ix.primaryKey && !ix.uniqueConstraint) continue;
          let k = 1;
          for (const kc of ix.keyColumns)
            yield [db.name, t.schema.name, ix.name, db.name, t.schema.name, t.name, kc.column.name, n(k++)];
        }
    },
  },
  'information_schema.table_constraints': {
    columns: [
      col('CONSTRAINT_CATALOG', T.nvarchar(128), true),
      col('CONSTRAINT_SCHEMA', T.nvarchar(128), true),
      col('CONSTRAINT_NAME', SYSNAME),
      col('TABLE_CATALOG', T.nvarchar(128), true),
      col('TABLE_SCHEMA', T.nvarchar(128), true),
      col('TABLE_NAME', SYSNAME),
      col('CONSTRAINT_TYPE', T.varchar(11), true),
    ],
    rows: function* (db) {
      for (const t of tablesOf(db))
        for (const ix of t.indexes)
          if (ix.primaryKey || ix.uniqueConstraint)
            yield [
              db.name,
              t.schema.name,
              ix.name,
              db.name,
              t.schema.name,
              t.name,
              ix.primaryKey ? 'PRIMARY KEY' : 'UNIQUE',
            ];
    },
  },
  'sim.statement_stats': {
    server: true,
    columns: [
      col('session_id', T.smallint),
      col('statement_id', T.bigint),
      col('sql_text', T.nvarchar(-1)),
      col('database_name', SYSNAME, true),
      col('schema_name', SYSNAME, true),
      col('table_name', SYSNAME, true),
      col('index_name', SYSNAME, true),
      col('access_kind', T.varchar(4), true),
      col('rows_read', T.bigint),
      col('rows_returned', T.bigint),
      col('total_rows_read', T.bigint),
    ],
    rows: function* (_db, s, _engine, rt) {
      const all: StatementStats[] = [];
      const sessions = (_engine as EngineCore & { sessionContexts(): Iterable<SessionContext> }).sessionContexts();
      for (const x of sessions) all.push(...x.stats);
      all.sort((a, c) => a.statementId - c.statementId);
      for (const st of all) {
        if (st === rt.stats) continue;
        const total = n(totalRowsRead(st));
        if (st.accesses.length === 0)
          yield [n(st.spid), n(st.statementId), st.text, null, null, null, null, null, 0n, n(st.rowsReturned), total];
        for (const a of st.accesses)
          yield [
            n(st.spid),
            n(st.statementId),
            st.text,
            a.database,
            a.schema,
            a.table,
            a.index,
            a.kind,
            n(a.rowsRead),
            n(st.rowsReturned),
            total,
          ];
      }
    },
  },
};

/**
 * Resolves a system view by multi-part name (`sys.tables`, `Claims.sys.tables`, `INFORMATION_SCHEMA.COLUMNS`,
 * `sim.statement_stats`) for the session's current database (or the named one).
 */
export function systemView(parts: string[], session: SessionContext): VirtualTable | undefined {
  if (parts.length < 2) return undefined;
  const key = `${parts[parts.length - 2] ?? ''}.${parts[parts.length - 1] ?? ''}`.toLowerCase();
  const def = VIEWS[key] ?? session.engine.extensionViews.get(key); // part 2 hook: views registered by extensions
  if (!def) return undefined;
  const dbName = parts.length >= 3 ? parts[parts.length - 3] : undefined;
  return {
    name: parts[parts.length - 1] ?? '',
    columns: def.columns,
    rows: (rt) => {
      const db = dbName && !def.server ? session.engine.database(dbName) : rt.ctx.session.database;
      if (!db) return [];
      return def.rows(db, rt.ctx.session, rt.ctx.session.engine, rt);
    },
  };
}
