/** Test helpers: run SQL through a session and collect events. */
import {
  IsolationLevel,
  type ExecEvent,
  type Session,
  type SqlValue,
  type SqlError,
} from '../../../../sim/engine/api.js';
import { createEngine, type SimEngine } from '../../../../sim/engine/index.js';
import { RowCodec } from '../../../../sim/engine/row-codec.js';

export interface Collected {
  sets: SqlValue[][][];
  counts: bigint[];
  errors: SqlError[];
  events: ExecEvent[];
}

export async function collect(events: AsyncIterable<ExecEvent>): Promise<Collected> {
  const out: Collected = { sets: [], counts: [], errors: [], events: [] };
  for await (const ev of events) {
    out.events.push(ev);
    if (ev.kind === 'resultSet') out.sets.push([...ev.rows]);
    if (ev.kind === 'done' && ev.rowCount !== undefined) out.counts.push(ev.rowCount);
    if (ev.kind === 'message' && ev.error.severity > 10) out.errors.push(ev.error);
  }
  return out;
}

export function engineWithClaims(): SimEngine {
  const e = createEngine();
  e.admin.createDatabase('Claims');
  e.admin.createLogin({
    name: 'tester',
    password: 'pw',
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_owner'] }],
  });
  return e;
}

export async function connect(e: SimEngine, database = 'Claims'): Promise<Session> {
  const r = await e.login({
    userName: 'tester',
    password: 'pw',
    database,
    appName: 'unit',
    hostName: 'h',
    readOnlyIntent: false,
    clientProcessId: 1,
  });
  if (r.kind !== 'session') throw new Error('login failed');
  return r.session;
}

export function run(s: Session, sql: string): Promise<Collected> {
  return collect(s.executeBatch(sql, new AbortController().signal));
}

/** First value of the first row of the first result set. */
export async function scalar(s: Session, sql: string): Promise<SqlValue> {
  const r = await run(s, sql);
  if (r.errors[0]) throw new Error(`${r.errors[0].number}: ${r.errors[0].message}`);
  return r.sets[0]?.[0]?.[0] ?? null;
}

export { IsolationLevel };

/** Counts the values decoded from packed rows while `fn` runs (a whole row's decode counts its width). */
export async function valuesDecodedDuring(fn: () => Promise<void>): Promise<number> {
  const proto = RowCodec.prototype;
  const whole = Object.getOwnPropertyDescriptor(proto, 'decodeAt') as PropertyDescriptor;
  const one = Object.getOwnPropertyDescriptor(proto, 'decodeOneAt') as PropertyDescriptor;
  const decodeWhole = whole.value as (this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) => unknown;
  const decodeOne = one.value as (this: RowCodec, ...args: Parameters<RowCodec['decodeOneAt']>) => unknown;
  let n = 0;
  Object.defineProperty(proto, 'decodeAt', {
    ...whole,
    value(this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) {
      n += this.width;
      return decodeWhole.apply(this, args);
    },
  });
  Object.defineProperty(proto, 'decodeOneAt', {
    ...one,
    value(this: RowCodec, ...args: Parameters<RowCodec['decodeOneAt']>) {
      n++;
      return decodeOne.apply(this, args);
    },
  });
  try {
    await fn();
  } finally {
    Object.defineProperty(proto, 'decodeAt', whole);
    Object.defineProperty(proto, 'decodeOneAt', one);
  }
  return n;
}
