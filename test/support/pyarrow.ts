/**
 * pyarrow for tests: installed by the test itself into the project's git-ignored virtualenv `.tidemark/venv`
 * (the one scripts/stack/temporal.ts creates), so no test depends on a hand install.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTemporalBinaries } from '../../scripts/stack/temporal.js';

/** Pinned pyarrow version installed for the second-reader test. */
export const PYARROW_VERSION = '26.0.1';

/** Path of a python that can `import pyarrow`. */
export function pythonWithPyarrow(): string {
  const stateDir = join(process.cwd(), '.tidemark');
  ensureTemporalBinaries(stateDir); // creates the venv if needed
  const python = join(stateDir, 'venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`no virtualenv python at ${python}`);
  try {
    execFileSync(python, ['-c', 'import pyarrow'], { stdio: 'pipe' });
  } catch {
    execFileSync(
      join(stateDir, 'venv', 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `pyarrow==${PYARROW_VERSION}`],
      { stdio: 'pipe' },
    );
  }
  return python;
}
