/**
 * `node --import tsx bench/sim-write-path.ts [-- --operations 600 --claims-per-statement 20 --harvest-every 10]`: the simulator's
 * write path for the claims workload, on the engine in process (no TDS, no sockets, no other process): the
 * statements of bench:load's mix (bench/steady-workload.ts LOAD_MIX, built by sim/workload's own SQL builders) —
 * a 20-claim INSERT of dbo.Claims with OUTPUT and the INSERT of their lines in one transaction (70%), a re-pricing
 * of every line of 20 claims (25%), a status update of 20 claims (5%) — with CDC on both tables and the capture
 * job harvested after every `--harvest-every` operations (10; bench:load's simulator polls once a second, ~90
 * operations at 5K events/s: the harvest's transaction then holds thousands of change rows). Prints CPU microseconds per change event (both tables, the harvest
 * included), split into parsing (the same texts parsed again apart), statements and harvest. One process, so the
 * figure moves less than a whole-simulator run on a shared machine; compare only within one run or one machine
 * state. Figures, not assertions.
 */
import { parseArgs } from 'node:util';
import { cdcAdmin } from '../sim/engine/cdc/index.js';
import { parseBatch } from '../sim/engine/parser.js';
import { claimsMix, claimsTables, engineSession, runBatch } from './sim-engine-session.js';

const { values } = parseArgs({
  options: {
    operations: { type: 'string', default: '600' },
    'claims-per-statement': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    'harvest-every': { type: 'string', default: '10' },
  },
});
const OPS = Number(values.operations);
const N = Number(values['claims-per-statement']);
const ROUNDS = Number(values.rounds);
const HARVEST_EVERY = Number(values['harvest-every']);
const say = (line: string) => process.stdout.write(`${line}\n`);

const { engine: e, session: s } = await engineSession({ sysadmin: true });
const cdc = cdcAdmin(e);
cdc.configure({ autoStart: false });

const run = (text: string) => runBatch(s, text);
await claimsTables(run, { cdc: true });
const mix = claimsMix(run, N);

type Timing = { statementsUs: number; parseUs: number; captureUs: number; events: number };
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function operation(t: Timing): Promise<void> {
  const t0 = cpu();
  const op = await mix();
  t.events += op.events;
  t.statementsUs += cpu() - t0;
  const p0 = cpu();
  for (const x of op.texts) parseBatch(x);
  t.parseUs += cpu() - p0;
}

async function round(ops: number): Promise<Timing> {
  const t: Timing = { statementsUs: 0, parseUs: 0, captureUs: 0, events: 0 };
  for (let i = 0; i < ops; i++) {
    await operation(t);
    if (i % HARVEST_EVERY === HARVEST_EVERY - 1) {
      const c0 = cpu();
      await cdc.runCapture('Claims');
      t.captureUs += cpu() - c0;
    }
  }
  return t;
}

await round(Math.min(200, OPS)); // warm-up (JIT), and claims to update
for (let k = 0; k < ROUNDS; k++) {
  const t = await round(OPS);
  const per = (us: number) => (us / t.events).toFixed(1);
  say(
    `round ${k + 1}: ${t.events} change events; CPU per event ${per(t.statementsUs + t.captureUs)} µs = statements ${per(t.statementsUs)} ` +
      `(of which parsing ~${per(t.parseUs)}) + capture harvest ${per(t.captureUs)}`,
  );
}
