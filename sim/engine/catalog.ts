/**
 * The catalog: databases, schemas, tables, columns and indexes, with the ids sys.* views report. Names compare
 * case-insensitively (the default collation is case-insensitive, so catalog names are too).
 */
import type { SqlType, SqlValue } from './api.js';
import type { Expr, Statement } from './ast.js';
import type { CommittedTransaction } from './commit-log.js';
import { OrderedIndex } from './ordered-index.js';
import type { RowRecord } from './mvcc.js';
import { RowCodec } from './row-codec.js';

export const norm = (s: string): string => s.toLowerCase();

let nextObjectId = 581_577_110;
export function allocateObjectId(): number {
  nextObjectId += 16_000_057;
  if (nextObjectId > 2_100_000_000) nextObjectId -= 2_000_000_000;
  return nextObjectId;
}

/** A table column. */
export interface Column {
  name: string;
  type: SqlType;
  nullable: boolean;
  /** sys.columns.column_id: never reused within a table. */
  columnId: number;
  /** Position in the row arrays. Dropped columns leave their slot unused. */
  slot: number;
  identity?: { seed: bigint; increment: bigint };
  isRowversion: boolean;
  default?: { expr: Expr; text: string; name: string; objectId: number };
  /** Value of this column in rows stored before the column was added (ADD … NOT NULL DEFAULT fills it). */
  missingValue: SqlValue;
}

/** A key column of an index. */
export interface IndexColumn {
  column: Column;
  desc: boolean;
}

/** A clustered or nonclustered index (PRIMARY KEY and UNIQUE constraints are indexes too). */
export interface Index {
  name: string;
  indexId: number;
  unique: boolean;
  primaryKey: boolean;
  /** The clustered index orders the table's records; a heap has none. */
  clustered: boolean;
  uniqueConstraint: boolean;
  keyColumns: IndexColumn[];
  includeColumns: Column[];
  /** Key constraint object id (PK/UQ constraints are objects in sys.objects). */
  constraintObjectId?: number;
  /** Nonclustered indexes: entries (record + key snapshot), ordered by key columns then the clustering key. */
  entries?: OrderedIndex<IndexEntry>;
}

/** A nonclustered index entry: the key it was filed under and the row it points to. */
export interface IndexEntry {
  key: SqlValue[];
  record: RowRecord;
}

/** A user table: columns, indexes, identity state and its records. */
export class Table {
  readonly objectId = allocateObjectId();
  columns: Column[] = [];
  indexes: Index[] = [];
  nextColumnId = 1;
  nextSlot = 0;
  /** The next identity value to hand out; allocation is not transactional (gaps on rollback). */
  identityNext: bigint | undefined;
  identityLast: bigint | undefined;
  identityInsert = false;
  nextRid = 1n;
  readonly createDate = new Date();
  modifyDate = new Date();
  /** The records, ordered by the clustered key (or by rid for a heap). */
  records!: OrderedIndex<RowRecord>;
  /** Hooks part 2 sets (e.g. Change Tracking enabled): opaque to the engine. */
  readonly extensions = new Map<string, unknown>();

  constructor(
    public schema: Schema,
    public name: string,
  ) {}

  get database(): Database {
    return this.schema.database;
  }

  get clustered(): Index | undefined {
    return this.indexes.find((i) => i.clustered);
  }

  get primaryKey(): Index | undefined {
    return this.indexes.find((i) => i.primaryKey);
  }

  /** Columns by normalised name, with where each was and its name then (checked on use: DDL changes columns). */
  private columnIndex = new Map<string, { column: Column; at: number; name: string }>();

  column(name: string): Column | undefined {
    const n = norm(name);
    // A hit is used only while the column is still at that position under that name (a rename, drop or add
    // since the index was built fails the check); a miss falls back to the scan, which rebuilds the index when
    // it finds the column. Statements look columns up by name per row and per value (INSERT, CDC capture).
    const hit = this.columnIndex.get(n);
    if (hit && this.columns[hit.at] === hit.column && hit.column.name === hit.name) return hit.column;
    const found = this.columns.find((c) => norm(c.name) === n);
    if (found) {
      this.columnIndex = new Map();
      this.columns.forEach((column, at) => {
        const k = norm(column.name);
        if (!this.columnIndex.has(k)) this.columnIndex.set(k, { column, at, name: column.name });
      });
    }
    return found;
  }

  get rowversionColumn(): Column | undefined {
    return this.columns.find((c) => c.isRowversion);
  }

  get identityColumn(): Column | undefined {
    return this.columns.find((c) => c.identity);
  }

  private codecCache: RowCodec | undefined;

