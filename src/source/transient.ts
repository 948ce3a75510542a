/**
 * Which source failures are transient (retry the same query after a pause) and which are not (fail the step
 * with a clear error). The list is explicit; anything not on it is permanent.
 *
 * Transient:
 * - driver codes: `ESOCKET` (connection reset/refused), `ECONNCLOSED`, `ECONNRESET`, `ETIMEOUT` (connect or
 *   request timeout), `ENOTOPEN` (pool connection lost);
 * - SQL Server numbers: 1205 deadlock victim, 1222 lock request timeout, 1204 lock resources, 921 database not
 *   yet recovered, 976/983 AG database not accessible (failover), 4060 cannot open database (failover),
 *   40197/40501/40540/40613/49918/49919/49920 Azure SQL service busy/reconfiguring, 233/10053/10054/10060/64
 *   transport errors, 8645 memory grant timeout.
 * Permanent (examples): permission (229, 230, 297, 300), invalid object (208 — a dropped CDC instance),
 * 313 (CDC range), 3952 (snapshot not allowed), 22105/22117 (CT), login failure 18456, syntax.
 */
import { SAFE_DIAGNOSTIC_NUMBERS, SourceError, SourceQueryError, TransientSourceError } from './errors.js';

export const TRANSIENT_SQL_NUMBERS: ReadonlyMap<number, string> = new Map([
  [1205, 'deadlock victim (1205)'],
  [1222, 'lock request timeout (1222)'],
  [1204, 'lock resources exhausted (1204)'],
  [921, 'database not yet recovered (921)'],
  [976, 'availability group database not accessible (976)'],
  [983, 'availability replica not accessible (983)'],
  [4060, 'cannot open database, e.g. during failover (4060)'],
  [40197, 'service error while processing the request (40197)'],
  [40501, 'service busy (40501)'],
  [40540, 'service error (40540)'],
  [40613, 'database not currently available (40613)'],
  [49918, 'not enough resources (49918)'],
  [49919, 'too many operations in progress (49919)'],
  [49920, 'too many operations in progress (49920)'],
  [233, 'transport: no process on the other end (233)'],
  [10053, 'transport: connection aborted (10053)'],
  [10054, 'transport: connection reset by peer (10054)'],
  [10060, 'transport: connection timed out (10060)'],
  [64, 'transport: network name no longer available (64)'],
  [8645, 'memory grant timeout (8645)'],
]);

export const TRANSIENT_DRIVER_CODES: ReadonlyMap<string, string> = new Map([
  ['ESOCKET', 'connection reset or refused'],
  ['ECONNCLOSED', 'connection closed'],
  ['ECONNRESET', 'connection reset'],
  ['ETIMEOUT', 'timeout'],
  ['ENOTOPEN', 'connection not open'],
]);

/** The SQL Server error number and driver code of an mssql/tedious error, wherever they sit. */
export function sqlErrorInfo(err: unknown): { number?: number; code?: string; message: string } {
  const e = err as {
    number?: unknown;
    code?: unknown;
    message?: unknown;
    originalError?: unknown;
    precedingErrors?: unknown;
  };
  const orig = e?.originalError as { number?: unknown; code?: unknown; info?: { number?: unknown } } | undefined;
  const num =
    typeof e?.number === 'number'
      ? e.number
      : typeof orig?.number === 'number'
        ? orig.number
        : typeof orig?.info?.number === 'number'
          ? orig.info.number
          : undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof orig?.code === 'string' ? orig.code : undefined;
  const out: { number?: number; code?: string; message: string } = { message: String(e?.message ?? err) };
  if (num !== undefined) out.number = num;
  if (code !== undefined) out.code = code;
  return out;
}

const TLS_FAILURE =
  /certificate|self[- ]signed|CERT_|unable to verify|Hostname\/IP does not match|ERR_TLS|wrong version number/i;

/** A TLS verification failure (permanent: retrying cannot fix a certificate), as a short value-free text. */
export function tlsFailure(err: unknown): string | undefined {
  const { message } = sqlErrorInfo(err);
  const m = TLS_FAILURE.exec(message);
  return m ? message.replace(/\s+/g, ' ').slice(0, 200) : undefined;
}

/**
 * Login failures (code ELOGIN) reach us without their error number: tedious keeps only the server's text (and
 * `isTransient` for its own short list). The failover errors of the transient list are told by that text
 * (SQL Server's English message; a server in another language falls back to permanent, as before).
 */
const TRANSIENT_LOGIN_TEXTS: readonly [RegExp, number][] = [
  [/Unable to access availability database/i, 983],
  [/participating in an availability group and is currently not accessible/i, 976],
];

/** Why an error is transient, or undefined when it is not. */
export function transientReason(err: unknown): string | undefined {
  if (tlsFailure(err)) return undefined;
  const { number, code, message } = sqlErrorInfo(err);
  if (number !== undefined && TRANSIENT_SQL_NUMBERS.has(number)) return TRANSIENT_SQL_NUMBERS.get(number);
  if (code !== undefined && TRANSIENT_DRIVER_CODES.has(code)) return TRANSIENT_DRIVER_CODES.get(code);
  if (code === 'ELOGIN') {
    const known = TRANSIENT_LOGIN_TEXTS.find(([text]) => text.test(message));
    if (known) return `${TRANSIENT_SQL_NUMBERS.get(known[1])} at login`;
  }
  return undefined;
}

/** Retry settings: attempts in all (first + retries), exponential backoff with full jitter. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 500, maxDelayMs: 10_000 };

/**
 * Runs `fn`, retrying transient failures. A permanent failure becomes a {@link SourceQueryError} (or is passed
 * through when it already is a source error); transient ones that exhaust the attempts become a
 * {@link TransientSourceError}. Only use it for idempotent reads.
 */
export async function withTransientRetry<T>(
  operation: string,
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (info: { operation: string; attempt: number; reason: string; delayMs: number }) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof SourceError) throw err;
      const reason = transientReason(err);
      if (reason === undefined) throw toSourceQueryError(operation, err);
      if (attempt >= policy.attempts) throw new TransientSourceError(operation, reason, attempt);
      const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(cap / 2 + Math.random() * (cap / 2));
      onRetry?.({ operation, attempt, reason, delayMs });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** A permanent driver error as a {@link SourceQueryError}, keeping the server text only when it is value-free. */
export function toSourceQueryError(operation: string, err: unknown): SourceQueryError {
  const { number, code, message } = sqlErrorInfo(err);
  const tls = tlsFailure(err);
  if (tls)
    return new SourceQueryError(
      operation,
      number,
      code,
      `TLS: ${tls} — set source.caFile to the CA that signed the server's certificate (or fix the host name)`,
    );
  if (code === 'ELOGIN')
    return new SourceQueryError(
      operation,
      number,
      code,
      'login failed: check source.auth (user and password, or the Entra identity) and that the login can open the database',
    );
  const safe = number !== undefined && SAFE_DIAGNOSTIC_NUMBERS.has(number) ? message : undefined;
  return new SourceQueryError(operation, number, code, safe);
}
