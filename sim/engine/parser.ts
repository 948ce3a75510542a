/**
 * A hand-written recursive-descent parser for the T-SQL subset the simulator implements (node-sql-parser was
 * measured to reject most statements of this domain). Anything outside the subset is a syntax error 102/156
 * at the first token it cannot place, as SQL Server reports, never a guess.
 */
import type { SqlType, SqlValue } from './api.js';
import type {
  AlterAction,
  CommonTableExpr,
  ColumnDef,
  Expr,
  KeyConstraint,
  OrderItem,
  ParsedStatement,
  SelectItem,
  SelectStmt,
  Statement,
  TableRef,
} from './ast.js';
import { sqlError, syntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { makeType } from './types.js';
import { dec } from './values.js';

/** T-SQL reserved keywords (the subset that matters for telling an alias from the next clause). */
const RESERVED = new Set(
  (
    'ADD ALL ALTER AND ANY AS ASC BEGIN BETWEEN BREAK BY CASCADE CASE CHECK CLOSE CLUSTERED COLLATE COLUMN COMMIT ' +
    'CONSTRAINT CONTINUE CONVERT CREATE CROSS CURRENT_TIMESTAMP CURSOR DATABASE DEALLOCATE DECLARE DEFAULT DELETE DENY ' +
    'DESC DISTINCT DROP ELSE END ESCAPE EXCEPT EXEC EXECUTE EXISTS FETCH FOR FOREIGN FROM FULL FUNCTION GOTO GRANT ' +
    'GROUP HAVING IDENTITY IDENTITY_INSERT IF IN INDEX INNER INSERT INTERSECT INTO IS JOIN KEY LEFT LIKE MERGE NOCHECK ' +
    'NONCLUSTERED NOT NULL OF OFF ON OPEN OPTION OR ORDER OUTER OVER PERCENT PIVOT PRIMARY PRINT PROC PROCEDURE ' +
    'RAISERROR REFERENCES RETURN REVOKE RIGHT ROLLBACK SAVE SELECT SET TABLE THEN TO TOP TRAN TRANSACTION TRUNCATE ' +
    'UNION UNIQUE UPDATE USE VALUES WAITFOR WHEN WHERE WHILE WITH'
  ).split(' '),
);

const STATEMENT_STARTERS = new Set(
  'SELECT INSERT UPDATE DELETE CREATE DROP ALTER DECLARE SET BEGIN COMMIT ROLLBACK SAVE EXEC EXECUTE USE IF WHILE PRINT THROW RAISERROR WAITFOR RETURN TRUNCATE GRANT DENY REVOKE BREAK CONTINUE WITH'.split(
    ' ',
  ),
);

/** Comparison operators, as the AST names them (`!=` is `<>`, `!<` is `>=`, `!>` is `<=`). */
const COMPARISONS = new Map<string, '=' | '<>' | '<' | '>' | '<=' | '>='>([
  ['=', '='],
  ['<>', '<>'],
  ['!=', '<>'],
  ['<', '<'],
  ['>', '>'],
  ['<=', '<='],
  ['>=', '>='],
  ['!<', '>='],
  ['!>', '<='],
]);
const ADDITIVE = new Set(['+', '-', '&', '|', '^']);
const MULTIPLICATIVE = new Set(['*', '/', '%']);

export function parseBatch(sql: string): ParsedStatement[] {
  return new Parser(sql).parseBatch();
}

/** Parses a single expression (used for defaults stored in the catalog and for tests). */
export function parseExpression(sql: string): Expr {
  const p = new Parser(sql);
  const e = p.expr();
  p.expectEof();
  return e;
}

/** Parses a `@p int, @q varchar(10) OUTPUT` declaration list (sp_executesql's @params). */
export function parseParamDeclarations(sql: string): { name: string; type: SqlType; output: boolean }[] {
  const p = new Parser(sql);
  return p.paramDeclarations();
}

class Parser {
  private readonly toks: Token[];
  private i = 0;

  constructor(private readonly sql: string) {
    this.toks = tokenize(sql);
  }

  // --- token helpers
  private get t(): Token {
    return this.toks[this.i] ?? (this.toks[this.toks.length - 1] as Token);
  }
  private peek(k = 1): Token {
    return this.toks[this.i + k] ?? (this.toks[this.toks.length - 1] as Token);
  }
  private isKw(word: string, tok: Token = this.t): boolean {
    return tok.kind === 'ident' && tok.up === word;
  }
  private isOp(op: string, tok: Token = this.t): boolean {
    return tok.kind === 'op' && tok.text === op;
  }
  private acceptKw(...words: string[]): boolean {
    if (words.every((w, k) => this.isKw(w, this.peek(k)))) {
      this.i += words.length;
      return true;
    }
    return false;
  }
  private acceptOp(op: string): boolean {
    if (this.isOp(op)) {
      this.i++;
      return true;
    }
    return false;
  }
  private fail(tok: Token = this.t): never {
    if (tok.kind === 'eof') {
      const prev = this.toks[Math.max(0, this.toks.length - 2)];
      throw syntaxError(
        prev ? this.tokenText(prev) : '',
        prev ? prev.kind === 'ident' && RESERVED.has(prev.text.toUpperCase()) : false,
      );
    }
    throw syntaxError(this.tokenText(tok), tok.kind === 'ident' && RESERVED.has(tok.text.toUpperCase()));
  }
  private tokenText(tok: Token): string {
    switch (tok.kind) {
      case 'string':
        return tok.text;
      case 'nstring':
        return tok.text;
      case 'qident':
        return tok.text;
      default:
        return tok.text;
    }
  }
  private expectKw(word: string): void {
    if (!this.acceptKw(word)) this.fail();
  }
  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail();
  }
  expectEof(): void {
    if (this.t.kind !== 'eof') this.fail();
  }
  /** An identifier (plain non-reserved, or quoted). */
  private ident(): string {
    const tok = this.t;
    if (tok.kind === 'qident' || (tok.kind === 'ident' && !RESERVED.has(tok.up as string))) {
      this.i++;
      return tok.text;
    }
    this.fail();
  }
  /** Any identifier including reserved words (after a dot, for option names). */
  private anyIdent(): string {
    const tok = this.t;
    if (tok.kind === 'qident' || tok.kind === 'ident') {
      this.i++;
      return tok.text;
    }
    this.fail();
  }
  private isIdentTok(tok: Token = this.t): boolean {
    return tok.kind === 'qident' || (tok.kind === 'ident' && !RESERVED.has(tok.up as string));
  }
  /** Multi-part name a.b.c.d (empty parts allowed, as in db..table). */
  private multiName(): string[] {
    const parts = [this.ident()];
    while (this.isOp('.')) {
      this.i++;
      if (this.isOp('.')) {
        parts.push('');
        continue;
      }
      parts.push(this.anyIdent());
    }
    return parts;
  }

  // --- batch
  parseBatch(): ParsedStatement[] {
    const out: ParsedStatement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      if (this.t.kind === 'eof') break;
      const start = this.t;
      const stmt = this.statement();
      const endPos = this.toks[this.i - 1];
      const end = endPos ? endPos.pos + this.rawLen(endPos) : this.sql.length;
      out.push({ stmt, text: this.sql.slice(start.pos, end), line: start.line });
    }
    return out;
  }

  /** Length of the source text of the token before the current one (quoted forms are longer than their text). */
  private rawLen(tok: Token): number {
    const next = this.toks[this.i];
    if (
      tok.kind === 'ident' ||
      tok.kind === 'number' ||
      tok.kind === 'binary' ||
      tok.kind === 'variable' ||
      tok.kind === 'global' ||
      tok.kind === 'op'
    )
      return tok.text.length;
    const limit = next ? next.pos : this.sql.length;
    return this.sql.slice(tok.pos, limit).trimEnd().length;
  }

  private statement(): Statement {
    const tok = this.t;
    if (this.isOp('(')) return this.selectStatement();
    if (tok.kind !== 'ident') this.fail();
    const kw = tok.text.toUpperCase();
    switch (kw) {
      case 'SELECT':
        return this.selectStatement();
      case 'WITH':
        return this.withCtes();
      case 'INSERT':
        return this.insert();
      case 'UPDATE':
        return this.update();
      case 'DELETE':
        return this.delete();
      case 'CREATE':
        return this.create();
      case 'DROP':
        return this.drop();
      case 'ALTER':
        return this.alter();
      case 'TRUNCATE':
        this.i++;
        this.expectKw('TABLE');
        return { kind: 'truncateTable', name: this.multiName() };
      case 'DECLARE':
        return this.declare();
      case 'SET':
        return this.set();
      case 'BEGIN':
        return this.begin();
      case 'COMMIT':
      case 'ROLLBACK': {
        this.i++;
        if (!this.acceptKw('TRANSACTION') && !this.acceptKw('TRAN')) this.acceptKw('WORK');
        const name = this.isIdentTok() || this.t.kind === 'variable' ? this.t.text : undefined;
        if (name !== undefined) this.i++;
        return kw === 'COMMIT' ? { kind: 'commitTran', name } : { kind: 'rollbackTran', name };
      }
      case 'SAVE': {
        this.i++;
        if (!this.acceptKw('TRANSACTION')) this.expectKw('TRAN');
        return { kind: 'saveTran', name: this.ident() };
      }
      case 'EXEC':
      case 'EXECUTE':
        return this.exec();
      case 'USE':
        this.i++;
        return { kind: 'use', database: this.ident() };
      case 'IF': {
        this.i++;
        const cond = this.expr();
        const then = this.statement();
        this.acceptOp(';');
        if (this.acceptKw('ELSE')) return { kind: 'if', cond, then, else: this.statement() };
        return { kind: 'if', cond, then };
      }
      case 'WHILE': {
        this.i++;
        const cond = this.expr();
        return { kind: 'while', cond, body: this.statement() };
      }
      case 'BREAK':
        this.i++;
        return { kind: 'break' };
      case 'CONTINUE':
        this.i++;
        return { kind: 'continue' };
      case 'PRINT':
        this.i++;
        return { kind: 'print', expr: this.expr() };
      case 'RETURN': {
        this.i++;
        if (
          this.t.kind === 'eof' ||
          this.isOp(';') ||
          (this.t.kind === 'ident' && STATEMENT_STARTERS.has(this.t.text.toUpperCase()))
        )
          return { kind: 'return' };
        return { kind: 'return', value: this.expr() };
      }
      case 'THROW': {
        this.i++;
        if (this.t.kind === 'eof' || this.isOp(';')) return { kind: 'throw' };
        const number = this.expr();
        this.expectOp(',');
        const message = this.expr();
        this.expectOp(',');
        return { kind: 'throw', number, message, state: this.expr() };
      }
      case 'RAISERROR': {
        this.i++;
        this.expectOp('(');
        const message = this.expr();
        this.expectOp(',');
        const severity = this.expr();
        this.expectOp(',');
        const state = this.expr();
        const args: Expr[] = [];
        while (this.acceptOp(',')) args.push(this.expr());
        this.expectOp(')');
        if (this.acceptKw('WITH')) {
          do this.anyIdent();
          while (this.acceptOp(','));
        }
        return { kind: 'raiserror', message, severity, state, args };
      }
      case 'WAITFOR': {
        this.i++;
        if (!this.acceptKw('DELAY')) this.fail();
        return { kind: 'waitfor', delay: this.expr() };
      }
      case 'GRANT':
      case 'DENY':
      case 'REVOKE':
        return { kind: kw.toLowerCase() as 'grant' | 'deny' | 'revoke', words: this.restOfStatement() };
      default:
        this.fail();
    }
  }

  /** Raw words up to the next statement boundary (for statements part 2 interprets: GRANT, CREATE LOGIN…). */
  private restOfStatement(): string[] {
    const words: string[] = [];
    let depth = 0;
    this.i++;
    while (this.t.kind !== 'eof') {
      if (this.isOp(';') && depth === 0) break;
      if (
        depth === 0 &&
        words.length > 0 &&
        this.t.kind === 'ident' &&
        STATEMENT_STARTERS.has(this.t.text.toUpperCase()) &&
        !['WITH', 'SET', 'EXEC', 'EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'ALTER', 'CREATE', 'DROP'].includes(
          this.t.text.toUpperCase(),
        )
      )
        break;
      if (this.isOp('(')) depth++;
      if (this.isOp(')')) depth--;
      const tok = this.t;
      words.push(tok.kind === 'string' || tok.kind === 'nstring' ? `'${tok.text}'` : tok.text);
      this.i++;
    }
    return words;
  }

  /** WITH a [(cols)] AS (SELECT …), … followed by SELECT or INSERT … SELECT. */
  private withCtes(): Statement {
    this.expectKw('WITH');
    const ctes: CommonTableExpr[] = [];
    do {
      const name = this.ident();
      let columns: string[] | undefined;
      if (this.acceptOp('(')) {
        columns = [];
        do columns.push(this.ident());
        while (this.acceptOp(','));
        this.expectOp(')');
      }
      this.expectKw('AS');
      this.expectOp('(');
      const select = this.selectStatement();
      this.expectOp(')');
      ctes.push({ name, columns, select });
    } while (this.acceptOp(','));
    if (this.isKw('SELECT') || this.isOp('(')) {
      const s = this.selectStatement();
      s.ctes = ctes;
      return s;
    }
    if (this.isKw('INSERT')) {
      const ins = this.insert();
      if (ins.kind === 'insert' && ins.select) {
        ins.select.ctes = ctes;
        return ins;
      }
    }
    throw sqlError(40517, 'WITH before UPDATE, DELETE or MERGE');
  }

  // --- SELECT
  private selectStatement(): SelectStmt {
    const first = this.selectCore();
    if (this.isKw('UNION')) {
      first.unionAll = [];
      while (this.acceptKw('UNION')) {
        if (!this.acceptKw('ALL')) throw sqlError(40517, 'UNION without ALL');
        first.unionAll.push(this.selectCore());
      }
    }
    this.orderAndOptions(first);
    return first;
  }

  private selectCore(): SelectStmt {
    if (this.acceptOp('(')) {
      const inner = this.selectStatement();
      this.expectOp(')');
      return inner;
    }
    this.expectKw('SELECT');
    const s: SelectStmt = {
      kind: 'select',
      distinct: false,
      items: [],
      from: [],
      groupBy: [],
      orderBy: [],
      options: [],
    };
    if (this.acceptKw('DISTINCT')) s.distinct = true;
    else this.acceptKw('ALL');
    if (this.acceptKw('TOP')) {
      let count: Expr;
      if (this.acceptOp('(')) {
        count = this.expr();
        this.expectOp(')');
      } else {
        count = this.primary();
      }
      const percent = this.acceptKw('PERCENT');
      const withTies = this.acceptKw('WITH', 'TIES');
      s.top = { count, percent, withTies };
    }
    do s.items.push(this.selectItem());
    while (this.acceptOp(','));
    if (this.acceptKw('INTO')) s.into = this.multiName();
    if (this.acceptKw('FROM')) s.from = this.fromList();
    if (this.acceptKw('WHERE')) s.where = this.expr();
    if (this.acceptKw('GROUP', 'BY')) {
      do s.groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    if (this.acceptKw('HAVING')) s.having = this.expr();
    return s;
  }

  private orderAndOptions(s: SelectStmt): void {
    if (this.acceptKw('ORDER', 'BY')) {
      do s.orderBy.push(this.orderItem());
      while (this.acceptOp(','));
      if (this.acceptKw('OFFSET')) {
        s.offset = this.expr();
        if (!this.acceptKw('ROWS')) this.expectKw('ROW');
        if (this.acceptKw('FETCH')) {
          if (!this.acceptKw('NEXT')) this.expectKw('FIRST');
          s.fetch = this.expr();
          if (!this.acceptKw('ROWS')) this.expectKw('ROW');
          this.expectKw('ONLY');
        }
      }
    }
    this.queryOptions(s.options);
  }

  private queryOptions(into: string[]): void {
    if (this.acceptKw('OPTION')) {
      this.expectOp('(');
      do {
        const words: string[] = [];
        while (!this.isOp(',') && !this.isOp(')') && this.t.kind !== 'eof') {
          words.push(this.t.text.toUpperCase());
          this.i++;
        }
        const opt = words.join(' ');
        if (
          !/^(MAXDOP \d+|RECOMPILE|FAST \d+|OPTIMIZE FOR UNKNOWN|LOOP JOIN|HASH JOIN|MERGE JOIN|FORCE ORDER|KEEPFIXED PLAN|KEEP PLAN)$/.test(
            opt,
          )
        )
          this.fail(this.toks[this.i - words.length] ?? this.t);
        into.push(opt);
      } while (this.acceptOp(','));
      this.expectOp(')');
    }
  }

  private orderItem(): OrderItem {
    const expr = this.expr();
    if (this.acceptKw('DESC')) return { expr, desc: true };
    this.acceptKw('ASC');
    return { expr, desc: false };
  }

  private selectItem(): SelectItem {
    const start = this.t.pos;
    // SELECT @v = expr
    if (
      this.t.kind === 'variable' &&
      this.peek().kind === 'op' &&
      ['=', '+=', '-=', '*=', '/='].includes(this.peek().text)
    ) {
      const name = this.t.text;
      this.i += 1;
      const op = this.t.text;
      this.i++;
      let expr = this.expr();
      if (op !== '=') expr = { kind: 'binary', op: op[0] as '+', left: { kind: 'variable', name }, right: expr };
      return { expr, assignTo: name, text: this.sql.slice(start, this.t.pos).trim() };
    }
    // alias = expr
    if (
      (this.t.kind === 'ident' || this.t.kind === 'qident' || this.t.kind === 'string') &&
      this.isOp('=', this.peek()) &&
      !RESERVED.has(this.t.text.toUpperCase())
    ) {
      const alias = this.t.text;
      this.i += 2;
      const expr = this.expr();
      return { expr, alias, text: alias };
    }
    if (this.isOp('*')) {
      this.i++;
      return { expr: { kind: 'star' }, text: '*' };
    }
    // t.* / s.t.*
    if (this.isIdentTok()) {
      let k = 0;
      while (this.isIdentTok(this.peek(k)) && this.isOp('.', this.peek(k + 1))) {
        if (this.isOp('*', this.peek(k + 2))) {
          const qualifier: string[] = [];
          for (let j = 0; j <= k; j += 2) qualifier.push(this.peek(j).text);
          this.i += k + 3;
          return { expr: { kind: 'star', qualifier }, text: '*' };
        }
        k += 2;
      }
    }
    const expr = this.expr();
    const text = this.sql.slice(start, this.t.pos).trim();
    if (this.acceptKw('AS')) {
      const tok = this.t;
      if (tok.kind === 'string' || tok.kind === 'nstring') {
        this.i++;
        return { expr, alias: tok.text, text };
      }
      return { expr, alias: this.ident(), text };
    }
    if (this.isIdentTok() || this.t.kind === 'string') {
      const alias = this.t.text;
      this.i++;
      return { expr, alias, text };
    }
    return { expr, text };
  }

  private fromList(): TableRef[] {
    const out: TableRef[] = [];
    do out.push(this.joinedTable());
    while (this.acceptOp(','));
    return out;
  }

  private joinedTable(): TableRef {
    let left = this.tablePrimary();
    for (;;) {
      let type: 'inner' | 'left' | 'right' | 'full' | 'cross' | undefined;
      if (this.acceptKw('JOIN') || this.acceptKw('INNER', 'JOIN')) type = 'inner';
      else if (this.acceptKw('LEFT', 'OUTER', 'JOIN') || this.acceptKw('LEFT', 'JOIN')) type = 'left';
      else if (this.acceptKw('RIGHT', 'OUTER', 'JOIN') || this.acceptKw('RIGHT', 'JOIN')) type = 'right';
      else if (this.acceptKw('FULL', 'OUTER', 'JOIN') || this.acceptKw('FULL', 'JOIN')) type = 'full';
      else if (this.acceptKw('CROSS', 'JOIN')) type = 'cross';
      else if (this.isKw('CROSS') || this.isKw('OUTER')) throw sqlError(40517, 'APPLY');
      if (!type) return left;
      const right = this.tablePrimary();
      if (type === 'cross') {
        left = { kind: 'join', type, left, right };
        continue;
      }
      this.expectKw('ON');
      left = { kind: 'join', type, left, right, on: this.expr() };
    }
  }

  private tableAlias(): string | undefined {
    if (this.acceptKw('AS')) return this.ident();
    if (this.isIdentTok()) {
      const up = this.t.text.toUpperCase();
      if (this.t.kind === 'ident' && (up === 'OFFSET' || up === 'FETCH')) return undefined;
      return this.ident();
    }
    return undefined;
  }

  private tablePrimary(): TableRef {
    if (this.acceptOp('(')) {
      if (this.acceptKw('VALUES')) {
        // Table value constructor: (VALUES (…), (…)) AS alias (columns)
        const rows: Expr[][] = [];
        do {
          this.expectOp('(');
          const row: Expr[] = [];
          do row.push(this.expr());
          while (this.acceptOp(','));
          this.expectOp(')');
          rows.push(row);
        } while (this.acceptOp(','));
        this.expectOp(')');
        const alias = this.tableAlias();
        if (!alias) this.fail();
        const columnAliases: string[] = [];
        this.expectOp('(');
        do columnAliases.push(this.ident());
        while (this.acceptOp(','));
        this.expectOp(')');
        return { kind: 'values', rows, alias, columnAliases };
      }
      if (this.isKw('SELECT') || this.isOp('(')) {
        const select = this.selectStatement();
        this.expectOp(')');
        const alias = this.tableAlias();
        if (!alias) this.fail();
        let columnAliases: string[] | undefined;
        if (this.acceptOp('(')) {
          columnAliases = [];
          do columnAliases.push(this.ident());
          while (this.acceptOp(','));
          this.expectOp(')');
        }
        return { kind: 'derived', select, alias, columnAliases };
      }
      const inner = this.joinedTable();
      this.expectOp(')');
      return inner;
    }
    if (this.isKw('CHANGETABLE')) {
      this.i++;
      this.expectOp('(');
      const keyword = this.anyIdent().toUpperCase();
      const table = this.multiName();
      const args: Expr[] = [];
      let columns: string[] | undefined;
      if (keyword === 'VERSION') {
        this.expectOp(',');
        this.expectOp('(');
        columns = [];
        do columns.push(this.ident());
        while (this.acceptOp(','));
        this.expectOp(')');
        this.expectOp(',');
        this.expectOp('(');
        do args.push(this.expr());
        while (this.acceptOp(','));
        this.expectOp(')');
      } else {
        while (this.acceptOp(',')) args.push(this.expr());
      }
      this.expectOp(')');
      return {
        kind: 'function',
        name: ['CHANGETABLE'],
        args,
        alias: this.tableAlias(),
        raw: { keyword, table, args, columns },
      };
    }
    const name = this.multiName();
    if (this.acceptOp('(')) {
      const args: Expr[] = [];
      if (!this.isOp(')')) {
        do args.push(this.expr());
        while (this.acceptOp(','));
      }
      this.expectOp(')');
      return { kind: 'function', name, args, alias: this.tableAlias() };
    }
    const alias = this.tableAlias();
    const hints = this.tableHints();
    return { kind: 'table', name, alias, hints };
  }

  private tableHints(): string[] {
    const hints: string[] = [];
    if (this.isKw('WITH') && this.isOp('(', this.peek())) {
      this.i += 2;
      do {
        const h = this.anyIdent().toUpperCase();
        if (h === 'INDEX') {
          if (this.acceptOp('(')) {
            while (!this.isOp(')')) this.i++;
            this.i++;
          } else {
            this.expectOp('=');
            this.i++;
          }
        }
        if (!KNOWN_HINTS.has(h)) throw sqlError(321, h);
        hints.push(h);
      } while (this.acceptOp(',') || (this.t.kind === 'ident' && KNOWN_HINTS.has(this.t.text.toUpperCase())));
      this.expectOp(')');
    } else if (
      this.isOp('(') &&
      this.t.kind === 'op' &&
      this.peek().kind === 'ident' &&
      KNOWN_HINTS.has(this.peek().text.toUpperCase())
    ) {
      // Legacy hint form without WITH: (NOLOCK)
      this.i++;
      do hints.push(this.anyIdent().toUpperCase());
      while (this.acceptOp(','));
      this.expectOp(')');
    }
    return hints;
  }

  // --- DML
  private insert(): Statement {
    this.expectKw('INSERT');
    let top: Expr | undefined;
    if (this.acceptKw('TOP')) {
      this.expectOp('(');
      top = this.expr();
      this.expectOp(')');
    }
    this.acceptKw('INTO');
    const table = this.multiName();
    const hints = this.tableHints();
    let columns: string[] | undefined;
    if (this.isOp('(') && !this.isKw('SELECT', this.peek())) {
      this.i++;
      columns = [];
      do columns.push(this.ident());
      while (this.acceptOp(','));
      this.expectOp(')');
    }
    const output = this.outputClause();
    if (this.acceptKw('DEFAULT', 'VALUES'))
      return { kind: 'insert', table, hints, columns, defaultValues: true, top, output };
    if (this.acceptKw('VALUES')) {
      const values: Expr[][] = [];
      do {
        this.expectOp('(');
        const row: Expr[] = [];
        do row.push(this.isKw('DEFAULT') ? (this.i++, { kind: 'default' as const }) : this.expr());
        while (this.acceptOp(','));
        this.expectOp(')');
        values.push(row);
      } while (this.acceptOp(','));
      return { kind: 'insert', table, hints, columns, values, top, output };
    }
    if (this.isKw('SELECT') || this.isOp('('))
      return { kind: 'insert', table, hints, columns, select: this.selectStatement(), top, output };
    if (this.isKw('EXEC') || this.isKw('EXECUTE'))
      return { kind: 'insert', table, hints, columns, exec: this.exec(), top, output };
    this.fail();
  }

  /** OUTPUT inserted.…, deleted.… (a result set; OUTPUT … INTO is not supported). */
  private outputClause(): SelectItem[] | undefined {
    if (!this.acceptKw('OUTPUT')) return undefined;
    const items: SelectItem[] = [];
    do items.push(this.selectItem());
    while (this.acceptOp(','));
    if (this.isKw('INTO')) throw sqlError(40517, 'OUTPUT … INTO');
    return items;
  }

  private update(): Statement {
    this.expectKw('UPDATE');
    let top: Expr | undefined;
    if (this.acceptKw('TOP')) {
      this.expectOp('(');
      top = this.expr();
      this.expectOp(')');
    }
    const name = this.multiName();
    const hints = this.tableHints();
    const target: TableRef = { kind: 'table', name, hints };
    this.expectKw('SET');
    const sets: { column: string[]; op: string; expr: Expr }[] = [];
    do {
      if (this.t.kind === 'variable') throw sqlError(40517, 'UPDATE SET @variable');
      const column = this.multiName();
      const opTok = this.t;
      if (opTok.kind !== 'op' || !['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^='].includes(opTok.text))
        this.fail();
      this.i++;
      const expr = this.isKw('DEFAULT') ? (this.i++, { kind: 'default' as const }) : this.expr();
      sets.push({ column, op: opTok.text, expr });
    } while (this.acceptOp(','));
    const output = this.outputClause();
    const from = this.acceptKw('FROM') ? this.fromList() : [];
    const where = this.acceptKw('WHERE') ? this.expr() : undefined;
    const options: string[] = [];
    this.queryOptions(options);
    return { kind: 'update', target, sets, from, where, top, options, output };
  }

  private delete(): Statement {
    this.expectKw('DELETE');
    let top: Expr | undefined;
    if (this.acceptKw('TOP')) {
      this.expectOp('(');
      top = this.expr();
      this.expectOp(')');
    }
    this.acceptKw('FROM');
    const name = this.multiName();
    const alias =
      this.isKw('FROM') || this.isKw('WHERE') || this.isKw('WITH') || this.isKw('OPTION') || this.isKw('OUTPUT')
        ? undefined
        : this.tableAlias();
    const hints = this.tableHints();
    const target: TableRef = { kind: 'table', name, alias, hints };
    const output = this.outputClause();
    const from = this.acceptKw('FROM') ? this.fromList() : [];
    const where = this.acceptKw('WHERE') ? this.expr() : undefined;
    const options: string[] = [];
    this.queryOptions(options);
    return { kind: 'delete', target, from, where, top, options, output };
  }

  // --- DDL
  private create(): Statement {
    this.expectKw('CREATE');
    if (this.acceptKw('TABLE')) return this.createTable();
    if (this.acceptKw('DATABASE')) return { kind: 'createDatabase', name: this.ident() };
    if (this.acceptKw('SCHEMA')) {
      const name = this.ident();
      if (this.acceptKw('AUTHORIZATION')) this.ident();
      return { kind: 'createSchema', name };
    }
    const unique = this.acceptKw('UNIQUE');
    let clustered = false;
    if (this.acceptKw('CLUSTERED')) clustered = true;
    else this.acceptKw('NONCLUSTERED');
    if (this.acceptKw('INDEX')) {
      const name = this.ident();
      this.expectKw('ON');
      const table = this.multiName();
      this.expectOp('(');
      const columns: { name: string; desc: boolean }[] = [];
      do {
        const col = this.ident();
        const desc = this.acceptKw('DESC');
        if (!desc) this.acceptKw('ASC');
        columns.push({ name: col, desc });
      } while (this.acceptOp(','));
      this.expectOp(')');
      const include: string[] = [];
      if (this.acceptKw('INCLUDE')) {
        this.expectOp('(');
        do include.push(this.ident());
        while (this.acceptOp(','));
        this.expectOp(')');
      }
      if (this.acceptKw('WHERE')) throw sqlError(40517, 'filtered index');
      if (this.acceptKw('WITH')) this.skipParens();
      if (this.acceptKw('ON')) this.ident();
      return { kind: 'createIndex', name, unique, clustered, table, columns, include };
    }
    if (unique || clustered) this.fail();
    if (this.isKw('LOGIN') || this.isKw('USER') || this.isKw('ROLE')) {
      const kind = ('create' + this.t.text[0]?.toUpperCase() + this.t.text.slice(1).toLowerCase()) as
        'createLogin' | 'createUser' | 'createRole';
      return { kind, words: this.restOfStatement() };
    }
    if (
      this.isKw('PROCEDURE') ||
      this.isKw('PROC') ||
      this.isKw('FUNCTION') ||
      this.isKw('VIEW') ||
      this.isKw('TRIGGER')
    )
      throw sqlError(40517, `CREATE ${this.t.text.toUpperCase()}`);
    this.fail();
  }

  private skipParens(): void {
    this.expectOp('(');
    let depth = 1;
    while (depth > 0 && this.t.kind !== 'eof') {
      if (this.isOp('(')) depth++;
      if (this.isOp(')')) depth--;
      this.i++;
    }
  }

  private createTable(): Statement {
    const name = this.multiName();
    this.expectOp('(');
    const columns: ColumnDef[] = [];
    const constraints: KeyConstraint[] = [];
    do {
      if (this.isKw('CONSTRAINT') || this.isKw('PRIMARY') || this.isKw('UNIQUE') || this.isKw('INDEX'))
        constraints.push(this.tableConstraint());
      else columns.push(this.columnDef());
    } while (this.acceptOp(','));
    this.expectOp(')');
    if (this.acceptKw('ON')) this.anyIdent();
    if (this.acceptKw('WITH')) this.skipParens();
    return { kind: 'createTable', name, columns, constraints };
  }

  private tableConstraint(): KeyConstraint {
    let name: string | undefined;
    if (this.acceptKw('CONSTRAINT')) name = this.ident();
    let kind: 'primaryKey' | 'unique';
    if (this.acceptKw('PRIMARY', 'KEY')) kind = 'primaryKey';
    else if (this.acceptKw('UNIQUE')) kind = 'unique';
    else if (this.isKw('FOREIGN') || this.isKw('CHECK'))
      throw sqlError(40517, `${this.t.text.toUpperCase()} constraint`);
    else this.fail();
    let clustered = kind === 'primaryKey';
    if (this.acceptKw('CLUSTERED')) clustered = true;
    else if (this.acceptKw('NONCLUSTERED')) clustered = false;
    this.expectOp('(');
    const columns: { name: string; desc: boolean }[] = [];
    do {
      const col = this.ident();
      const desc = this.acceptKw('DESC');
      if (!desc) this.acceptKw('ASC');
      columns.push({ name: col, desc });
    } while (this.acceptOp(','));
    this.expectOp(')');
    if (this.acceptKw('WITH')) this.skipParens();
    if (this.acceptKw('ON')) this.anyIdent();
    return { kind, name, clustered, columns };
  }

  private dataType(): SqlType {
    const nameTok = this.t;
    if (nameTok.kind !== 'ident' && nameTok.kind !== 'qident') this.fail();
    this.i++;
    let name = nameTok.text;
    if (this.isOp('.')) {
      // sys.int / dbo.type
      this.i++;
      name = this.anyIdent();
    }
    if (name.toUpperCase() === 'DOUBLE' && this.acceptKw('PRECISION')) name = 'float';
    if ((name.toUpperCase() === 'CHARACTER' || name.toUpperCase() === 'CHAR') && this.acceptKw('VARYING'))
      name = 'varchar';
    const args: (number | 'max')[] = [];
    if (this.acceptOp('(')) {
      do {
        if (this.acceptKw('MAX')) args.push('max');
        else if (this.t.kind === 'number') {
          args.push(Number(this.t.text));
          this.i++;
        } else this.fail();
      } while (this.acceptOp(','));
      this.expectOp(')');
    }
    if (
      [
        'TEXT',
        'NTEXT',
        'IMAGE',
        'XML',
        'SQL_VARIANT',
        'GEOGRAPHY',
        'GEOMETRY',
        'HIERARCHYID',
        'CURSOR',
        'TABLE',
      ].includes(name.toUpperCase())
    )
      throw sqlError(40517, `data type ${name}`);
    return makeType(name, args);
  }

  /** CAST/CONVERT target: a string or binary type written without a length means 30, not 1. */
  private castType(): SqlType {
    const hasArgs = this.isOp('(', this.peek());
    const t = this.dataType();
    if (!hasArgs && ['char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary'].includes(t.name) && t.length === 1)
      return { ...t, length: 30 };
    return t;
  }

  private columnDef(): ColumnDef {
    const name = this.ident();
    if (this.acceptKw('AS')) throw sqlError(40517, 'computed column');
    const col: ColumnDef = { name, type: this.dataType() };
    for (;;) {
      if (this.acceptKw('NOT', 'NULL')) col.nullable = false;
      else if (this.acceptKw('NULL')) col.nullable = true;
      else if (this.acceptKw('IDENTITY')) {
        let seed = 1n;
        let increment = 1n;
        if (this.acceptOp('(')) {
          seed = this.signedInt();
          this.expectOp(',');
          increment = this.signedInt();
          this.expectOp(')');
        }
        col.identity = { seed, increment };
      } else if (this.acceptKw('COLLATE')) this.anyIdent();
      else if (this.acceptKw('ROWGUIDCOL')) col.rowguidcol = true;
      else if (this.acceptKw('SPARSE')) continue;
      else if (this.isKw('CONSTRAINT') || this.isKw('DEFAULT') || this.isKw('PRIMARY') || this.isKw('UNIQUE')) {
        let cname: string | undefined;
        if (this.acceptKw('CONSTRAINT')) cname = this.ident();
        if (this.acceptKw('DEFAULT')) {
          col.default = this.expr();
          col.defaultName = cname;
        } else if (this.acceptKw('PRIMARY', 'KEY')) {
          let clustered = true;
          if (this.acceptKw('NONCLUSTERED')) clustered = false;
          else this.acceptKw('CLUSTERED');
          col.primaryKey = { name: cname, clustered };
        } else if (this.acceptKw('UNIQUE')) {
          if (!this.acceptKw('CLUSTERED')) this.acceptKw('NONCLUSTERED');
          col.unique = { name: cname };
        } else if (this.isKw('CHECK') || this.isKw('FOREIGN') || this.isKw('REFERENCES'))
          throw sqlError(40517, `${this.t.text.toUpperCase()} constraint`);
        else this.fail();
      } else if (this.isKw('CHECK') || this.isKw('REFERENCES') || this.isKw('FOREIGN'))
        throw sqlError(40517, `${this.t.text.toUpperCase()} constraint`);
      else break;
    }
    return col;
  }

  private signedInt(): bigint {
    const neg = this.acceptOp('-');
    if (!neg) this.acceptOp('+');
    if (this.t.kind !== 'number' || !/^\d+$/.test(this.t.text)) this.fail();
    const v = BigInt(this.t.text);
    this.i++;
    return neg ? -v : v;
  }

  private drop(): Statement {
    this.expectKw('DROP');
    if (this.acceptKw('TABLE')) {
      const ifExists = this.acceptKw('IF', 'EXISTS');
      const names: string[][] = [];
      do names.push(this.multiName());
      while (this.acceptOp(','));
      return { kind: 'dropTable', names, ifExists };
    }
    if (this.acceptKw('INDEX')) {
      const ifExists = this.acceptKw('IF', 'EXISTS');
      const first = this.multiName();
      if (this.acceptKw('ON')) return { kind: 'dropIndex', name: first[0] ?? '', table: this.multiName(), ifExists };
      const name = first.pop() ?? '';
      return { kind: 'dropIndex', name, table: first, ifExists };
    }
    if (this.acceptKw('DATABASE')) {
      const ifExists = this.acceptKw('IF', 'EXISTS');
      return { kind: 'dropDatabase', name: this.ident(), ifExists };
    }
    if (this.isKw('LOGIN') || this.isKw('USER') || this.isKw('ROLE') || this.isKw('SCHEMA'))
      return { kind: 'other', words: ['DROP', ...this.restOfStatement()] };
    this.fail();
  }

  private alter(): Statement {
    this.expectKw('ALTER');
    if (this.acceptKw('TABLE')) {
      const table = this.multiName();
      return { kind: 'alterTable', table, action: this.alterAction() };
    }
    if (this.acceptKw('DATABASE')) {
      const name = this.acceptKw('CURRENT') ? '' : this.ident();
      const words: string[] = [];
      while (this.t.kind !== 'eof' && !this.isOp(';')) {
        const tok = this.t;
        if (
          words.length > 0 &&
          tok.kind === 'ident' &&
          STATEMENT_STARTERS.has(tok.text.toUpperCase()) &&
          !['SET', 'WITH'].includes(tok.text.toUpperCase())
        )
          break;
        words.push(tok.kind === 'op' ? tok.text : tok.text.toUpperCase());
        this.i++;
      }
      return { kind: 'alterDatabase', name, words };
    }
    if (this.isKw('ROLE') || this.isKw('LOGIN') || this.isKw('USER') || this.isKw('AUTHORIZATION'))
      return { kind: 'alterRole', words: this.restOfStatement() };
    this.fail();
  }

  private alterAction(): AlterAction {
    if (this.acceptKw('ADD')) {
      const columns: ColumnDef[] = [];
      const constraints: KeyConstraint[] = [];
      do {
        if (this.isKw('CONSTRAINT') || this.isKw('PRIMARY') || this.isKw('UNIQUE'))
          constraints.push(this.tableConstraint());
        else columns.push(this.columnDef());
      } while (this.acceptOp(','));
      return { kind: 'addColumns', columns, constraints };
    }
    if (this.acceptKw('ALTER', 'COLUMN')) {
      const name = this.ident();
      const col: ColumnDef = { name, type: this.dataType() };
      if (this.acceptKw('COLLATE')) this.anyIdent();
      if (this.acceptKw('NOT', 'NULL')) col.nullable = false;
      else if (this.acceptKw('NULL')) col.nullable = true;
      return { kind: 'alterColumn', column: col };
    }
    if (this.acceptKw('DROP')) {
      if (this.acceptKw('CONSTRAINT')) return { kind: 'dropConstraint', name: this.ident() };
      this.acceptKw('COLUMN');
      this.acceptKw('IF', 'EXISTS');
      const names: string[] = [];
      do names.push(this.ident());
      while (this.acceptOp(','));
      return { kind: 'dropColumns', names };
    }
    const words: string[] = [];
    while (this.t.kind !== 'eof' && !this.isOp(';')) {
      const tok = this.t;
      if (
        words.length > 1 &&
        tok.kind === 'ident' &&
        STATEMENT_STARTERS.has(tok.text.toUpperCase()) &&
        tok.text.toUpperCase() !== 'WITH'
      )
        break;
      words.push(tok.kind === 'op' ? tok.text : tok.text.toUpperCase());
      this.i++;
    }
    return { kind: 'raw', words };
  }

  // --- variables, SET, transactions, EXEC
  private declare(): Statement {
    this.expectKw('DECLARE');
    const vars: { name: string; type: SqlType; init?: Expr }[] = [];
    do {
      if (this.t.kind !== 'variable') this.fail();
      const name = this.t.text;
      this.i++;
      this.acceptKw('AS');
      if (this.isKw('TABLE')) throw sqlError(40517, 'table variables');
      const type = this.dataType();
      const init = this.acceptOp('=') ? this.expr() : undefined;
      vars.push({ name, type, init });
    } while (this.acceptOp(','));
    return { kind: 'declare', vars };
  }

  paramDeclarations(): { name: string; type: SqlType; output: boolean }[] {
    const out: { name: string; type: SqlType; output: boolean }[] = [];
    if (this.t.kind === 'eof') return out;
    do {
      if (this.t.kind !== 'variable') this.fail();
      const name = this.t.text;
      this.i++;
      this.acceptKw('AS');
      const type = this.dataType();
      if (this.acceptOp('=')) this.primary();
      const output = this.acceptKw('OUTPUT') || this.acceptKw('OUT');
      this.acceptKw('READONLY');
      out.push({ name, type, output });
    } while (this.acceptOp(','));
    this.expectEof();
    return out;
  }

  private set(): Statement {
    this.expectKw('SET');
    if (this.t.kind === 'variable') {
      const name = this.t.text;
      this.i++;
      const opTok = this.t;
      if (opTok.kind !== 'op' || !['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^='].includes(opTok.text))
        this.fail();
      this.i++;
      return { kind: 'setVariable', name, op: opTok.text, expr: this.expr() };
    }
    if (this.acceptKw('TRANSACTION', 'ISOLATION', 'LEVEL')) {
      const words: string[] = [];
      while (
        this.t.kind === 'ident' &&
        ['READ', 'UNCOMMITTED', 'COMMITTED', 'REPEATABLE', 'SERIALIZABLE', 'SNAPSHOT'].includes(
          this.t.text.toUpperCase(),
        )
      ) {
        words.push(this.t.text.toUpperCase());
        this.i++;
      }
      const level = words.join(' ');
      if (!['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE', 'SNAPSHOT'].includes(level))
        this.fail();
      return { kind: 'setIsolation', level };
    }
    const optTok = this.t;
    if (optTok.kind !== 'ident') this.fail();
    const options: string[] = [optTok.text.toUpperCase()];
    this.i++;
    while (this.acceptOp(',')) options.push(this.anyIdent().toUpperCase());
    const words: string[] = [];
    if (options[0] === 'IDENTITY_INSERT') {
      const tname = this.multiName();
      words.push(tname.join('.'));
    }
    while (this.t.kind !== 'eof' && !this.isOp(';')) {
      const tok = this.t;
      if (words.length > 0 && tok.kind === 'ident' && STATEMENT_STARTERS.has(tok.text.toUpperCase())) break;
      if (tok.kind === 'ident' && STATEMENT_STARTERS.has(tok.text.toUpperCase())) break;
      words.push(
        tok.kind === 'op'
          ? tok.text
          : tok.kind === 'string' || tok.kind === 'nstring'
            ? tok.text
            : tok.text.toUpperCase(),
      );
      this.i++;
      if (words.length >= 2 && options[0] !== 'IDENTITY_INSERT') break;
      if (words.length === 1 && ['ON', 'OFF'].includes(words[0] ?? '') && options[0] !== 'IDENTITY_INSERT') break;
      if (options[0] === 'IDENTITY_INSERT' && words.length >= 2) break;
    }
    if (words.length === 0) this.fail();
    return { kind: 'setOption', option: options.join(','), words };
  }

  private begin(): Statement {
    this.expectKw('BEGIN');
    if (this.acceptKw('TRANSACTION') || this.acceptKw('TRAN')) {
      let name: string | undefined;
      if (this.isIdentTok() || this.t.kind === 'variable') {
        name = this.t.text;
        this.i++;
      }
      if (this.acceptKw('WITH')) {
        this.expectKw('MARK');
        if (this.t.kind === 'string' || this.t.kind === 'nstring') this.i++;
      }
      return { kind: 'beginTran', name };
    }
    if (this.acceptKw('TRY')) {
      const tryBody = this.blockUntil('TRY');
      this.acceptOp(';');
      if (!this.acceptKw('BEGIN', 'CATCH')) this.fail();
      const catchBody = this.blockUntil('CATCH');
      return { kind: 'tryCatch', tryBody, catchBody };
    }
    if (this.isKw('DISTRIBUTED') || this.isKw('CATCH')) throw sqlError(40517, `BEGIN ${this.t.text.toUpperCase()}`);
    const body: Statement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      if (this.acceptKw('END')) break;
      if (this.t.kind === 'eof') this.fail();
      body.push(this.statement());
    }
    return { kind: 'block', body };
  }

  /** Statements up to END <word> (TRY/CATCH blocks). */
  private blockUntil(word: string): Statement[] {
    const body: Statement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      if (this.acceptKw('END', word)) return body;
      if (this.t.kind === 'eof') this.fail();
      body.push(this.statement());
    }
  }

  private exec(): Statement {
    this.i++; // EXEC / EXECUTE
    if (this.acceptOp('(')) {
      const sql = this.expr();
      this.expectOp(')');
      return { kind: 'execString', sql };
    }
    let returnVar: string | undefined;
    if (this.t.kind === 'variable' && this.isOp('=', this.peek())) {
      returnVar = this.t.text;
      this.i += 2;
    }
    const proc = this.multiName();
    const args: { name?: string; value: Expr; output: boolean }[] = [];
    if (
      this.t.kind !== 'eof' &&
      !this.isOp(';') &&
      !(this.t.kind === 'ident' && STATEMENT_STARTERS.has(this.t.text.toUpperCase()))
    ) {
      do {
        let name: string | undefined;
        if (this.t.kind === 'variable' && this.isOp('=', this.peek())) {
          name = this.t.text;
          this.i += 2;
        }
        let value: Expr;
        if (this.isKw('DEFAULT')) {
          this.i++;
          value = { kind: 'default' };
        } else if (
          this.t.kind === 'ident' &&
          !RESERVED.has(this.t.text.toUpperCase()) &&
          !this.isOp('(', this.peek()) &&
          !this.isOp('.', this.peek())
        ) {
          // EXEC p bareword: a bare identifier is a string argument.
          value = {
            kind: 'literal',
            value: this.t.text,
            type: { name: 'nvarchar', length: Math.max(1, this.t.text.length) },
          };
          this.i++;
        } else value = this.expr();
        const output = this.acceptKw('OUTPUT') || this.acceptKw('OUT');
        args.push({ name, value, output });
      } while (this.acceptOp(','));
    }
    return { kind: 'exec', proc, args, returnVar };
  }

  // --- expressions (precedence: OR < AND < NOT < comparison/predicates < + - & | ^ < * / % < unary)
  expr(): Expr {
    // A lone constant (a VALUES list is mostly these): nothing can follow it as part of this expression when a
    // `,` or `)` comes next, so the nine levels of precedence below would return primary()'s literal unchanged.
    const k = this.t.kind;
    if ((k === 'number' || k === 'string' || k === 'nstring') && this.endsOperand(this.peek())) return this.primary();
    return this.orExpr();
  }

  private endsOperand(tok: Token): boolean {
    return tok.kind === 'op' && (tok.text === ',' || tok.text === ')');
  }

  private orExpr(): Expr {
    let left = this.andExpr();
    while (this.acceptKw('OR')) left = { kind: 'or', left, right: this.andExpr() };
    return left;
  }

  private andExpr(): Expr {
    let left = this.notExpr();
    while (this.acceptKw('AND')) left = { kind: 'and', left, right: this.notExpr() };
    return left;
  }

  private notExpr(): Expr {
    if (this.acceptKw('NOT')) return { kind: 'not', operand: this.notExpr() };
    return this.predicate();
  }

  private predicate(): Expr {
    if (this.acceptKw('EXISTS')) {
      this.expectOp('(');
      const subquery = this.selectStatement();
      this.expectOp(')');
      return { kind: 'exists', subquery };
    }
    const left = this.additive();
    const tok = this.t;
    if (tok.kind === 'op') {
      const op = COMPARISONS.get(tok.text);
      if (op) {
        this.i++;
        if (this.isKw('ALL') || this.isKw('ANY') || this.isKw('SOME')) throw sqlError(40517, 'ALL/ANY/SOME');
        return { kind: 'compare', op, left, right: this.additive() };
      }
    }
    if (this.acceptKw('IS')) {
      const negated = this.acceptKw('NOT');
      this.expectKw('NULL');
      return { kind: 'isNull', operand: left, negated };
    }
    const negated =
      this.isKw('NOT') &&
      (this.isKw('IN', this.peek()) || this.isKw('LIKE', this.peek()) || this.isKw('BETWEEN', this.peek()));
    if (negated) this.i++;
    if (this.acceptKw('IN')) {
      this.expectOp('(');
      if (this.isKw('SELECT')) {
        const subquery = this.selectStatement();
        this.expectOp(')');
        return { kind: 'in', operand: left, subquery, negated };
      }
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptOp(','));
      this.expectOp(')');
      return { kind: 'in', operand: left, list, negated };
    }
    if (this.acceptKw('LIKE')) {
      const pattern = this.additive();
      const escape = this.acceptKw('ESCAPE') ? this.additive() : undefined;
      return { kind: 'like', operand: left, pattern, escape, negated };
    }
    if (this.acceptKw('BETWEEN')) {
      const low = this.additive();
      this.expectKw('AND');
      const high = this.additive();
      return { kind: 'between', operand: left, low, high, negated };
    }
    if (negated) this.fail();
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const tok = this.t;
      if (tok.kind === 'op' && ADDITIVE.has(tok.text)) {
        this.i++;
        left = { kind: 'binary', op: tok.text as '+', left, right: this.multiplicative() };
      } else return left;
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const tok = this.t;
      if (tok.kind === 'op' && MULTIPLICATIVE.has(tok.text)) {
        this.i++;
        left = { kind: 'binary', op: tok.text as '*', left, right: this.unary() };
      } else return left;
    }
  }

  private unary(): Expr {
    const tok = this.t;
    if (tok.kind === 'op' && (tok.text === '-' || tok.text === '+' || tok.text === '~')) {
      this.i++;
      const operand = this.unary();
      if (tok.text === '-' && operand.kind === 'literal') {
        const v = operand.value;
        if (typeof v === 'bigint') return { kind: 'literal', value: -v, type: literalIntType(-v) };
        if (typeof v === 'number') return { kind: 'literal', value: -v, type: operand.type };
        if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && v.kind === 'decimal')
          return { kind: 'literal', value: dec(-v.unscaled, v.scale), type: operand.type };
      }
      return { kind: 'unary', op: tok.text as '-', operand };
    }
    return this.primary();
  }

  primary(): Expr {
    const tok = this.t;
    switch (tok.kind) {
      case 'number':
        this.i++;
        return numberLiteral(tok.text);
      case 'string':
        this.i++;
        return { kind: 'literal', value: tok.text, type: { name: 'varchar', length: Math.max(1, tok.text.length) } };
      case 'nstring':
        this.i++;
        return { kind: 'literal', value: tok.text, type: { name: 'nvarchar', length: Math.max(1, tok.text.length) } };
      case 'binary': {
        this.i++;
        let hex = tok.text.slice(2);
        if (hex.length % 2 === 1) hex = '0' + hex;
        const b = Buffer.from(hex, 'hex');
        return { kind: 'literal', value: b, type: { name: 'varbinary', length: Math.max(1, b.length) } };
      }
      case 'variable':
        this.i++;
        return { kind: 'variable', name: tok.text };
      case 'global':
        this.i++;
        return { kind: 'global', name: tok.text.toUpperCase() };
      case 'op':
        if (tok.text === '(') {
          this.i++;
          if (this.isKw('SELECT')) {
            const select = this.selectStatement();
            this.expectOp(')');
            return { kind: 'subquery', select };
          }
          const e = this.expr();
          this.expectOp(')');
          return e;
        }
        this.fail();
      // falls through (fail never returns)
      case 'ident':
      case 'qident':
        return this.identExpr();
      default:
        this.fail();
    }
  }

  private identExpr(): Expr {
    const tok = this.t;
    const up = tok.kind === 'ident' ? (tok.up as string) : '';
    if (up === 'NULL') {
      this.i++;
      return { kind: 'literal', value: null, type: { name: 'int' } };
    }
    if (up === 'CASE') return this.caseExpr();
    if ((up === 'CAST' || up === 'TRY_CAST') && this.isOp('(', this.peek())) {
      this.i += 2;
      const operand = this.expr();
      this.expectKw('AS');
      const type = this.castType();
      this.expectOp(')');
      return { kind: 'cast', operand, type, fn: up };
    }
    if ((up === 'CONVERT' || up === 'TRY_CONVERT') && this.isOp('(', this.peek())) {
      this.i += 2;
      const type = this.castType();
      this.expectOp(',');
      const operand = this.expr();
      const style = this.acceptOp(',') ? this.expr() : undefined;
      this.expectOp(')');
      return { kind: 'cast', operand, type, style, fn: up };
    }
    if (up === 'CURRENT_TIMESTAMP') {
      this.i++;
      return { kind: 'call', name: ['GETDATE'], args: [] };
    }
    if (up === 'CURRENT_USER' || up === 'SESSION_USER' || up === 'SYSTEM_USER' || up === 'USER') {
      if (!this.isOp('(', this.peek())) {
        this.i++;
        return { kind: 'call', name: [up === 'SYSTEM_USER' ? 'SUSER_SNAME' : 'USER_NAME'], args: [] };
      }
    }
    if (tok.kind === 'ident' && RESERVED.has(up) && !['LEFT', 'RIGHT', 'COALESCE', 'NULLIF', 'IDENTITY'].includes(up))
      this.fail();
    // name or name.name… possibly followed by ( → function call
    const parts: string[] = [tok.text];
    this.i++;
    while (this.isOp('.')) {
      this.i++;
      if (this.isOp('*')) {
        this.i--;
        break;
      }
      parts.push(this.anyIdent());
    }
    if (this.isOp('(')) {
      this.i++;
      const call: Expr & { kind: 'call' } = { kind: 'call', name: parts, args: [] };
      if (this.acceptOp('*')) call.star = true;
      else if (!this.isOp(')')) {
        if (this.acceptKw('DISTINCT')) call.distinct = true;
        else this.acceptKw('ALL');
        do call.args.push(this.expr());
        while (this.acceptOp(','));
      }
      this.expectOp(')');
      if (this.acceptKw('OVER')) {
        this.expectOp('(');
        const partitionBy: Expr[] = [];
        const orderBy: OrderItem[] = [];
        if (this.acceptKw('PARTITION', 'BY')) {
          do partitionBy.push(this.expr());
          while (this.acceptOp(','));
        }
        if (this.acceptKw('ORDER', 'BY')) {
          do orderBy.push(this.orderItem());
          while (this.acceptOp(','));
        }
        if (this.isKw('ROWS') || this.isKw('RANGE')) throw sqlError(40517, 'window frames');
        this.expectOp(')');
        call.over = { partitionBy, orderBy };
      }
      if (this.isKw('WITHIN')) throw sqlError(40517, 'WITHIN GROUP');
      return call;
    }
    return { kind: 'column', parts };
  }

  private caseExpr(): Expr {
    this.expectKw('CASE');
    const operand = this.isKw('WHEN') ? undefined : this.expr();
    const whens: { when: Expr; then: Expr }[] = [];
    while (this.acceptKw('WHEN')) {
      const when = this.expr();
      this.expectKw('THEN');
      whens.push({ when, then: this.expr() });
    }
    if (whens.length === 0) this.fail();
    const elseExpr = this.acceptKw('ELSE') ? this.expr() : undefined;
    this.expectKw('END');
    return { kind: 'case', operand, whens, else: elseExpr };
  }
}

