/**
 * `tidemark config check FILE [--json]`: validates a config file and prints the resolved config with
 * secrets masked (exit 0), or every problem at once (exit 2). Starts nothing, connects to nothing.
 */
import { resolve } from 'node:path';
import { formatIssues, maskSecrets, readConfigFile, renderConfig } from '../config/index.js';
import { EXIT, UsageError, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';

export const command: CliCommand = {
  summary: 'validate a config file; print it resolved (secrets masked) or list every problem',
  usage: 'tidemark config check FILE [--json]',
  async run(args, io) {
    // Not an operator verb (runOperatorVerb): it checks the file it is given and connects to nothing.
    const parsed = parseFlags(args, { json: { type: 'boolean' } }, { positionals: true });
    const [file, ...extra] = parsed.positionals;
    if (file === undefined) throw new UsageError('give the config file to check');
    if (extra.length > 0) throw new UsageError(`one file at a time (got ${parsed.positionals.length})`);

    const result = await readConfigFile(resolve(io.cwd, file), { env: io.env });
    if (parsed.values.json === true) {
      const body = result.ok ? { ok: true, config: maskSecrets(result.config) } : { ok: false, errors: result.errors };
      io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return result.ok ? EXIT.ok : EXIT.invalidInput;
    }
    if (!result.ok) {
      io.stderr.write(`${formatIssues(result.errors, file)}\n`);
      return EXIT.invalidInput;
    }
    const tables = result.config.tables.length;
    io.stdout.write(
      `# ${file}: valid, ${tables} ${tables === 1 ? 'table' : 'tables'}; resolved config (secrets masked):\n`,
    );
    io.stdout.write(renderConfig(result.config));
    return EXIT.ok;
  },
};
