/**
 * A second SIGINT/SIGTERM while the worker waits for its in-flight activities exits at once, with one log line
 * that says so and what is (not) lost, and the shell's exit code for the signal. Before, the first signal's
 * handler was a one-shot: the second killed the process by the signal's default action, with nothing in the log.
 * Child process: test/unit/worker/fixtures/stuck-in-grace.ts (activities that would take 60 s to stop).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const FIXTURE = join(process.cwd(), 'test', 'unit', 'worker', 'fixtures', 'stuck-in-grace.ts');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a second ${signal} during the grace time exits at once with a log line`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = 0;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // The first signal once the handlers are in place; the second once the first was taken (its log line).
      if (sent === 0 && out.includes('ready')) {
        sent = 1;
        child.kill(signal);
      } else if (sent === 1 && out.includes('shutting down')) {
        sent = 2;
        child.kill(signal);
      }
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    assert.equal(sent, 2, `both signals sent (${out})`);
    assert.deepEqual(
      [code, sig],
      [signal === 'SIGTERM' ? 143 : 130, null],
      `exit by the worker, not the signal: ${out}`,
    );
    const line = out.split('\n').find((l) => l.includes(`"msg":"second ${signal}:`));
    assert.ok(line, `a log line for the second signal: ${out}`);
    assert.match(line, /nothing committed is lost/);
  });
}
