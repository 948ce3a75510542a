/**
 * The one prologue of the operator verbs that work from the config: flags (each verb's own plus `--table` and
 * `--config`) → usage checks → config → the selected tables → the verb, with a Temporal client connected on first
 * use and closed when the verb ends, whatever happens. Usage and config problems exit 2 before anything is
 * connected or started; the dispatcher (main.ts) turns thrown errors into messages and exit codes.
 */
import type { TableConfig, TidemarkConfig } from '../../config/types.js';
import { ConfigError, formatIssues, readConfigFile } from '../../config/index.js';
import { EXIT, UsageError, type CliIo } from '../command.js';
import type { AuditValue, OperatorAction } from '../../lake/operator-audit.js';
import { tableId } from '../../config/tables.js';
import { parseFlags } from './flags.js';
import { beginOperatorAction, type AuditedAction } from './operator-audit.js';
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
  /**
   * The verb changes something: record it in the operator audit ledger (cli/support/operator-audit.ts) before the
   * body runs — if that fails, the body does not run — and its outcome after. The flags are recorded as given.
   */
  readonly audit?: OperatorAction;
}

/** Flags that only shape the output or were recorded otherwise (`config`: the file; `table`: the tables). */
const UNAUDITED_FLAGS = new Set(['config', 'table', 'json', 'help']);

/** The verb's flags as the ledger records them: operator input, strings capped. */
function auditedFlags(values: Record<string, unknown>): Record<string, AuditValue> {
  const what: Record<string, AuditValue> = {};
  for (const [name, value] of Object.entries(values)) {
    if (UNAUDITED_FLAGS.has(name)) continue;
    if (typeof value === 'boolean' || typeof value === 'number') what[name] = value;
    else if (typeof value === 'string') what[name] = value.slice(0, 500);
  }
  return what;
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

/**
 * `target` with every write also kept (the last 2000 characters), for the ledger. A proxy, not a new stream: writes
 * reach `target` synchronously and in order, and everything else (`isTTY`, `columns`, events) is the target's, so
 * the progress display behaves as on the real stderr.
 */
function tailOf(target: NodeJS.WritableStream): { stream: NodeJS.WritableStream; lastLines: () => string | undefined } {
  let tail = '';
  const stream = new Proxy(target, {
    get(t, prop) {
      if (prop === 'write')
        return (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
          tail = (tail + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))).slice(-2000);
          return (t.write as (...args: unknown[]) => boolean).call(t, chunk, ...rest);
        };
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
  // The last three lines: a verb's reason and its progress printer's closing line come in either order.
  const lastLines = (): string | undefined => {
    const lines = tail.split('\n').filter((l) => l.trim() !== '');
    return lines.length === 0 ? undefined : lines.slice(-3).join(' / ');
  };
  return { stream, lastLines };
}

/** The exit code main.ts gives a thrown error (usage and config errors 2, anything else 1). */
function exitCodeOf(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError ? EXIT.invalidInput : EXIT.failure;
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
  // An audited verb's stderr is also kept (its tail): a verb that fails by exit code says why there.
  const said = spec.audit ? tailOf(io.stderr) : undefined;
  const verbIo = said ? { ...io, stderr: said.stream } : io;
  const audited: AuditedAction | undefined = spec.audit
    ? await beginOperatorAction(
        {
          config,
          configFile,
          action: spec.audit,
          tables: tables.map((t) => tableId(config, t)),
          what: auditedFlags(values),
        },
        io.stderr,
      )
    : undefined;
  try {
    const code = await body({
      io: verbIo,
      values,
      config,
      configFile,
      tables,
      temporal: () => (connected ??= temporalClient(config)),
    });
    await audited?.finish(code, code === EXIT.ok ? undefined : said?.lastLines());
    return code;
  } catch (err) {
    await audited?.finish(exitCodeOf(err), err);
    throw err;
  } finally {
    // A connection that failed to open has nothing to close (and its error is already the verb's).
    const temporal = await connected?.catch(() => undefined);
    await temporal?.close();
  }
}
