/**
 * `npm run stack:up | stack:down | stack:status` with `--help` or bad arguments prints the usage, never a stack
 * trace (issue 12, item 8), and starts or stops nothing. Runs the scripts' real entry point, as npm does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'scripts', 'stack', 'cli.ts');
// Any state a wrongly started stack wrote would land here; it must stay empty.
const stateDir = mkdtempSync(join(tmpdir(), 'tidemark-stack-cli-'));

function stack(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

for (const verb of ['up', 'down', 'status']) {
  test(`stack:${verb} -- --help prints the usage and does nothing`, () => {
    for (const flag of ['--help', '-h']) {
      const r = stack(verb, flag, '--state-dir', stateDir);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^Usage: npm run stack:up \| stack:down \| stack:status/);
      assert.match(r.out, /--temporal-port N/);
      assert.equal(r.err, '');
    }
    assert.deepEqual(readdirSync(stateDir), []);
  });
}

test('an unknown option or a bad port is named, with the usage, exit 2', () => {
  const unknown = stack('up', '--bogus', '--state-dir', stateDir);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^stack: Unknown option '--bogus'\n/);
  assert.match(unknown.err, /Usage: npm run stack:up/);
  assert.doesNotMatch(unknown.err, /^\s+at /m, 'no stack trace');
  const port = stack('up', '--azurite-port', 'ten', '--state-dir', stateDir);
  assert.equal(port.code, 2);
  assert.match(port.err, /--azurite-port must be a port number \(1-65535\), not "ten"/);
  const verb = stack('restart');
  assert.equal(verb.code, 2);
  assert.match(verb.err, /unknown command "restart"/);
  assert.deepEqual(readdirSync(stateDir), []);
});
