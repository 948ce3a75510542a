/**
 * The lake's schema as a Delta `schemaString` (PROTOCOL.md, "Schema Serialization Format": Spark SQL's JSON
 * schema), for the Parquet types the lake's files declare today (lake-types.ts, written by DuckDB):
 *
 * | lake type            | Parquet in the files                              | Delta type                                      |
 * |----------------------|---------------------------------------------------|-------------------------------------------------|
 * | boolean              | BOOLEAN                                           | boolean                                         |
 * | uint8                | INT32 / INT(8, unsigned)                          | short (Spark reads UINT_8 as ShortType; 0..255) |
 * | int16, int32, int64  | INT32 / INT(16), INT32, INT64                     | short, integer, long                            |
 * | decimal(p,s)         | DECIMAL(p,s)                                      | decimal(p,s)                                    |
 * | float32, float64     | FLOAT, DOUBLE                                     | float, double                                   |
 * | string, binary       | BYTE_ARRAY (STRING), BYTE_ARRAY                   | string, binary                                  |
 * | date                 | INT32 / DATE                                      | date                                            |
 * | timestamp(0..7)      | INT64 / TIMESTAMP(MICROS, isAdjustedToUTC=false)  | timestamp_ntz                                   |
 * | timestamptz(0..7)    | group { utc TIMESTAMP(MICROS, not adjusted), offset_minutes INT16 } | struct<utc: timestamp_ntz, offset_minutes: short> |
 * | (7 digits) companion `<col>__100ns` | INT32 / INT(8, unsigned): the 100 ns digit 0..9      | short                                           |
 * | time(d)              | BYTE_ARRAY (STRING) `HH:MM:SS.fffffff` (7 digits) | string                                          |
 * | uuid                 | BYTE_ARRAY (STRING), lowercase canonical text     | string                                          |
 *
 * Every column is declared nullable: a tombstone (`_op = 'd'`) carries only its key, so any non-key column may
 * hold NULL in the files whatever the source declares, and Delta's NOT NULL is a constraint on writers only.
 * Refusals are collected for every column at once ({@link DeltaSchemaError}); the lake keeps committing, only
 * the Delta log stops before the first window that needs the refused schema version.
 */
import { PARTITION_COLUMN } from './protocol.js';
import { EVENT_LAKE_COLUMNS, storedColumns, type LakeColumn, type SchemaDoc } from './lake-port.js';

/** A Delta data type: a primitive name (`long`, `decimal(18,2)`, `timestamp_ntz`, …) or a struct. */
export type DeltaType = string | DeltaStructType;

export interface DeltaField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface DeltaStructType {
  readonly type: 'struct';
  readonly fields: readonly DeltaField[];
}

/** A schema version that cannot be declared as a Delta schema (every problem listed, no row values). */
export class DeltaSchemaError extends Error {
  override readonly name = 'DeltaSchemaError';
  constructor(
    readonly table: string,
    readonly schemaVersion: number,
    readonly problems: readonly string[],
  ) {
    super(
      `Schema version ${schemaVersion} of ${table} cannot be published as a Delta Lake table: ${problems.join('; ')}. ` +
        'The lake itself is unaffected (windows keep committing; read them through the manifests, see ' +
        'docs/raw-layer.md); the Delta log stops before the first window written with this schema version ' +
        '(see docs/operations.md, "Delta Lake publication").',
    );
  }
}

/**
 * Characters Delta readers refuse in column names when column mapping is off (Spark: " ,;{}()\n\t=").
 * Column mapping would lift this, at the price of reader version 2+ and physical-name indirection.
 */
const INVALID_NAME_CHARS = /[ ,;{}()\n\t=]/;

const field = (name: string, type: DeltaType): DeltaField => ({ name, type, nullable: true, metadata: {} });

/** The Delta type of a lake column, or why it has none. */
function deltaTypeOf(col: LakeColumn): { type: DeltaType } | { problem: string } {
  const t = col.type;
  switch (t.kind) {
    case 'boolean':
      return { type: 'boolean' };
    case 'uint8':
    case 'int16':
      return { type: 'short' };
    case 'int32':
      return { type: 'integer' };
    case 'int64':
      return { type: 'long' };
    case 'decimal':
      return { type: `decimal(${t.precision},${t.scale})` };
    case 'float32':
      return { type: 'float' };
    case 'float64':
      return { type: 'double' };
    case 'string':
      return { type: 'string' };
    case 'binary':
      return { type: 'binary' };
    case 'date':
      return { type: 'date' };
    case 'timestamp':
      // 7 digits: microseconds here, the 100 ns digit in the `__100ns` companion column (a uint8: short).
      return { type: 'timestamp_ntz' };
    case 'timestamptz':
      return { type: { type: 'struct', fields: [field('utc', 'timestamp_ntz'), field('offset_minutes', 'short')] } };
    case 'time':
    case 'uuid':
      return { type: 'string' };
  }
}

/** The Delta schema of a schema version: event columns, the table's columns, then the partition column. */
export function deltaSchemaOf(schema: SchemaDoc): DeltaStructType {
  const problems: string[] = [];
  const fields: DeltaField[] = [];
  for (const col of storedColumns([...EVENT_LAKE_COLUMNS, ...schema.columns])) {
    if (col.name.toLowerCase() === PARTITION_COLUMN)
      problems.push(`column ${col.name} has the name of the Delta partition column ${PARTITION_COLUMN}`);
    if (INVALID_NAME_CHARS.test(col.name))
      problems.push(`column name ${JSON.stringify(col.name)} contains one of " ,;{}()\\n\\t=", which Delta refuses`);
    const mapped = deltaTypeOf(col);
    if ('problem' in mapped) problems.push(mapped.problem);
    else fields.push(field(col.name, mapped.type));
  }
  if (problems.length) throw new DeltaSchemaError(schema.table, schema.version, problems);
  fields.push(field(PARTITION_COLUMN, 'date'));
  return { type: 'struct', fields };
}

/**
 * Why `next` cannot follow `previous` in one Delta table without the `typeWidening` feature (which the readers
 * Tidemark is tested with cannot read): every earlier column must keep its name and exact Delta type. Added
 * columns are fine (older files lack them and read as NULL: "Columns present in the schema of the table MAY be
 * missing from data files. Readers SHOULD fill these missing columns in with `null`."). Lake widenings that keep
 * the Delta type (longer strings, uint8→int16, more fractional digits up to 6, NOT NULL→NULL) are fine too.
 */
export function schemaChangeProblems(previous: DeltaStructType, next: DeltaStructType): string[] {
  const problems: string[] = [];
  const byName = new Map(next.fields.map((f) => [f.name, f]));
  for (const f of previous.fields) {
    const n = byName.get(f.name);
    if (!n) problems.push(`column ${f.name} is missing from the new schema`);
    else if (JSON.stringify(n.type) !== JSON.stringify(f.type))
      problems.push(
        `column ${f.name} changes Delta type ${JSON.stringify(f.type)} → ${JSON.stringify(n.type)}: Delta allows ` +
          'that only with the typeWidening table feature, which delta-rs cannot read',
      );
  }
  return problems;
}
