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

/** Levenshtein distance; inputs are short keys, so the simple O(n·m) table is fine. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
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
