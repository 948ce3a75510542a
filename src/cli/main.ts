/**
 * `tidemark`: a small dispatcher over operator verbs, one verb per file in this directory.
 *
 * A verb's file is named after its words and exports `command` (see command.ts): `tidemark config check`
 * runs `config-check.ts`. Verbs are found by file name, the longest match of the words first, so
 * engineers add verbs without touching this file or each other's.
 *
 * Exit codes: 0 done; 1 a failure: Temporal or storage cannot be used as configured (one line saying what was
 * tried and what to do), else unexpected (logged as JSON on stderr, secrets masked); 2 the operator's input
 * (usage or config) is wrong and nothing was started. Config errors are never retried.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, formatIssues } from '../config/index.js';
import { closest } from '../config/suggest.js';
import { BlobStoreError } from '../lake/errors.js';
import { TemporalSetupError } from '../temporal/connect.js';
import { createLogger, maskSecretsInText } from '../util/logger.js';
import { EXIT, UsageError, type CliCommand, type CliIo } from './command.js';

const CLI_DIR = dirname(fileURLToPath(import.meta.url));
const NOT_VERBS = new Set(['main', 'command']);

interface VerbFile {
  readonly words: readonly string[];
  readonly file: string;
}

/** The verb files in this directory, longest names first. */
function verbFiles(): VerbFile[] {
  return readdirSync(CLI_DIR)
    .map((file) => /^([a-z][a-z0-9-]*)\.(?:ts|js)$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== undefined && !NOT_VERBS.has(m[1]))
    .map((m) => ({ words: (m[1] ?? '').split('-'), file: join(CLI_DIR, m[0]) }))
    .sort((a, b) => b.words.length - a.words.length || a.words.join(' ').localeCompare(b.words.join(' ')));
}

async function loadCommand(file: string): Promise<CliCommand | undefined> {
  const module = (await import(pathToFileURL(file).href)) as { command?: CliCommand };
  return typeof module.command?.run === 'function' ? module.command : undefined;
}

async function helpText(): Promise<string> {
  const rows: Array<[string, string]> = [];
  for (const verb of verbFiles()) {
    const command = await loadCommand(verb.file);
    if (command) rows.push([verb.words.join(' '), command.summary]);
  }
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  const width = Math.max(...rows.map(([name]) => name.length), 8);
  return [
    'tidemark — lands SQL Server tables in Azure Blob Storage / ADLS Gen2, incrementally and exactly once.',
    '',
    'Usage: tidemark <command> [arguments]',
    '',
    'Commands:',
    ...rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Run `tidemark <command> --help` for a command’s usage.',
    'Exit codes: 0 done, 1 unexpected failure, 2 invalid usage or config (nothing was started).',
    '',
  ].join('\n');
}

/** Runs `tidemark` with the given arguments; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout).write(await helpText());
    return first === undefined ? EXIT.invalidInput : EXIT.ok;
  }

  const verbs = verbFiles();
  const verb = verbs.find((v) => v.words.every((word, i) => argv[i] === word));
  const command = verb ? await loadCommand(verb.file) : undefined;
  if (!verb || !command) {
    const typed = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    const names = verbs.map((v) => v.words.join(' '));
    const group = names.filter((name) => name.startsWith(`${first} `));
    const guess = closest(typed, names) ?? closest(first, names);
    const hint =
      group.length > 0
        ? ` \`${first}\` needs a subcommand: ${group.join(', ')}.`
        : guess !== undefined
          ? ` Did you mean \`tidemark ${guess}\`?`
          : '';
    io.stderr.write(`tidemark: unknown command \`${typed}\`.${hint} Run \`tidemark --help\` for the list.\n`);
    return EXIT.invalidInput;
  }

  const args = argv.slice(verb.words.length);
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`tidemark: ${error.message}\nUsage: ${command.usage}\n`);
      return EXIT.invalidInput;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`${formatIssues(error.issues, error.file)}\n`);
      return EXIT.invalidInput;
    }
    if (error instanceof TemporalSetupError || error instanceof BlobStoreError) {
      // The environment, not a bug: the message says what was tried and what to do; a stack trace would not help.
      io.stderr.write(`tidemark: ${maskSecretsInText(error.message)}\n`);
      return EXIT.failure;
    }
    createLogger({ name: 'tidemark', destination: io.stderr }).error(
      { err: error, command: verb.words.join(' ') },
      'command failed unexpectedly',
    );
    return EXIT.failure;
  }
}

// Run only as the entry point. Compare real paths: Node resolves symlinks for the main module's URL but
// not in argv[1], and a mismatch here would make `tidemark` silently do nothing.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  process.exitCode = await main(process.argv.slice(2), io);
}
