/**
 * `node --import tsx bench/date-decode-cpu.ts [--values 2000000] [--rounds 3]`: the CPU per value of tedious' own
 * datetime2(7) and date readers against the worker's shortcut (src/source/date-decode.ts), each reading the same
 * bytes in a loop, alternated in one process (process.cpuUsage, ns per value). The figure behind covering `date`
 * as well as datetime2 (docs/performance.md, branch i14-dates); the driver's whole read is bench:driver's.
 */
import { parseArgs } from 'node:util';
import { driverValueReader, installFastDateDecode } from '../src/source/date-decode.js';

const { values } = parseArgs({
  options: { values: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(values.values);
const reader = driverValueReader();
const tedious = reader.valueParser.readValue;
const install = installFastDateDecode(reader);
if (!install.installed) throw new Error(`the shortcut did not install: ${install.reason}`);
const fast = reader.valueParser.readValue;
install.restore();

const datetime2 = Buffer.from([8, 0x15, 0xcd, 0x5b, 0x07, 0x10, 0x9e, 0x42, 0x0b]); // a datetime2(7) in 2021
const date = Buffer.from([3, 0x9e, 0x42, 0x0b]);
const options = { useUTC: true };
const cases = [
  ['datetime2(7)', datetime2, { type: { name: 'DateTime2' }, scale: 7 }],
  ['date', date, { type: { name: 'Date' } }],
] as const;

let sink: unknown;
function nsPerValue(read: typeof tedious, buf: Buffer, metadata: { type: { name: string }; scale?: number }): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) sink = read(buf, 0, metadata, options);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / N;
}
for (let round = 1; round <= Number(values.rounds); round++) {
  const parts = cases.map(([name, buf, metadata]) => {
    const t = nsPerValue(tedious, buf, metadata);
    const f = nsPerValue(fast, buf, metadata);
    return `${name}: tedious ${t.toFixed(0)} ns, shortcut ${f.toFixed(0)} ns (${((100 * f) / t).toFixed(0)}%)`;
  });
  console.log(`round ${round}  ${parts.join(' · ')}`);
}
void sink;
