import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBatch, parseParamDeclarations } from '../../../../sim/engine/parser.js';
import { EngineError } from '../../../../sim/engine/errors.js';

test('parses the statements of the capture domain', () => {
  const sqls = [
    'SELECT TOP (100) * FROM dbo.ClaimLines WITH (NOLOCK) WHERE id > @last ORDER BY id OPTION (MAXDOP 1)',
    'SELECT [__$start_lsn], __$seqval FROM cdc.[dbo_T_CT]',
    'SELECT @@DBTS, MIN_ACTIVE_ROWVERSION()',
    'CREATE TABLE dbo.T (id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_T PRIMARY KEY, rv rowversion, amt decimal(38,10) DEFAULT 0)',
    'SELECT CHECKSUM_AGG(BINARY_CHECKSUM(*)) FROM dbo.T WHERE id BETWEEN 1 AND 10',
    'SELECT c.* FROM CHANGETABLE(CHANGES dbo.T, @v) AS c',
    'SELECT id FROM t ORDER BY id OFFSET 0 ROWS FETCH NEXT 10 ROWS ONLY',
    'SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRAN; COMMIT',
    "INSERT INTO t (a, b) VALUES (1, N'x'), (2, 0x0A0B) ; UPDATE t SET a += 1 WHERE (a > @x) OR (a = @x AND b > @y)",
    '/* nested /* comment */ */ SELECT 1 -- trailing',
  ];
  for (const sql of sqls) assert.doesNotThrow(() => parseBatch(sql), sql);
});

test('syntax errors are 102 / 156 with the offending token', () => {
  const err = (sql: string): EngineError => {
    try {
      parseBatch(sql);
    } catch (e) {
      if (e instanceof EngineError) return e;
    }
    throw new Error('no error');
  };
  assert.equal(err('SELEC 1').sqlError.number, 102);
  assert.equal(err('SELEC 1').sqlError.message, "Incorrect syntax near 'SELEC'.");
  const k = err('SELECT * FROM WHERE');
  assert.equal(k.sqlError.number, 156);
  assert.equal(k.sqlError.message, "Incorrect syntax near the keyword 'WHERE'.");
  assert.equal(err("SELECT 'abc").sqlError.number, 105);
});

test('sp_executesql parameter declarations', () => {
  const d = parseParamDeclarations('@from varbinary(10), @to varbinary(10), @n nvarchar(max) OUTPUT');
  assert.deepEqual(
    d.map((x) => [x.name, x.type.name, x.type.length, x.output]),
    [
      ['@from', 'varbinary', 10, false],
      ['@to', 'varbinary', 10, false],
      ['@n', 'nvarchar', -1, true],
    ],
  );
});
