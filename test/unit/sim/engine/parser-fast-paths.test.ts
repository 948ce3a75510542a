/**
 * The tokenizer's and the parser's fast paths for the claims workload's literal SQL (a 20-claim INSERT … VALUES is
 * ~2,000 constants; docs/performance.md, "The simulator's write path"): identifiers upper-cased once by the
 * tokenizer, punctuation pushed without slicing, a constant followed by `,` or `)` taken without descending the
 * nine precedence levels. What they could break: tokens of quoted text, comments and brackets, and the trees of
 * constants that are only the start of an expression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../../../sim/engine/lexer.js';
import { parseBatch } from '../../../../sim/engine/parser.js';
import { connect, engineWithClaims, run } from './helpers.js';

test('tokens of quotes, N-strings, comments, brackets and punctuation', () => {
  const sql = `SELECT [a b].c, N'it''s', 'x,y)', "q"(1.5e3,-2) /* a, (nested /* c */) */ -- d, e
FROM t;`;
  const toks = tokenize(sql).map((t) => [t.kind, t.text, t.line, t.up ?? null]);
  assert.deepEqual(toks, [
    ['ident', 'SELECT', 1, 'SELECT'],
    ['qident', 'a b', 1, null],
    ['op', '.', 1, null],
    ['ident', 'c', 1, 'C'],
    ['op', ',', 1, null],
    ['nstring', "it's", 1, null],
    ['op', ',', 1, null],
    ['string', 'x,y)', 1, null],
    ['op', ',', 1, null],
    ['qident', 'q', 1, null],
    ['op', '(', 1, null],
    ['number', '1.5e3', 1, null],
    ['op', ',', 1, null],
    ['op', '-', 1, null],
    ['number', '2', 1, null],
    ['op', ')', 1, null],
    ['ident', 'FROM', 2, 'FROM'],
    ['ident', 't', 2, 'T'],
    ['op', ';', 2, null],
    ['eof', '', 2, null],
  ]);
});

test('a constant that starts a longer expression keeps its operators (the fast path takes only lone constants)', () => {
  const [p] = parseBatch(
    `INSERT INTO t (a, b, c, d, e, f, g) VALUES (1 + 2, 'a' + 'b', N'x', -4, 5 * 2 - 1, (7), 0x0A), (NULL, 2.50, 1e2, 3, 'z', N'', 9)`,
  );
  const values = (p?.stmt as { values: unknown[][] }).values;
  assert.deepEqual(
    values[0]?.map((e) => (e as { kind: string }).kind),
    ['binary', 'binary', 'literal', 'literal', 'binary', 'literal', 'literal'],
  );
  assert.deepEqual(
    values[1]?.map((e) => (e as { type?: { name: string } }).type?.name),
    ['int', 'decimal', 'float', 'int', 'varchar', 'nvarchar', 'int'],
  );
  // The statement's text is cut at its last token (a quoted one is longer than its text).
  const [a, b] = parseBatch(`SELECT N'it''s'  ;SELECT [x]`);
  assert.equal(a?.text, `SELECT N'it''s'`);
  assert.equal(b?.text, 'SELECT [x]');
});

test('parsing a multi-row INSERT upper-cases each identifier once, not at every keyword test', () => {
  const row = `(1, N'Avery Stone', 'E11.9', NULL, 12.50, CAST(DATEADD(day, -3, SYSUTCDATETIME()) AS date), SYSDATETIMEOFFSET())`;
  const sql = `INSERT INTO dbo.T (a, b, c, d, e, f, g) VALUES ${Array.from({ length: 60 }, () => row).join(',\n')}`;
  const identifiers = tokenize(sql).filter((t) => t.kind === 'ident').length;
  const proto = String.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'toUpperCase') as PropertyDescriptor;
  const upper = original.value as (this: string) => string;
  let n = 0;
  Object.defineProperty(proto, 'toUpperCase', {
    ...original,
    value(this: string) {
      n++;
      return upper.call(this);
    },
  });
  try {
    parseBatch(sql);
  } finally {
    Object.defineProperty(proto, 'toUpperCase', original);
  }
  // Once per identifier in the tokenizer (and a few per call name in the parser); before, ~8 per operand.
  assert.ok(n <= identifiers * 2, `${n} upper-casings for ${identifiers} identifiers`);
});

test('the workload-shaped INSERT stores the same rows through the fast paths', async () => {
  const s = await connect(engineWithClaims());
  const r = await run(
    s,
    `CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, s varchar(10) NULL, n nvarchar(10) NULL, m decimal(9,2) NULL, f float NULL);
     INSERT INTO dbo.T (id, s, n, m, f) VALUES (1, 'a,b', N'(x)', 1.5, 1e1), (2, 'c' + 'd', NULL, -2.25, 2 * 3), (3, '', N'', 0, 1);
     SELECT id, s, n, CAST(m AS varchar(10)), f FROM dbo.T ORDER BY id`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.sets.at(-1), [
    [1n, 'a,b', '(x)', '1.50', 10],
    [2n, 'cd', null, '-2.25', 6],
    [3n, '', '', '0.00', 1],
  ]);
});

test('number literals: types and values on both sides of 15 digits, leading zeros, a bare point', () => {
  const lit = (text: string) => {
    const [p] = parseBatch(`SELECT ${text}`);
    const e = (p?.stmt as { items: { expr: { value: unknown; type: unknown } }[] }).items[0]?.expr;
    return [e?.value, e?.type];
  };
  assert.deepEqual(lit('007'), [7n, { name: 'int' }]);
  assert.deepEqual(lit('2147483648'), [
    { kind: 'decimal', unscaled: 2147483648n, scale: 0 },
    { name: 'decimal', precision: 10, scale: 0 },
  ]);
  assert.deepEqual(lit('00.50'), [
    { kind: 'decimal', unscaled: 50n, scale: 2 },
    { name: 'decimal', precision: 2, scale: 2 },
  ]);
  assert.deepEqual(lit('5.'), [
    { kind: 'decimal', unscaled: 5n, scale: 0 },
    { name: 'decimal', precision: 1, scale: 0 },
  ]);
  assert.deepEqual(lit('.5'), [
    { kind: 'decimal', unscaled: 5n, scale: 1 },
    { name: 'decimal', precision: 1, scale: 1 },
  ]);
  assert.deepEqual(lit('123456789012345.678'), [
    { kind: 'decimal', unscaled: 123456789012345678n, scale: 3 },
    { name: 'decimal', precision: 18, scale: 3 },
  ]);
  assert.deepEqual(lit('99999999999999999999.9999999999'), [
    { kind: 'decimal', unscaled: 999999999999999999999999999999n, scale: 10 },
    { name: 'decimal', precision: 30, scale: 10 },
  ]);
});
