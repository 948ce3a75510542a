/**
 * A CDC-enabled engine and a 15-column table of every type the row codec packs, shared by the tests of what the
 * capture job holds in memory (cdc-pending-images, cdc-harvest-packed).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine } from '../../../../sim/engine/index.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';

setFlagsFromString('--expose-gc');
/** A full garbage collection (the flag set above makes `gc` exist in a new context). */
export const gc = runInNewContext('gc') as () => void;

/** An engine with database C, its capture job started only by `runCapture`; `x` runs SQL in C. */
export function cdcEngine() {
  const e = createEngine();
  e.admin.createDatabase('C');
  cdcAdmin(e).configure({ autoStart: false });
  const x = async (sql: string) => {
    const r = await e.admin.execute(sql, { database: 'C' });
    return r.resultSets[0]?.rows ?? [];
  };
  return { e, x };
}

export const WIDE = `CREATE TABLE dbo.W (
  id bigint NOT NULL PRIMARY KEY, n int NULL, b bit NULL, f float NULL, d decimal(19,4) NULL, big decimal(38,0) NULL,
  s varchar(40) NULL, u nvarchar(40) NULL, bin varbinary(16) NULL, g uniqueidentifier NULL, dt date NULL,
  t time(7) NULL, d2 datetime2(7) NULL, dto datetimeoffset(7) NULL, m money NULL)`;

/** Row `i` of dbo.W as a VALUES tuple: every column set. */
export const ROW = (i: number) =>
  `(${i}, ${i * 3}, ${i % 2}, ${i}.25, ${i}.1234, 12345678901234567890123456789${i % 10}, 'n${i}', N'ünï ${i} ☃', ` +
  `0x00FF${(i % 256).toString(16).padStart(2, '0')}, '6F9619FF-8B86-D011-B42D-00C04FD430C8', '2026-12-0${1 + (i % 7)}', ` +
  `'12:34:56.1234567', '2026-12-07T01:02:03.4567891', '2026-12-07T01:02:03.4567891+05:30', ${i}.5)`;
