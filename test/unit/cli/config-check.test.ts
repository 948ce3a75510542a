import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/tidemark.mjs');
const PASSWORD = 'cli-Pa55word-never-printed';
const HASH_KEY = 'cli-hash-key-never-printed-0123456789';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real entry point (bin/tidemark.mjs) as an operator would. */
function tidemark(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { TIDEMARK_SOURCE_PASSWORD: _p, TIDEMARK_PHI_HASH_KEY: _h, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const EXAMPLE_ENV = { TIDEMARK_SOURCE_PASSWORD: PASSWORD, TIDEMARK_PHI_HASH_KEY: HASH_KEY };

test('config check on the example prints the resolved config, secrets masked, and exits 0', async () => {
  const run = await tidemark(['config', 'check', 'tidemark.example.yaml'], EXAMPLE_ENV);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /valid, 6 tables/);
  assert.match(run.stdout, /password: "\[redacted\] \(from \$\{TIDEMARK_SOURCE_PASSWORD\}\)"/);
  assert.match(run.stdout, /strategy: change_tracking/);
  const all = run.stdout + run.stderr;
  for (const secret of [PASSWORD, HASH_KEY, AZURITE_KEY]) assert.ok(!all.includes(secret), 'a secret was printed');
});

test('a file with five mistakes lists all five on stderr and exits 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-cli-'));
  try {
    const file = join(dir, 'five-mistakes.yaml');
    await writeFile(
      file,
      [
        'source:',
        '  host: 127.0.0.1',
        '  databse: Claims', // 1: typo
        '  auth: { type: sql-login, user: u, password: hunter2-literal }', // 2: literal secret
        'sink:',
        '  connectionString: ${CONN}', // 3: unset variable
        '  container: raw',
        'temporal:',
        '  address: 127.0.0.1:7233',
        'tables:',
        '  - name: dbo.Claims',
        '    capture: { strategy: cdc }',
        '    cadence: 2s', // 4: below the minimum (5s)
        '  - name: dbo.Payments',
        '    capture: { strategy: rowversion }', // 5: missing column
        'nightly: { windowStart: "01:00" }',
        '',
      ].join('\n'),
    );
    const run = await tidemark(['config', 'check', file]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '', 'nothing is printed as if it were a config');
    assert.match(run.stderr, /5 problems/);
    for (const path of [
      'source.databse',
      'source.auth.password',
      'sink.connectionString',
      'tables[0].cadence',
      'tables[1].capture.column',
    ]) {
      assert.ok(run.stderr.includes(`✗ ${path} (line `), `${path} missing from:\n${run.stderr}`);
    }
    assert.match(run.stderr, /did you mean `database`/);
    assert.ok(!run.stderr.includes('hunter2-literal'));

    const json = await tidemark(['config', 'check', '--json', file]);
    assert.equal(json.code, 2);
    const body = JSON.parse(json.stdout) as { ok: boolean; errors: Array<{ path: string }> };
    assert.equal(body.ok, false);
    assert.equal(body.errors.length, 5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2: no file, a missing file, an unknown option', async () => {
  const noFile = await tidemark(['config', 'check']);
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /Usage: tidemark config check FILE/);
  const missing = await tidemark(['config', 'check', 'does-not-exist.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /file not found/);
  const option = await tidemark(['config', 'check', '--jsno', 'tidemark.example.yaml']);
  assert.equal(option.code, 2);
});

test('--help lists the verbs and exits 0; an unknown verb exits 2 with a suggestion', async () => {
  const help = await tidemark(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /config check\s+validate a config file/);
  const typo = await tidemark(['confg', 'check']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /did you mean `tidemark config check`/i);
  const group = await tidemark(['config']);
  assert.equal(group.code, 2);
  assert.match(group.stderr, /needs a subcommand: config check/);
  const verbHelp = await tidemark(['config', 'check', '--help']);
  assert.equal(verbHelp.code, 0);
  assert.match(verbHelp.stdout, /Usage: tidemark config check FILE/);
});
