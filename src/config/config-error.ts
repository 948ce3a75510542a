/**
 * What a config problem looks like, and the error that carries all of them.
 *
 * Taxonomy: a config error is the operator's to fix. It is shown to the operator and never retried
 * (a retry would read the same file and fail the same way); activities that meet one convert it to a
 * non-retryable `ApplicationFailure` of type {@link CONFIG_ERROR_TYPE}.
 *
 * HIPAA: issues name paths, environment variable names and expectations. They never echo a secret, and
 * never echo a value that came from the environment (it might be one).
 */

/** One problem found in a config file. */
export interface ConfigIssue {
  /** Where: a path into the file such as `tables[2].capture.column`, or `(file)` for the file itself. */
  readonly path: string;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** How to fix it, in one sentence an operator can act on. */
  readonly fix: string;
  /** 1-based line in the file, when it is known. */
  readonly line?: number;
}

/** The failure type name used when a {@link ConfigError} crosses the Temporal activity boundary. */
export const CONFIG_ERROR_TYPE = 'ConfigError';

/** A config file (or text) that cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = CONFIG_ERROR_TYPE;
  /** Config errors are fixed by an operator, never by retrying. */
  readonly retryable = false;

  constructor(
    /** Every problem found, in file order. */
    readonly issues: readonly ConfigIssue[],
    /** The file the problems were found in, when there is one. */
    readonly file?: string,
  ) {
    super(summarize(issues, file));
  }
}

function summarize(issues: readonly ConfigIssue[], file: string | undefined): string {
  const where = file ? ` in ${file}` : '';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  // The whole message crosses Temporal and reaches `tidemark status`: say what is wrong and how to fix it, not
  // only where (issues never carry secrets or environment values, see above).
  const details = issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message} (fix: ${i.fix})`)
    .join('; ');
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : '';
  return `invalid config${where}: ${count}: ${details}${more}`;
}

/** Renders issues for a terminal: one block per issue, path first, then what is wrong and the fix. */
export function formatIssues(issues: readonly ConfigIssue[], file?: string): string {
  const header = `${file ?? 'config'}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}`;
  const blocks = issues.map((issue) => {
    const line = issue.line === undefined ? '' : ` (line ${issue.line})`;
    return `  ✗ ${issue.path}${line}\n      ${issue.message}\n      fix: ${issue.fix}`;
  });
  return [header, ...blocks].join('\n');
}
