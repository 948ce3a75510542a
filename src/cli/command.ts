/**
 * The contract between `tidemark` (src/cli/main.ts) and its verbs.
 *
 * A verb is a file in src/cli named after its words (`config check` → `config-check.ts`) that exports
 * `command: CliCommand`. main.ts finds verbs by file name, so adding one touches no other file. Keep a
 * verb's top-level imports light (import Temporal or Azure SDKs inside `run`): `tidemark --help` imports
 * every verb to list it.
 */

/** Exit codes of `tidemark`. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** An unexpected failure (a bug, or the environment); details are in the log line on stderr. */
  failure: 1,
  /** The operator's input is wrong (usage or config): fix it and run again; nothing was started. */
  invalidInput: 2,
  /** Done, but something needs attention: a table is stopped, not running, or a verification found differences. */
  attention: 3,
} as const;

/** Where a verb writes and what it may read; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** One operator verb. */
export interface CliCommand {
  /** One line for `tidemark --help`. */
  readonly summary: string;
  /** Usage line(s), e.g. `tidemark config check FILE [--json]`. */
  readonly usage: string;
  /** Runs the verb with the arguments after its words; resolves to the process exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** A wrong invocation: the dispatcher prints the message and the verb's usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
