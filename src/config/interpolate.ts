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
    if (typeof node === 'string') return interpolateString(node, path);
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

  const interpolateString = (text: string, path: ConfigPath): string => {
    if (!text.includes('$')) return text;
    const where = formatPath(path);
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
        issues.push({
          path,
          message: 'a `${` reference is not closed with `}`',
          fix: 'write ${NAME} or ${NAME:-default}, or $${ for a literal "${"',
        });
        return '';
      }
      const body = text.slice(i + 2, close);
      const sep = body.indexOf(':-');
      const name = sep < 0 ? body : body.slice(0, sep);
      const fallback = sep < 0 ? undefined : body.slice(sep + 2);
      i = close + 1;
      if (!NAME.test(name)) {
        issues.push({
          path,
          message: `\`\${${name}}\` is not a valid environment variable reference`,
          fix: 'use letters, digits and _ only, not starting with a digit: ${NAME} or ${NAME:-default}',
        });
        continue;
      }
      names.push(name);
      const value = env[name];
      if (fallback !== undefined) {
        out += value === undefined || value === '' ? fallback : value;
      } else if (value === undefined) {
        issues.push({
          path,
          message: `environment variable ${name} is not set`,
          fix: `set ${name} in the environment, or give a default with \${${name}:-default}`,
        });
      } else {
        out += value;
      }
    }
    if (names.length > 0) interpolated.set(where, names);
    return out;
  };

  const value = visit(tree, []);
  return { value, interpolated, issues };
}
