/** Retries `check` until it resolves or `timeoutMs` passes (then its last error is thrown), pausing `intervalMs`. */
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
