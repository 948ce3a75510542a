/**
 * Validation primitives: read a field of the parsed document, check it, and record a problem (path, what
 * is wrong, the fix) instead of stopping, so that one pass finds every problem in the file.
 *
 * Readers return a typed value in every case; when the input is wrong they return a harmless fallback
 * and record an issue. A config with any issue is never handed out (`parseConfig` returns the issues
 * instead), so fallbacks never reach the pipeline; they only let validation carry on.
 */
import { parseDuration, type Duration } from './duration.js';
import { formatPath, type ConfigPath, type RawIssue } from './path.js';
import { closest } from './suggest.js';
import { type Secret } from './types.js';

/** Collects issues for one document and knows which values came from the environment. */
export class Checker {
  readonly issues: RawIssue[] = [];

  constructor(private readonly interpolated: ReadonlyMap<string, readonly string[]>) {}

  /** Records a problem at `path`. */
  report(path: ConfigPath, message: string, fix: string): void {
    this.issues.push({ path, message, fix });
  }

  /** Environment variables the value at `path` was built from (empty when it was written literally). */
  envNames(path: ConfigPath): readonly string[] {
    return this.interpolated.get(formatPath(path)) ?? [];
  }

  /**
   * A value as it may appear in a message: literal values are quoted (truncated); values from the
   * environment are named by their variable, never shown, since they may be secrets.
   */
  describe(path: ConfigPath, value: unknown): string {
    const names = this.envNames(path);
    if (names.length > 0) return `the value of ${names.map((n) => `\${${n}}`).join(' + ')}`;
    if (value === null || value === undefined) return 'nothing';
    if (Array.isArray(value)) return 'a list';
    if (typeof value === 'object') return 'a map';
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
  }

  /** Opens a map at `path`; reports (and reads as empty) anything that is not a map. */
  object(path: ConfigPath, node: unknown, what: string): ObjectReader {
    if (isRecord(node)) return new ObjectReader(this, path, node, true);
    if (node !== undefined) {
      this.report(
        path,
        `expected ${what} (a map of keys), got ${this.describe(path, node)}`,
        `write ${what} as indented \`key: value\` lines`,
      );
    }
    return new ObjectReader(this, path, {}, false);
  }
}

/** Options shared by the field readers. */
interface FieldOptions {
  /** What the field is, for the "missing" message, e.g. `the SQL Server host name`. */
  what: string;
  /** An example value for the fix, e.g. `127.0.0.1`. */
  example: string;
}

/** Reads the fields of one map, reporting unknown keys. */
export class ObjectReader {
  constructor(
    readonly checker: Checker,
    readonly path: ConfigPath,
    private readonly record: Readonly<Record<string, unknown>>,
    /** False when the map was absent (or not a map): required fields then report as missing only if present. */
    readonly present: boolean,
  ) {}

  /** Keys suggested for unknown keys ("did you mean"): not reported again as missing. */
  private readonly misspelled = new Set<string>();

  /** Path of one of this map's keys. */
  at(key: string): ConfigPath {
    return [...this.path, key];
  }

  /** Whether the key is written (with any value but null). */
  has(key: string): boolean {
    return this.record[key] !== undefined && this.record[key] !== null;
  }

  /** The key's raw value (null reads as absent). */
  raw(key: string): unknown {
    const value = this.record[key];
    return value === null ? undefined : value;
  }

  /** Keys written in this map. */
  keys(): string[] {
    return Object.keys(this.record);
  }

  /**
   * Reports every key that is not in `allowed`, with a "did you mean" when one is close.
   * `elsewhere` maps keys that are valid in other variants of this map to an explanation.
   */
  allow(allowed: readonly string[], elsewhere: Readonly<Record<string, string>> = {}): void {
    for (const key of this.keys()) {
      if (allowed.includes(key)) continue;
      const explanation = elsewhere[key];
      if (explanation !== undefined) {
        this.checker.report(this.at(key), `\`${key}\` does not belong here: ${explanation}`, `remove \`${key}\``);
        continue;
      }
      const guess = closest(key, allowed);
      if (guess !== undefined && !this.has(guess)) this.misspelled.add(guess);
      this.checker.report(
        this.at(key),
        `unknown key \`${key}\``,
        guess !== undefined
          ? `did you mean \`${guess}\`? (rename the key)`
          : `remove it; keys allowed here: ${allowed.join(', ')}`,
      );
    }
  }

