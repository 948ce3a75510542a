/**
 * The one walk over an error's cause chain (a Temporal failure nests child → activity → application failure).
 * Pure, so workflow code can use it.
 */

/** `err`, its `cause`, that one's `cause` … outermost first, at most `max` links (a chain may be cyclic). */
export function causeChain(err: unknown, max = 8): unknown[] {
  const links: unknown[] = [];
  for (let e = err; e && links.length < max; e = (e as { cause?: unknown }).cause) links.push(e);
  return links;
}
