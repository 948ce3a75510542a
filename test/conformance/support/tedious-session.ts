/**
 * The tedious connection behind an `mssql` pool, for tests of what the pool and tedious send on the wire: the
 * reset-connection flag (`resetConnectionOnNextRequest`, `reset()`) and Transaction Manager requests
 * (`beginTransaction` / `saveTransaction` / `commitTransaction` / `rollbackTransaction`). `pool.acquire` is how
 * mssql's own Request and Transaction get their connection; the calls below are tedious's public API, so the
 * tests run unchanged against a real SQL Server.
 */
import type sql from 'mssql';
import tedious from 'tedious';

type TediousConnection = tedious.Connection;

/** One row: column name → value. */
export type Row = Record<string, unknown>;

export interface TediousSession {
  readonly connection: TediousConnection;
  /** Runs a SQL batch; resolves with its result sets, rejects with tedious's RequestError. */
  batch(text: string): Promise<Row[][]>;
  /** The first row of the last result set of `text`. */
  row(text: string): Promise<Row>;
  begin(name?: string, isolation?: number): Promise<void>;
  save(name: string): Promise<void>;
  commit(name?: string): Promise<void>;
  rollback(name?: string): Promise<void>;
  /** tedious's `reset()`: the reset-connection flag on its initial SET batch (what a pool calls on release). */
  reset(): Promise<void>;
  /** The descriptor tedious will send in ALL_HEADERS (learnt from ENVCHANGE 8, zeroed by 9 and 10). */
  descriptor(): Buffer;
  /** tedious's view: a transaction is open (set by ENVCHANGE 8, cleared by 9 and 10). */
  inTransaction(): boolean;
  /** Gives the connection back to the pool. */
  release(): void;
}

interface PoolInternals {
  acquire(requester: unknown): Promise<TediousConnection>;
  release(connection: TediousConnection): void;
}

interface ConnectionInternals {
  inTransaction: boolean;
  transactionDescriptors: Buffer[];
}

export async function tediousSession(pool: sql.ConnectionPool): Promise<TediousSession> {
  const p = pool as unknown as PoolInternals;
  const connection = await p.acquire(pool);
  const internals = connection as unknown as ConnectionInternals;
  const callback = (fn: (done: (err?: Error | null) => void) => void): Promise<void> =>
    new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
  const batch = (text: string): Promise<Row[][]> =>
    new Promise((resolve, reject) => {
      const sets: Row[][] = [];
      const request = new tedious.Request(text, (err) => (err ? reject(err) : resolve(sets)));
      request.on('columnMetadata', () => sets.push([]));
      request.on('row', (columns: { value: unknown; metadata: { colName: string } }[]) => {
        const row: Row = {};
        for (const c of columns) row[c.metadata.colName] = c.value;
        sets[sets.length - 1]?.push(row);
      });
      connection.execSqlBatch(request);
    });
  return {
    connection,
    batch,
    async row(text) {
      const sets = await batch(text);
      const row = sets[sets.length - 1]?.[0];
      if (!row) throw new Error(`no row from: ${text}`);
      return row;
    },
    begin: (name = '', isolation) =>
      callback((done) => connection.beginTransaction((err) => done(err), name, isolation)),
    save: (name) => callback((done) => connection.saveTransaction((err) => done(err), name)),
    commit: (name = '') => callback((done) => connection.commitTransaction((err) => done(err), name)),
    rollback: (name = '') => callback((done) => connection.rollbackTransaction((err) => done(err), name)),
    reset: () => callback((done) => connection.reset((err) => done(err))),
    descriptor: () => internals.transactionDescriptors[internals.transactionDescriptors.length - 1] ?? Buffer.alloc(8),
    inTransaction: () => internals.inTransaction,
    release: () => p.release(connection),
  };
}