  /**
   * A map whose allowed keys depend on a discriminator (`type`, `strategy`): reads the discriminator,
   * then reports unknown keys, explaining keys that belong to another variant. Undefined when the
   * discriminator is missing or wrong (already reported).
   */
  variant<T extends string>(
    key: string,
    variants: Readonly<Record<T, readonly string[]>>,
    what: string,
  ): T | undefined {
    const names = Object.keys(variants) as T[];
    const keysOf = (name: T): readonly string[] => variants[name];
    const all = [...new Set(names.flatMap(keysOf))];
    const chosen = this.oneOf(key, names, { what, required: true });
    if (chosen === undefined) {
      this.allow([key, ...all]);
      return undefined;
    }
    const elsewhere: Record<string, string> = {};
    for (const other of all) {
      if (keysOf(chosen).includes(other)) continue;
      const users = names.filter((name) => keysOf(name).includes(other));
      elsewhere[other] = `it is used by ${what} ${users.join(', ')}, not ${chosen}`;
    }
    this.allow([key, ...keysOf(chosen)], elsewhere);
    return chosen;
  }

  /** Reports a missing required key; returns true when it is missing. */
  private missing(key: string, options: FieldOptions): boolean {
    if (this.has(key)) return false;
    // `hots:` already reported as "did you mean `host`": one mistake, one issue.
    if (this.misspelled.has(key)) return true;
    if (this.present) {
      this.checker.report(this.at(key), `missing: ${options.what}`, `add \`${key}: ${options.example}\``);
    }
    return true;
  }

  /** A required non-empty string. */
  requiredString(key: string, options: FieldOptions & { check?: StringCheck }): string {
    if (this.missing(key, options)) return '';
    return this.stringValue(key, options) ?? '';
  }

  /** An optional string; `fallback` when absent. */
  optionalString(key: string, options: FieldOptions & { check?: StringCheck }): string | undefined;
  optionalString(key: string, options: FieldOptions & { check?: StringCheck; fallback: string }): string;
  optionalString(key: string, options: FieldOptions & { check?: StringCheck; fallback?: string }): string | undefined {
    if (!this.has(key)) return options.fallback;
    // An explicit '' means "none" for optional text whose default is empty (e.g. `prefix: ''`).
    if (this.raw(key) === '' && options.fallback === '') return '';
    return this.stringValue(key, options) ?? options.fallback;
  }

