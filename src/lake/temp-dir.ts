/** The lake's local scratch space: a fresh directory per step, removed afterwards whatever happens. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `fn` in a new directory `<parent>/<prefix>XXXXXX` (the OS temp directory when `parent` is undefined) and
 * removes it afterwards. A directory of its own per call, so steps sharing a configured scratch directory (two
 * tables in one worker) never write the same local file.
 */
export async function withTempDir<T>(
  prefix: string,
  parent: string | undefined,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(parent ?? tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
