/**
 * Which Node.js the worker runs on, and what to say when it is an older one. `npm install` pins the Node the
 * project's scripts run on (package.json devDependency `node`; the worker image is `node:24`). Node 20 still runs
 * Tidemark, but it is past its end of life (April 2026), and there `AsyncLocalStorage` — Temporal's activity
 * context and our log context — tracks every promise through promise hooks, which adds ~10% to the driver's CPU
 * per row read (docs/performance.md, "Node 24"). Node 22 and later keep the context without them.
 */

/** The first major version Tidemark recommends. */
export const RECOMMENDED_NODE_MAJOR = 24;
/** Below this major, Node is past its end of life. */
const SUPPORTED_NODE_MAJOR = 22;

/** The major version of a `process.version` string (`v24.21.0` → 24); NaN when it is not one. */
export function nodeMajor(version: string): number {
  const m = /^v?(\d+)\./.exec(version);
  return m ? Number(m[1]) : Number.NaN;
}

/** A warning for a worker running on `version`, or null when that Node is fine. */
export function nodeRuntimeWarning(version: string): string | null {
  const major = nodeMajor(version);
  if (!(major < SUPPORTED_NODE_MAJOR)) return null;
  return (
    `the worker runs on Node ${version}, which is past its end of life and costs the source read ~10% more CPU ` +
    `per row (AsyncLocalStorage's promise hooks); run it on Node ${RECOMMENDED_NODE_MAJOR} — \`npm run worker\` ` +
    `uses the Node that \`npm install\` pins, the worker image is node:${RECOMMENDED_NODE_MAJOR}`
  );
}
