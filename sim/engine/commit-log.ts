/**
 * The commit log: one entry per committed transaction that changed rows, in commit order. CDC capture and
 * Change Tracking (part 2) subscribe with `Database.onCommit`; the entry carries the LSN (the global commit
 * sequence number), begin and commit times, and every row change with before/after images in statement order.
 */
import type { Table } from './catalog.js';
import type { RowChange } from './mvcc.js';

export interface CommittedTransaction {
  /** Strictly increasing across the engine; CDC turns it into a 10-byte LSN. */
  lsn: bigint;
  txnId: number;
  beginTime: Date;
  commitTime: Date;
  changes: RowChange[];
  /** Resolves a change's table. */
  table(change: RowChange): Table | undefined;
}
