/**
 * The one prologue of the operator verbs that work from the config: flags (each verb's own plus `--table` and
 * `--config`) → usage checks → config → the selected tables → the verb, with a Temporal client connected on first
 * use and closed when the verb ends, whatever happens. Usage and config problems exit 2 before anything is
 * connected or started; the dispatcher (main.ts) turns thrown errors into messages and exit codes.
 */
import type { TableConfig, TidemarkConfig } from '../../config/types.js';
import { formatIssues, readConfigFile } from '../../config/index.js';
import { EXIT, UsageError, type CliIo } from '../command.js';
import { parseFlags } from './flags.js';
import { configPath, selectTables, temporalClient, type OperatorTemporal } from './operator-context.js';

/** The flags every operator verb takes. */
const OPERATOR_FLAGS = { table: { type: 'string' }, config: { type: 'string' } } as const;

type FlagOptions = Parameters<typeof parseFlags>[1];
type FlagValues<O extends FlagOptions> = ReturnType<typeof parseFlags<O & typeof OPERATOR_FLAGS>>['values'];

/** How a verb reads its command line. */
export interface OperatorVerbSpec<O extends FlagOptions> {
  /** The verb's own flags (`--table` and `--config` are added). */
  readonly flags: O;
  /** `--table` must be given: a usage error ("--table is required") before any other check. */
  readonly requireTable?: boolean;
  /** Usage checks of the flags, run before the config is read: throw a `UsageError`. */
  readonly check?: (values: FlagValues<O>) => void;
}

/** What a verb's body works with. */
export interface OperatorContext<O extends FlagOptions> {
  readonly io: CliIo;
  readonly values: FlagValues<O>;
  readonly config: TidemarkConfig;
  /** The config file used (`--config`, else `$TIDEMARK_CONFIG`, else `./tidemark.yaml`), resolved. */
  readonly configFile: string;
  /** The tables the verb acts on: the one named by `--table`, else all configured (never empty). */
  readonly tables: readonly TableConfig[];
  /** The configured Temporal, connected on the first call (later calls share it); closed when the verb ends. */
  readonly temporal: () => Promise<OperatorTemporal>;
}

/** Runs an operator verb's body after the shared prologue; resolves to the verb's exit code. */
export async function runOperatorVerb<O extends FlagOptions>(
  args: readonly string[],
  io: CliIo,
  spec: OperatorVerbSpec<O>,
  body: (ctx: OperatorContext<O>) => Promise<number>,
): Promise<number> {
  // parseArgs' result type does not resolve inside a generic function: name the two flags this prologue reads.
  const values = parseFlags(args, { ...spec.flags, ...OPERATOR_FLAGS }).values as FlagValues<O> & {
    readonly table?: string;
    readonly config?: string;
  };
  if (spec.requireTable === true && !values.table) throw new UsageError('--table is required');
  spec.check?.(values);
  const configFile = configPath(io, values.config);
  const result = await readConfigFile(configFile, { env: io.env });
  if (!result.ok) {
    io.stderr.write(`${formatIssues(result.errors, configFile)}\n`);
    return EXIT.invalidInput;
  }
  const config = result.config;
  const tables = selectTables(config, values.table);
  let connected: Promise<OperatorTemporal> | undefined;
  try {
    return await body({
      io,
      values,
      config,
      configFile,
      tables,
      temporal: () => (connected ??= temporalClient(config)),
    });
  } finally {
    // A connection that failed to open has nothing to close (and its error is already the verb's).
    const temporal = await connected?.catch(() => undefined);
    await temporal?.close();
  }
}
