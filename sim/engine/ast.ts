/** The syntax tree the parser produces and the binder consumes. Names are kept as written. */
import type { SqlType, SqlValue } from './api.js';

/** A scalar or predicate expression as written. */
export type Expr =
  | { kind: 'literal'; value: SqlValue; type: SqlType }
  | { kind: 'column'; parts: string[] }
  | { kind: 'star'; qualifier?: string[] }
  | { kind: 'variable'; name: string }
  | { kind: 'global'; name: string }
  | { kind: 'default' }
  | { kind: 'unary'; op: '-' | '+' | '~'; operand: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^'; left: Expr; right: Expr }
  | { kind: 'compare'; op: '=' | '<>' | '<' | '>' | '<=' | '>='; left: Expr; right: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'isNull'; operand: Expr; negated: boolean }
  | { kind: 'like'; operand: Expr; pattern: Expr; escape?: Expr; negated: boolean }
  | { kind: 'in'; operand: Expr; list?: Expr[]; subquery?: SelectStmt; negated: boolean }
  | { kind: 'between'; operand: Expr; low: Expr; high: Expr; negated: boolean }
  | { kind: 'exists'; subquery: SelectStmt }
  | { kind: 'subquery'; select: SelectStmt }
  | { kind: 'call'; name: string[]; args: Expr[]; distinct?: boolean; star?: boolean; over?: WindowSpec }
  | { kind: 'cast'; operand: Expr; type: SqlType; style?: Expr; fn: 'CAST' | 'CONVERT' | 'TRY_CAST' | 'TRY_CONVERT' }
  | { kind: 'case'; operand?: Expr; whens: { when: Expr; then: Expr }[]; else?: Expr };

/** OVER (PARTITION BY … ORDER BY …) of a ranking function. */
export interface WindowSpec {
  partitionBy: Expr[];
  orderBy: OrderItem[];
}

/** A common table expression. */
export interface CommonTableExpr {
  name: string;
  columns?: string[];
  select: SelectStmt;
}

/** One item of a select list. */
export interface SelectItem {
  expr: Expr;
  alias?: string;
  /** SELECT @v = expr */
  assignTo?: string;
  /** The source text of the item, for unnamed column metadata. */
  text: string;
}

/** One item of a FROM clause. */
export type TableRef =
  | { kind: 'table'; name: string[]; alias?: string; hints: string[] }
  | { kind: 'join'; type: 'inner' | 'left' | 'right' | 'full' | 'cross'; left: TableRef; right: TableRef; on?: Expr }
  | { kind: 'derived'; select: SelectStmt; alias: string; columnAliases?: string[] }
  | { kind: 'values'; rows: Expr[][]; alias: string; columnAliases: string[] }
  | { kind: 'function'; name: string[]; args: Expr[]; alias?: string; raw?: RawTableFunction };

/** CHANGETABLE(CHANGES t, @v) and similar table functions whose arguments are not plain expressions. */
export interface RawTableFunction {
  keyword: string;
  table: string[];
  args: Expr[];
  columns?: string[];
}

/** One ORDER BY item. */
export interface OrderItem {
  expr: Expr;
  desc: boolean;
}

/** A SELECT (with its UNION ALL branches, ORDER BY, OFFSET/FETCH and OPTION hints). */
export interface SelectStmt {
  kind: 'select';
  distinct: boolean;
  top?: { count: Expr; percent: boolean; withTies: boolean };
  items: SelectItem[];
  into?: string[];
  from: TableRef[];
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  orderBy: OrderItem[];
  offset?: Expr;
  fetch?: Expr;
  unionAll?: SelectStmt[];
  /** WITH name [(columns)] AS (select), …: non-recursive common table expressions visible to this statement. */
  ctes?: CommonTableExpr[];
  options: string[];
}

/** A column definition of CREATE TABLE / ALTER TABLE. */
export interface ColumnDef {
  name: string;
  type: SqlType;
  nullable?: boolean;
  identity?: { seed: bigint; increment: bigint };
  default?: Expr;
  defaultName?: string;
  primaryKey?: { name?: string; clustered: boolean };
  unique?: { name?: string };
  rowguidcol?: boolean;
}

/** A PRIMARY KEY or UNIQUE constraint. */
export interface KeyConstraint {
  kind: 'primaryKey' | 'unique';
  name?: string;
  clustered: boolean;
  columns: { name: string; desc: boolean }[];
}

/** What an ALTER TABLE does. */
export type AlterAction =
  | { kind: 'addColumns'; columns: ColumnDef[]; constraints: KeyConstraint[] }
  | { kind: 'alterColumn'; column: ColumnDef }
  | { kind: 'dropColumns'; names: string[] }
  | { kind: 'dropConstraint'; name: string }
  | { kind: 'raw'; words: string[] };

/** Any statement of the supported subset. */
export type Statement =
  | SelectStmt
  | {
      kind: 'insert';
      table: string[];
      hints: string[];
      columns?: string[];
      values?: Expr[][];
      select?: SelectStmt;
      exec?: Statement;
      defaultValues?: boolean;
      top?: Expr;
      output?: SelectItem[];
    }
  | {
      kind: 'update';
      target: TableRef;
      sets: { column: string[]; op: string; expr: Expr }[];
      from: TableRef[];
      where?: Expr;
      top?: Expr;
      options: string[];
      output?: SelectItem[];
    }
  | {
      kind: 'delete';
      target: TableRef;
      from: TableRef[];
      where?: Expr;
      top?: Expr;
      options: string[];
      output?: SelectItem[];
    }
  | { kind: 'createTable'; name: string[]; columns: ColumnDef[]; constraints: KeyConstraint[] }
  | { kind: 'dropTable'; names: string[][]; ifExists: boolean }
  | { kind: 'truncateTable'; name: string[] }
  | {
      kind: 'createIndex';
      name: string;
      unique: boolean;
      clustered: boolean;
      table: string[];
      columns: { name: string; desc: boolean }[];
      include: string[];
    }
  | { kind: 'dropIndex'; name: string; table: string[]; ifExists: boolean }
  | { kind: 'alterTable'; table: string[]; action: AlterAction }
  | { kind: 'createDatabase'; name: string }
  | { kind: 'dropDatabase'; name: string; ifExists: boolean }
  | { kind: 'alterDatabase'; name: string; words: string[] }
  | { kind: 'createSchema'; name: string }
  | { kind: 'declare'; vars: { name: string; type: SqlType; init?: Expr }[] }
  | { kind: 'setVariable'; name: string; op: string; expr: Expr }
  | { kind: 'setOption'; option: string; words: string[] }
  | { kind: 'setIsolation'; level: string }
  | { kind: 'beginTran'; name?: string }
  | { kind: 'commitTran'; name?: string }
  | { kind: 'rollbackTran'; name?: string }
  | { kind: 'saveTran'; name: string }
  | { kind: 'exec'; proc: string[]; args: { name?: string; value: Expr; output: boolean }[]; returnVar?: string }
  | { kind: 'execString'; sql: Expr }
  | { kind: 'use'; database: string }
  | { kind: 'if'; cond: Expr; then: Statement; else?: Statement }
  | { kind: 'while'; cond: Expr; body: Statement }
  | { kind: 'block'; body: Statement[] }
  | { kind: 'tryCatch'; tryBody: Statement[]; catchBody: Statement[] }
  | { kind: 'print'; expr: Expr }
  | { kind: 'throw'; number?: Expr; message?: Expr; state?: Expr }
  | { kind: 'raiserror'; message: Expr; severity: Expr; state: Expr; args: Expr[] }
  | { kind: 'waitfor'; delay: Expr }
  | { kind: 'return'; value?: Expr }
  | { kind: 'break' }
  | { kind: 'continue' }
  | {
      kind: 'createLogin' | 'createUser' | 'createRole' | 'grant' | 'deny' | 'revoke' | 'alterRole' | 'other';
      words: string[];
    };

/** A statement with the source slice it was parsed from (sys/sim views show it). */
export interface ParsedStatement {
  stmt: Statement;
  text: string;
  line: number;
}
