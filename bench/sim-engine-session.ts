/**
 * A simulator engine in this process with the Claims database and one session of a db_owner login (no TDS, no
 * sockets): what the in-process simulator benches (bench/sim-write-path.ts, bench/statement-cache.ts) start from.
 */
import type { Session } from '../sim/engine/api.js';
import { createEngine, type SimEngine } from '../sim/engine/index.js';

/** `sysadmin`: the login may run server-level procedures too (the CDC capture job's). */
export async function engineSession(options: { sysadmin?: boolean } = {}): Promise<{
  engine: SimEngine;
  session: Session;
}> {
  const engine = createEngine();
  engine.admin.createDatabase('Claims');
  engine.admin.createLogin({
    name: 'b',
    password: 'pw',
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_owner'] }],
    ...(options.sysadmin ? { sysadmin: true } : {}),
  });
  const login = await engine.login({
    userName: 'b',
    password: 'pw',
    database: 'Claims',
    appName: 'bench',
    hostName: 'h',
    readOnlyIntent: false,
    clientProcessId: 1,
  });
  if (login.kind !== 'session') throw new Error('login failed');
  return { engine, session: login.session };
}