  private stringValue(key: string, options: FieldOptions & { check?: StringCheck }): string | undefined {
    const value = this.raw(key);
    const path = this.at(key);
    // YAML reads `port: 1433` as a number and `name: 0042` as a number too; strings are what we want
    // for names, so accept a plain number where a string is expected rather than make people quote it.
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string') {
      this.checker.report(
        path,
        `expected ${options.what} (text), got ${this.checker.describe(path, value)}`,
        `write \`${key}: ${options.example}\``,
      );
      return undefined;
    }
    if (text.trim() === '') {
      this.checker.report(path, `${options.what} is empty`, `write \`${key}: ${options.example}\``);
      return undefined;
    }
    if (options.check) {
      const problem = options.check(text);
      if (problem) {
        this.checker.report(path, `${this.checker.describe(path, text)} ${problem.message}`, problem.fix);
        return undefined;
      }
    }
    return text;
  }

  /** A whole number within [min, max]; `fallback` when absent. */
  integer(key: string, options: FieldOptions & { min: number; max?: number; fallback: number }): number;
  integer(key: string, options: FieldOptions & { min: number; max?: number; required: true }): number;
  integer(
    key: string,
    options: FieldOptions & { min: number; max?: number; fallback?: number; required?: true },
  ): number {
    if (!this.has(key)) {
      if (options.required) this.missing(key, options);
      return options.fallback ?? options.min;
    }
    const value = this.raw(key);
    const path = this.at(key);
    // A value from `${ENV}` is text; read it as a number only when it came from the environment.
    const number =
      typeof value === 'string' && this.checker.envNames(path).length > 0 && /^\d+$/.test(value.trim())
        ? Number(value)
        : value;
    const range = options.max === undefined ? `at least ${options.min}` : `between ${options.min} and ${options.max}`;
    if (typeof number !== 'number' || !Number.isInteger(number)) {
      this.checker.report(
        path,
        `expected ${options.what} (a whole number), got ${this.checker.describe(path, value)}`,
        `write a whole number ${range}, e.g. \`${key}: ${options.example}\``,
      );
      return options.fallback ?? options.min;
    }
    if (number < options.min || (options.max !== undefined && number > options.max)) {
      this.checker.report(
        path,
        `${options.what} must be ${range}, got ${this.checker.describe(path, value)}`,
        `write a whole number ${range}, e.g. \`${key}: ${options.example}\``,
      );
      return options.fallback ?? options.min;
    }
    return number;
  }

  /** true/false; `fallback` when absent. */
  boolean(key: string, options: { what: string; fallback: boolean }): boolean {
    if (!this.has(key)) return options.fallback;
    const value = this.raw(key);
    const path = this.at(key);
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && this.checker.envNames(path).length > 0) {
      const lowered = value.trim().toLowerCase();
      if (lowered === 'true') return true;
      if (lowered === 'false') return false;
    }
    this.checker.report(
      path,
      `expected true or false for ${options.what}, got ${this.checker.describe(path, value)}`,
      `write \`${key}: true\` or \`${key}: false\``,
    );
    return options.fallback;
  }

  /** A duration such as `15m`; `fallback` when absent; `required` reports absence. */
  duration(
    key: string,
    options: FieldOptions & { fallback: Duration; min?: Duration; max?: Duration; required?: true },
  ): Duration {
    if (!this.has(key)) {
      if (options.required) this.missing(key, options);
      return options.fallback;
    }
    const value = this.raw(key);
    const path = this.at(key);
    const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
    if (parsed === undefined) {
      const hint = typeof value === 'number' ? ` (add a unit: \`${key}: ${value}m\` or \`${value}s\`)` : '';
      this.checker.report(
        path,
        `expected ${options.what} as a duration, got ${this.checker.describe(path, value)}`,
        `write a number with a unit (ms, s, m, h, d), e.g. \`${key}: ${options.example}\`${hint}`,
      );
      return options.fallback;
    }
    if (options.min !== undefined && parsed.ms < options.min.ms) {
      this.checker.report(
        path,
        `${options.what} must be at least ${options.min.text}, got ${parsed.text}`,
        `write \`${key}: ${options.min.text}\` or more`,
      );
      return options.fallback;
    }
    if (options.max !== undefined && parsed.ms > options.max.ms) {
      this.checker.report(
        path,
        `${options.what} must be at most ${options.max.text}, got ${parsed.text}`,
        `write \`${key}: ${options.max.text}\` or less`,
      );
      return options.fallback;
    }
    return parsed;
  }

  /** One of a fixed set of words; reports a close match as "did you mean". */
  oneOf<T extends string>(key: string, values: readonly T[], options: { what: string; required: true }): T | undefined;
  oneOf<T extends string>(key: string, values: readonly T[], options: { what: string; fallback: T }): T;
  oneOf<T extends string>(key: string, values: readonly T[], options: { what: string }): T | undefined;
  oneOf<T extends string>(
    key: string,
    values: readonly T[],
    options: { what: string; fallback?: T; required?: true },
  ): T | undefined {
    if (!this.has(key)) {
      if (options.required)
        this.missing(key, { what: `${options.what} (one of ${values.join(', ')})`, example: values[0] ?? '' });
      return options.fallback;
    }
    const value = this.raw(key);
    const path = this.at(key);
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
    const guess = typeof value === 'string' ? closest(value, values) : undefined;
    this.checker.report(
      path,
      `${this.checker.describe(path, value)} is not a valid ${options.what}`,
      guess !== undefined ? `did you mean \`${key}: ${guess}\`?` : `write one of: ${values.join(', ')}`,
    );
    return undefined;
  }

  /**
   * A secret: text from `${ENV}` interpolation, or `{ keyVault: { vaultUrl, secretName, version? } }`.
   * Writing a secret literally in the file is an error: config files get committed and shared.
   */
  secret(key: string, options: { what: string; envExample: string; required: true }): Secret;
  secret(key: string, options: { what: string; envExample: string }): Secret | undefined;
  secret(key: string, options: { what: string; envExample: string; required?: true }): Secret | undefined {
    const fallback: Secret = { kind: 'value', value: '', fromEnv: [] };
    const fix = `write \`${key}: \${${options.envExample}}\` (and set ${options.envExample}), or a Key Vault reference \`${key}: { keyVault: { vaultUrl: https://<vault>.vault.azure.net, secretName: <name> } }\``;
    if (!this.has(key)) {
      if (options.required && this.present && !this.misspelled.has(key)) {
        this.checker.report(this.at(key), `missing: ${options.what}`, fix);
      }
      return options.required ? fallback : undefined;
    }
    const value = this.raw(key);
    const path = this.at(key);
    if (typeof value === 'string') {
      const fromEnv = this.checker.envNames(path);
      if (fromEnv.length === 0) {
        // Never echo the value: it is probably the secret itself.
        this.checker.report(path, `${options.what} is written literally in the file`, fix);
        return fallback;
      }
      if (value === '') {
        this.checker.report(
          path,
          `${options.what} is empty (${fromEnv.map((n) => `\${${n}}`).join(', ')} is set to an empty string)`,
          `set ${fromEnv.join(', ')} to the secret`,
        );
        return fallback;
      }
      return { kind: 'value', value, fromEnv };
    }
    if (!isRecord(value) || value.keyVault === undefined) {
      this.checker.report(path, `${options.what} must be \${ENV} text or a \`keyVault\` reference`, fix);
      return fallback;
    }
    const ref = this.checker.object(path, value, options.what);
    ref.allow(['keyVault']);
    const kv = this.checker.object(ref.at('keyVault'), ref.raw('keyVault'), 'a Key Vault reference');
    kv.allow(['vaultUrl', 'secretName', 'version']);
    const vaultUrl = kv.requiredString('vaultUrl', {
      what: 'the Key Vault URL',
      example: 'https://<vault>.vault.azure.net',
      check: (url) =>
        /^https:\/\/[a-z0-9-]+\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)\/?$/i.test(url)
          ? undefined
          : { message: 'is not a Key Vault URL', fix: 'write `vaultUrl: https://<vault>.vault.azure.net`' },
    });
    const secretName = kv.requiredString('secretName', {
      what: 'the name of the secret in the vault',
      example: 'tidemark-sql-password',
      check: (name) =>
        /^[A-Za-z0-9-]{1,127}$/.test(name)
          ? undefined
          : { message: 'is not a Key Vault secret name', fix: 'use 1–127 letters, digits and hyphens' },
    });
    const version = kv.optionalString('version', { what: 'the secret version', example: '<32 hex digits>' });
    return {
      kind: 'keyVault',
      vaultUrl: vaultUrl.replace(/\/$/, ''),
      secretName,
      ...(version === undefined ? {} : { version }),
    };
  }

  /** A list; reports anything else. Returns the items with their paths. */
  list(key: string, options: FieldOptions & { required?: true }): Array<{ node: unknown; path: ConfigPath }> {
    if (!this.has(key)) {
      if (options.required) this.missing(key, { ...options, example: `[${options.example}]` });
      return [];
    }
    const value = this.raw(key);
    const path = this.at(key);
    if (!Array.isArray(value)) {
      this.checker.report(
        path,
        `expected ${options.what} (a list), got ${this.checker.describe(path, value)}`,
        `write it as a list: \`${key}: [${options.example}]\` or one \`- item\` per line`,
      );
      return [];
    }
    return value.map((node: unknown, i) => ({ node, path: [...path, i] }));
  }
}

/** A check of a string's content: undefined when fine, or what is wrong (after the quoted value) and the fix. */
export type StringCheck = (value: string) => { message: string; fix: string } | undefined;

/** Whether a value is a plain map. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
