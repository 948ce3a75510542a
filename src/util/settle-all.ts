/**
 * Awaits steps started together and returns their results in order; when any failed, throws the first failure (in
 * the steps' order) once every step has ended. Unlike `Promise.all`, no step is still running when the caller
 * sees the error: an activity that fails is retried, and its retry must not race a step of the failed attempt.
 */
export async function allSettledOrThrow<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> | T[K] }],
): Promise<T> {
  const settled = await Promise.allSettled(steps.map((s) => Promise.resolve(s)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