const KNOWN_HINTS = new Set([
  'NOLOCK',
  'READUNCOMMITTED',
  'READCOMMITTED',
  'READCOMMITTEDLOCK',
  'READPAST',
  'REPEATABLEREAD',
  'SERIALIZABLE',
  'HOLDLOCK',
  'UPDLOCK',
  'XLOCK',
  'ROWLOCK',
  'PAGLOCK',
  'TABLOCK',
  'TABLOCKX',
  'NOWAIT',
  'SNAPSHOT',
  'INDEX',
  'FORCESEEK',
  'FORCESCAN',
  'NOEXPAND',
  'KEEPIDENTITY',
  'KEEPDEFAULTS',
]);

function literalIntType(v: bigint): SqlType {
  return v >= -2147483648n && v <= 2147483647n
    ? { name: 'int' }
    : { name: 'decimal', precision: Math.max(1, (v < 0n ? -v : v).toString().length), scale: 0 };
}

/** Number literals: integers are int (or decimal(p,0) beyond int), with a point decimal(p,s), with E float. */
function numberLiteral(text: string): Expr {
  if (text.includes('e') || text.includes('E'))
    return { kind: 'literal', value: Number(text), type: { name: 'float', precision: 53 } };
  const dot = text.indexOf('.');
  if (dot >= 0) {
    let zeros = 0;
    while (zeros < dot && text.charCodeAt(zeros) === 48) zeros++;
    const intDigits = dot - zeros;
    const scale = text.length - dot - 1;
    const unscaled = digitsToBigInt(text.slice(zeros, dot) + text.slice(dot + 1));
    const precision = Math.max(1, intDigits + scale, scale);
    if (precision > 38) throw sqlError(1007, text);
    const value: SqlValue = dec(unscaled, scale);
    return { kind: 'literal', value, type: { name: 'decimal', precision, scale } };
  }
  const v = digitsToBigInt(text);
  if (v <= 2147483647n) return { kind: 'literal', value: v, type: { name: 'int' } };
  const digits = text.replace(/^0+/, '').length;
  if (digits > 38) throw sqlError(1007, text);
  return { kind: 'literal', value: dec(v, 0), type: { name: 'decimal', precision: Math.max(1, digits), scale: 0 } };
}

/**
 * A run of decimal digits as a BigInt: up to 15 digits through a double (exact there, and ~3× cheaper than
 * parsing the string as a BigInt: a claims INSERT carries ~10 numeric literals per row).
 */
function digitsToBigInt(digits: string): bigint {
  if (digits.length === 0) return 0n;
  return digits.length <= 15 ? BigInt(Number(digits)) : BigInt(digits);
}
