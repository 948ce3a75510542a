/**
 * "Did you mean" hints for unknown keys and enum values: typos must be caught, and the fix should be
 * obvious from the message.
 */

/** Words operators reach for that mean one of our keys; checked before edit distance. */
const ALIASES: Readonly<Record<string, string>> = {
  server: 'host',
  hostname: 'host',
  db: 'database',
  username: 'user',
  login: 'user',
  pwd: 'password',
  schedule: 'cadence',
  interval: 'cadence',
  frequency: 'cadence',
  table: 'name',
  strategy: 'capture',
  keys: 'key',
  primaryKey: 'key',
  queue: 'taskQueue',
  url: 'accountUrl',
};

function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * Edit distance counting an adjacent transposition as one edit (optimal string alignment), since
 * `hots` for `host` is the typical typo. Inputs are short keys, so the O(n·m) table is fine.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i];
    if (!row) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo: equal ignoring case,
 * `-`, `_` and spaces; a known alias; or within an edit distance of about a third of its length.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = normalize(word);
  const exact = candidates.find((c) => normalize(c) === norm);
  if (exact !== undefined) return exact;
  const alias = ALIASES[word] ?? ALIASES[norm];
  if (alias !== undefined && candidates.includes(alias)) return alias;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(norm, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(norm.length / 3));
  return bestDistance <= allowed ? best : undefined;
}