  /** The packing layout of the current columns (rebuilt after DDL). */
  get codec(): RowCodec {
    if (!this.codecCache || this.codecCache.width !== this.nextSlot) {
      const types: (SqlType | undefined)[] = new Array<SqlType | undefined>(this.nextSlot).fill(undefined);
      for (const c of this.columns) types[c.slot] = c.type;
      this.codecCache = new RowCodec(types);
    }
    return this.codecCache;
  }

  /** Call after a column's type changed: packed rows keep their own codec, new packs use the new layout. */
  invalidateCodec(): void {
    this.codecCache = undefined;
  }

  /** Rebuilds the record ordering (CREATE TABLE, adding/dropping a clustered key). */
  resetRecordOrder(): void {
    const cl = this.clustered;
    const old = this.records as OrderedIndex<RowRecord> | undefined;
    if (cl) {
      const slots = cl.keyColumns.map((k) => k.column.slot);
      this.records = new OrderedIndex<RowRecord>(
        (r) => slots.map((s) => r.slot(s)),
        cl.keyColumns.map((k) => k.desc),
      );
    } else {
      this.records = new OrderedIndex<RowRecord>((r) => [r.rid]);
    }
    if (old) for (const r of old.all()) this.records.insert(r);
  }

  /** The clustering key of a row (for nonclustered entries and error texts). */
  clusterKeyOf(values: SqlValue[], rec: RowRecord): SqlValue[] {
    const cl = this.clustered;
    return cl ? cl.keyColumns.map((k) => values[k.column.slot] ?? null) : [rec.rid];
  }

  qualifiedName(): string {
    return `${this.schema.name}.${this.name}`;
  }
}

/** A schema and its tables. */
export class Schema {
  readonly tables = new Map<string, Table>();
  constructor(
    readonly database: Database,
    readonly name: string,
    readonly schemaId: number,
    readonly principalId = 1,
  ) {}
}

/** A database user mapped to a login, with its role memberships. */
export interface DatabaseUser {
  name: string;
  principalId: number;
  loginName?: string;
  roles: Set<string>;
  defaultSchema: string;
}

/** A database: schemas, users, options, the rowversion counter and commit/DDL listeners. */
export class Database {
  readonly schemas = new Map<string, Schema>();
  allowSnapshotIsolation = false;
  /** The simulator always versions READ COMMITTED; sys.databases reports it (see mvcc.ts). */
  readonly readCommittedSnapshot = true;
  /** Last rowversion value handed out (@@DBTS). SQL Server starts new databases at 2000 (0x7D0). */
  dbts = 2000n;
  readonly users = new Map<string, DatabaseUser>();
  readonly createDate = new Date();
  readonly commitListeners: ((t: CommittedTransaction) => void)[] = [];
  /** Called after DDL on a table of this database (part 2: CDC ddl_history, Change Tracking on TRUNCATE). */
  readonly ddlListeners: ((e: DdlEvent) => void)[] = [];
  readonly extensions = new Map<string, unknown>();
  private nextSchemaId = 5;
  isReadOnly = false;

  constructor(
    readonly name: string,
    readonly databaseId: number,
  ) {
    this.addSchema('dbo', 1);
    this.addSchema('guest', 2);
    this.addSchema('INFORMATION_SCHEMA', 3);
    this.addSchema('sys', 4);
    this.users.set('dbo', { name: 'dbo', principalId: 1, roles: new Set(['db_owner']), defaultSchema: 'dbo' });
  }

  addSchema(name: string, id?: number): Schema {
    const s = new Schema(this, name, id ?? this.nextSchemaId++);
    this.schemas.set(norm(name), s);
    return s;
  }

  schema(name: string): Schema | undefined {
    return this.schemas.get(norm(name));
  }

  *tables(): Generator<Table> {
    for (const s of this.schemas.values()) yield* s.tables.values();
  }

  tableById(id: number): Table | undefined {
    for (const t of this.tables()) if (t.objectId === id) return t;
    return undefined;
  }

  /** Registers a consumer of committed transactions (CDC capture, Change Tracking: part 2). */
  onCommit(listener: (t: CommittedTransaction) => void): () => void {
    this.commitListeners.push(listener);
    return () => {
      const i = this.commitListeners.indexOf(listener);
      if (i >= 0) this.commitListeners.splice(i, 1);
    };
  }
}

/** A completed DDL statement on a table, as DDL listeners receive it; `text` is its source (CDC ddl_history). */
export interface DdlEvent {
  statement: Statement;
  table: Table;
  spid: number;
  text?: string;
}

/** A SQL login. */
export interface Login {
  name: string;
  password: string;
  defaultDatabase: string;
  sysadmin: boolean;
  principalId: number;
  disabled: boolean;
}
