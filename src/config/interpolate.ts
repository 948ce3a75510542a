/**
 * `${NAME}` and `${NAME:-default}` in config values.
 *
 * Contract:
 * - Runs on the parsed YAML tree, in string values only (never keys, never comments), so an environment
 *   variable can never inject YAML structure, and every problem has a path.
 * - `${NAME}`: the variable's value; unset is an error at that path. Set but empty yields `''` (the
 *   validator then says what the field needs).
 * - `${NAME:-default}`: the value when set and non-empty, otherwise `default` (POSIX shell semantics).
 *   The default runs to the first `}`; it is taken literally.
 * - `$${` is a literal `${`. A `$` not followed by `{` is kept as is.
 * - Substituted values are not scanned again: a password containing `${` stays as it is.
 * - Which paths were interpolated, and from which variables, is reported, so that the validator can
 *   read `port: ${PORT}` as a number, refuse secrets written literally in the file, and avoid echoing
 *   values that came from the environment.
 */
import { formatPath, type ConfigPath, type RawIssue } from './path.js';

/** Environment as a plain map (tests pass their own; the CLI passes `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Result of interpolating a parsed document. */
export interface InterpolationResult {
  /** The document with every reference replaced (unresolvable references become `''`). */
  readonly value: unknown;
  /** Formatted path → names of the variables its value was built from. */
  readonly interpolated: ReadonlyMap<string, readonly string[]>;
  /** Missing variables and malformed references, one issue each. */
  readonly issues: readonly RawIssue[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces references in every string value of `tree`. */
export function interpolate(tree: unknown, env: Env): InterpolationResult {
  const interpolated = new Map<string, string[]>();
  const issues: RawIssue[] = [];

  // YAML aliases can make the tree circular (`a: &x [*x]`); `open` holds the nodes being visited.
  const open = new Set<object>();
  const visit = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') return interpolateString(node, path, { env, issues, interpolated });
    if (node === null || typeof node !== 'object') return node;
    if (open.has(node)) {
      issues.push({
        path,
        message: 'a YAML alias refers to a value that contains it',
        fix: 'remove the circular `&anchor` / `*alias`',
      });
      return null;
    }
    open.add(node);
    try {
      if (Array.isArray(node)) return node.map((item, i) => visit(item, [...path, i]));
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = visit(value, [...path, key]);
      return out;
    } finally {
      open.delete(node);
    }
  };

  const value = visit(tree, []);
  return { value, interpolated, issues };
}

/** What interpolating one document reads and records. */
interface Interpolation {
  readonly env: Env;
  readonly issues: RawIssue[];
  readonly interpolated: Map<string, string[]>;
}

/** One string value with its references replaced; the variables it was built from are recorded under its path. */
function interpolateString(text: string, path: ConfigPath, run: Interpolation): string {
  if (!text.includes('$')) return text;
  const names: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      run.issues.push({
        path,
        message: 'a `${` reference is not closed with `}`',
        fix: 'write ${NAME} or ${NAME:-default}, or $${ for a literal "${"',
      });
      return '';
    }
    out += resolveReference(text.slice(i + 2, close), path, run, names);
    i = close + 1;
  }
  if (names.length > 0) run.interpolated.set(formatPath(path), names);
  return out;
}

/** The text one reference stands for, given what is between `${` and `}`; `''` when it has an issue. */
function resolveReference(body: string, path: ConfigPath, run: Interpolation, names: string[]): string {
  const sep = body.indexOf(':-');
  const name = sep < 0 ? body : body.slice(0, sep);
  const fallback = sep < 0 ? undefined : body.slice(sep + 2);
  if (!NAME.test(name)) {
    run.issues.push({
      path,
      message: `\`\${${name}}\` is not a valid environment variable reference`,
      fix: 'use letters, digits and _ only, not starting with a digit: ${NAME} or ${NAME:-default}',
    });
    return '';
  }
  names.push(name);
  const value = run.env[name];
  if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
  if (value === undefined) {
    run.issues.push({
      path,
      message: `environment variable ${name} is not set`,
      fix: `set ${name} in the environment, or give a default with \${${name}:-default}`,
    });
    return '';
  }
  return value;
}
