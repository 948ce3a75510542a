/**
 * Structured JSON logging for every Tidemark process.
 *
 * Contract:
 * - One JSON object per line (pino), level names as strings, ISO timestamps.
 * - Secrets never reach a sink: any key named like a credential is censored wherever it appears
 *   (see {@link SECRET_KEYS}), and connection strings are masked by {@link maskSecretsInText}.
 * - PHI never reaches a sink: callers register the PHI column names of their tables with
 *   {@link createLogger}'s `phiColumns`; values under those keys are censored at any depth we know of.
 *   The pipeline's own rule is stronger still: row values are never logged at all. Redaction is the
 *   safety net, not the mechanism.
 * - Correlation: every line logged while a unit of work runs carries its {@link LogContext} — for an activity
 *   the table, the window sequence (or the job and chunk), the workflow and activity ids
 *   (src/activities/log-context.ts sets it with {@link runWithLogContext}); a field the line's own object or a
 *   child logger's bindings already carry is not repeated.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are credentials. Matched case-sensitively as written and in lower case. */
export const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'apiKey',
  'accessKey',
  'accountKey',
  'connectionString',
  'token',
  'accessToken',
  'authorization',
  'sasToken',
] as const;

const CENSOR = '[redacted]';

/** Correlation fields attached to log lines of one unit of work. */
export interface LogContext {
  table?: string;
  window?: number | string;
  workflowId?: string;
  activityId?: string;
  runId?: string;
  [key: string]: unknown;
}

const logContexts = new AsyncLocalStorage<Readonly<LogContext>>();

/**
 * Runs `fn` with `context` added to every line any logger of this module writes while it runs (its awaits
 * included: the context follows the async calls `fn` makes, as AsyncLocalStorage does).
 */
export function runWithLogContext<T>(context: Readonly<LogContext>, fn: () => T): T {
  return logContexts.run({ ...logContexts.getStore(), ...context }, fn);
}

/** The context of the unit of work running now (undefined outside one). */
export function currentLogContext(): Readonly<LogContext> | undefined {
  return logContexts.getStore();
}

/** pino's mixin: the current context, without the keys the child logger's bindings already carry. */
function contextMixin(_merge: object, _level: number, logger: Logger): object {
  const context = logContexts.getStore();
  if (!context) return {};
  const bound = logger.bindings();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) if (!(k in bound) && v !== undefined) out[k] = v;
  return out;
}

export interface CreateLoggerOptions {
  /** Process or component name, e.g. `worker`, `cli`, `stack`. */
  name: string;
  /** Minimum level; defaults to `TIDEMARK_LOG_LEVEL` or `info`. */
  level?: string;
  /** Column names configured as PHI across all tables; their values are censored if they ever appear. */
  phiColumns?: readonly string[];
  /** Where to write; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

function redactPaths(keys: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const key of keys) {
    const quoted = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key.replace(/"/g, '\\"')}"]`;
    const dot = quoted.startsWith('[') ? '' : '.';
    // pino's redaction needs explicit depths; four levels cover config, errors and row-shaped objects.
    paths.add(quoted);
    paths.add(`*${dot}${quoted}`);
    paths.add(`*.*${dot}${quoted}`);
    paths.add(`*.*.*${dot}${quoted}`);
  }
  return [...paths];
}

/** Creates the root logger of a process. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const secretKeys = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => k.toLowerCase())];
  const keys = [...new Set([...secretKeys, ...(options.phiColumns ?? [])])];
  const config: LoggerOptions = {
    name: options.name,
    level: options.level ?? process.env.TIDEMARK_LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths(keys), censor: CENSOR },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
    serializers: { err: serializeError },
    // The line's own fields win over the context's (pino merges the mixin's object under them).
    mixin: contextMixin,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A child logger carrying correlation fields. */
export function withContext(logger: Logger, context: LogContext): Logger {
  return logger.child(context);
}

/**
 * Masks credentials embedded in free text (connection strings, URLs with SAS tokens, `password=` pairs).
 * Used on error messages from drivers and SDKs before they are logged or returned.
 */
export function maskSecretsInText(text: string): string {
  return text
    .replace(/(AccountKey|SharedAccessSignature|Password|Pwd|ClientSecret)=([^;&\s"']+)/gi, `$1=${CENSOR}`)
    .replace(/([?&](?:sig|se|sp|sv|st|skoid|sktid)=)[^&\s"']+/gi, `$1${CENSOR}`)
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g, `$1${CENSOR}`);
}

/** An error as a log field: type, message (with its causes') and stack, credentials masked. */
export function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  // An ApplicationFailure's own `type` (e.g. `ConfigError`) says more than its class name.
  const ownType = (err as { type?: unknown } | null)?.type;
  if (typeof ownType === 'string') serialized.type = ownType;
  if (typeof serialized.message === 'string') serialized.message = maskSecretsInText(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = maskSecretsInText(serialized.stack);
  if (Array.isArray(serialized.aggregateErrors))
    serialized.aggregateErrors = serialized.aggregateErrors.map(serializeError);
  return serialized;
}

/**
 * Log fields from another library's metadata (the Temporal SDK's `{ error, durationMs, … }`) with every Error
 * value serialized like `err`. Without this an Error under any key but `err` is written as `{}` or its
 * enumerable fields only (an ApplicationFailure's `type`), and its message is lost.
 */
export function withSerializedErrors(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {}))
    out[key] = value instanceof Error ? serializeError(value) : value;
  return out;
}
