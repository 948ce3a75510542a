/**
 * The baseline of the read benchmarks: a query streamed by mssql in arrayRowMode with rows only counted, never
 * decoded into objects — the driver's ceiling on this machine, against which pipeline rates are ratios.
 */
import type sql from 'mssql';
import type { QueryParam } from '../src/source/connection.js';

/** Streams `text` and resolves to the number of rows read. */
export async function rawStream(
  pool: sql.ConnectionPool,
  text: string,
  params: readonly QueryParam[] = [],
): Promise<number> {
  const req = pool.request();
  for (const p of params) req.input(p.name, p.type, p.value);
  req.stream = true;
  req.arrayRowMode = true;
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('row', () => void n++);
    req.on('error', reject);
    req.on('done', () => resolve());
    void req.query(text).catch(() => undefined);
  });
  return n;
}
