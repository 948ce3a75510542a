/**
 * Lint and types are part of the test command, so CI fails on an import that runs up the layers
 * (docs/architecture.md), an import cycle, or a type error — and the layer rule is shown to bite.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = process.cwd();
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

async function exitOf(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await run(cmd, args, { cwd: root, maxBuffer: 64 << 20 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('the code passes lint: layers, no import cycles, the type-aware rules', { timeout: 600_000 }, async () => {
  const r = await exitOf(bin('eslint'), ['.']);
  assert.equal(r.code, 0, r.output.slice(-4000));
});

test('the code type-checks (tsc --noEmit, strict)', { timeout: 600_000 }, async () => {
  const r = await exitOf(bin('tsc'), ['--noEmit', '-p', '.']);
  assert.equal(r.code, 0, r.output.slice(-4000));
});

test('the layer rule rejects an upward import: the lake importing the activities', { timeout: 300_000 }, async () => {
  const probe = join(root, 'src', 'lake', 'zz-layer-probe.ts');
  await writeFile(
    probe,
    "import { createActivities } from '../activities/index.js';\nexport const probe = createActivities;\n",
  );
  try {
    const r = await exitOf(bin('eslint'), ['--no-cache', probe]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /src\/lake may import only domain, util, config/);
  } finally {
    await rm(probe, { force: true });
  }
});
