/**
 * Accounting: for every statement, which tables it touched, whether an index seek or a scan produced the
 * rows, and how many rows it read from storage. Rows are pulled lazily, so the counters keep moving until the
 * client has read the whole result. Tests read them through `sim.statement_stats` or the admin API.
 */

export interface TableAccess {
  database: string;
  schema: string;
  table: string;
  /** Index used (PK or secondary index name), or the heap. */
  index: string;
  kind: 'seek' | 'scan';
  /** Row versions examined from storage (before residual predicates). */
  rowsRead: number;
}

/** One statement's accounting: its text, the tables it read and how, and the rows it returned or changed. */
export interface StatementStats {
  statementId: number;
  spid: number;
  text: string;
  startedAt: Date;
  accesses: TableAccess[];
  /** Rows returned to the client or affected by DML. */
  rowsReturned: number;
}

/** Statistics kept per session (most recent last). */
export const MAX_STATS_PER_SESSION = 1000;

let nextStatementId = 1;

export function newStatementStats(spid: number, text: string): StatementStats {
  return { statementId: nextStatementId++, spid, text, startedAt: new Date(), accesses: [], rowsReturned: 0 };
}

export function totalRowsRead(s: StatementStats): number {
  return s.accesses.reduce((n, a) => n + a.rowsRead, 0);
}
