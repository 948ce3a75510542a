/**
 * Text or file in, a typed config or every problem out.
 *
 * `parseConfig` is pure (no file system, no process.env) so tests give it text and an environment;
 * `loadConfig` reads a file, resolves relative paths against its directory, checks referenced files
 * exist, and throws a {@link ConfigError} carrying every problem.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { interpolate, type Env } from './interpolate.js';
import { formatPath, type RawIssue } from './path.js';
import { Checker } from './reader.js';
import { type TidemarkConfig } from './types.js';
import { type PathOptions } from './sections/shared-fields.js';
import { validateDocument } from './validate.js';

/** The outcome of parsing: a config, or every problem found. */
export type ParseResult = { ok: true; config: TidemarkConfig } | { ok: false; errors: ConfigIssue[] };

/** Options of {@link parseConfig}. */
export type ParseOptions = PathOptions;

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** Environment for `${ENV}` interpolation; `process.env` when absent. */
  env?: Env;
}

/** Parses and validates config text. Never throws for bad input: problems come back as `errors`. */
export function parseConfig(text: string, env: Env, options: ParseOptions = {}): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [syntax] = doc.errors;
  if (syntax !== undefined) {
    // Syntax errors make the structure unreliable, and after the first they mostly echo it: report the
    // first, with its line, and say how many followed.
    const more = doc.errors.length - 1;
    return {
      ok: false,
      errors: [
        {
          path: '(file)',
          message: `YAML syntax: ${firstLine(syntax.message)}${more > 0 ? ` (and ${more} more YAML error${more === 1 ? '' : 's'} after it)` : ''}`,
          fix: 'fix the YAML at this line: indentation, a missing `:`, an unclosed quote or bracket, a repeated key; inside `{ }` or `[ ]`, quote values that contain `${…}`',
          line: lineCounter.linePos(syntax.pos[0]).line,
        },
      ],
    };
  }

  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      errors: [
        {
          path: '(file)',
          message: `YAML: ${firstLine((error as Error).message)}`,
          fix: 'remove excessive anchors and aliases',
        },
      ],
    };
  }

  const interpolation = interpolate(tree, env);
  const checker = new Checker(interpolation.interpolated);
  const config = validateDocument(checker, interpolation.value, options);

  // A missing variable already explains why its field is empty: keep one issue per path for it.
  const interpolationPaths = new Set(interpolation.issues.map((i) => formatPath(i.path)));
  const raw: RawIssue[] = [
    ...interpolation.issues,
    ...checker.issues.filter((i) => !interpolationPaths.has(formatPath(i.path))),
  ];
  if (raw.length === 0) return { ok: true, config };

  const placed = raw.map((issue, order) => ({ issue: place(issue, doc, lineCounter), order }));
  placed.sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.order - b.order);
  return { ok: false, errors: placed.map((p) => p.issue) };
}

/** Reads and parses a config file without throwing for bad input (a missing file is an issue too). */
export async function readConfigFile(path: string, options: LoadOptions = {}): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path} (${code ?? 'error'})`;
    return {
      ok: false,
      errors: [{ path: '(file)', message, fix: 'give the path of a Tidemark YAML config, e.g. tidemark.example.yaml' }],
    };
  }
  return parseConfig(text, options.env ?? process.env, {
    baseDir: dirname(resolve(path)),
    fileExists: (p) => existsSync(p),
  });
}

/**
 * Loads a config file for a process that needs it (worker, CLI verbs).
 * @throws ConfigError with every problem found; never retried.
 */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<TidemarkConfig> {
  const result = await readConfigFile(path, options);
  if (!result.ok) throw new ConfigError(result.errors, path);
  return result.config;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** Finds the line of an issue's path: the key's own line, or its nearest written ancestor's. */
function place(issue: RawIssue, doc: Document, lineCounter: LineCounter): ConfigIssue {
  let node: unknown = doc.contents;
  let offset: number | undefined = isMap(node) || isSeq(node) ? node.range?.[0] : undefined;
  for (const segment of issue.path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!item) break;
      if ((isMap(item) || isSeq(item) || isScalar(item)) && item.range) offset = item.range[0];
      node = item;
    } else break;
  }
  const base = { path: formatPath(issue.path), message: issue.message, fix: issue.fix };
  return offset === undefined ? base : { ...base, line: lineCounter.linePos(offset).line };
}
