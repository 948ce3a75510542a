/**
 * `tidemark doctor`'s source checks besides permissions (privilege-check.ts): the TLS the connection actually
 * negotiated, readable-secondary routing, snapshot isolation, and per table whether its CDC or Change Tracking is
 * enabled and keeps changes long enough for the table's cadence and the nightly window. Each is a
 * {@link HealthFinding}: ok, a problem (with the statement that fixes it when there is one), or a note (not a
 * fault, but worth knowing, e.g. a value this login may not read).
 */
import type { NightlyConfig, SourceConfig, TableConfig } from '../config/types.js';
import { isLoopback } from '../config/index.js';
import type { SourceConnection } from './connection.js';
import type { TableDiscovery } from './discovery.js';
import { checkPrerequisites } from './prerequisites.js';
import { quoteIdent } from './sql-text.js';

/** One check's outcome. */
export interface HealthFinding {
  /** `connection`, `database` or the table, `schema.table`. */
  readonly scope: string;
  readonly status: 'ok' | 'problem' | 'note';
  /** e.g. `tls`, `snapshot_isolation`, `ct.retention`. */
  readonly check: string;
  readonly message: string;
  readonly fixSql?: string;
}

/** The TLS side of one live connection of the pool, as the driver negotiated it. */
export interface NegotiatedTls {
  /** `TLSv1.2`, `TLSv1.3`; null when the connection is not encrypted. */
  readonly protocol: string | null;
  readonly cipher: string | null;
  /** Whether the server's certificate chain was validated (false with trustServerCertificate). */
  readonly certificateValidated: boolean;
}

/** The socket tedious wraps in TLS after PRELOGIN (its `MessageIO.securePair`; not a public API). */
interface TediousInternals {
  messageIo?: {
    securePair?: {
      cleartext?: {
        getProtocol(): string | null;
        getCipher(): { name: string } | undefined;
        authorized: boolean;
      };
    };
  };
}

/**
 * What the driver negotiated on a live connection. Read from tedious's TLS socket rather than
 * `sys.dm_exec_connections.encrypt_option`: that DMV needs VIEW SERVER STATE, which the extractor must not hold,
 * and the socket is the connection itself. The field is internal to tedious (typed loosely here): if a tedious
 * upgrade moves it, this reports "not encrypted" and the doctor test that expects TLS fails.
 */
export async function negotiatedTls(conn: SourceConnection): Promise<NegotiatedTls> {
  const pool = conn.pool as unknown as { acquire(): Promise<unknown>; release(c: unknown): void };
  const c = await pool.acquire();
  try {
    const socket = (c as TediousInternals).messageIo?.securePair?.cleartext;
    const protocol = socket?.getProtocol() ?? null;
    return {
      protocol,
      cipher: socket?.getCipher()?.name ?? null,
      certificateValidated: protocol !== null && socket?.authorized === true,
    };
  } finally {
    pool.release(c);
  }
}

/** Whether the negotiated TLS is what the config promises: encrypted and validated, except on loopback. */
export function tlsFinding(tls: NegotiatedTls, source: SourceConfig): HealthFinding {
  const where = `${source.host}:${source.port}`;
  const loopback = isLoopback(source.host);
  if (tls.protocol === null)
    return {
      scope: 'connection',
      check: 'tls',
      status: loopback && !source.encrypt ? 'note' : 'problem',
      message: loopback
        ? `the connection to ${where} is not encrypted (allowed on loopback with encrypt: false; never elsewhere)`
        : `the connection to ${where} is not encrypted: set source.encrypt: true and make the server accept TLS`,
    };
  const what = `${tls.protocol}${tls.cipher ? ` (${tls.cipher})` : ''}`;
  if (!tls.certificateValidated)
    return {
      scope: 'connection',
      check: 'tls',
      status: loopback ? 'note' : 'problem',
      message: `${what} to ${where}, but the server certificate was not validated (trustServerCertificate)${
        loopback ? ': allowed on loopback only' : ': set source.caFile to the CA that signed it instead'
      }`,
    };
  return { scope: 'connection', check: 'tls', status: 'ok', message: `${what} to ${where}, certificate validated` };
}

/**
 * Where the read-only intent landed: `DATABASEPROPERTYEX(DB_NAME(), 'Updateability')` is READ_ONLY on a
 * readable secondary. A primary is a note, not a fault: a server without an availability group has no
 * secondary to route to.
 */
export async function routingFinding(conn: SourceConnection, source: SourceConfig): Promise<HealthFinding> {
  const r = await conn.query<{ u: string | null }>(
    'doctor.updateability',
    "SELECT CAST(DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS nvarchar(20)) AS u",
  );
  const readOnly = (r[0]?.u ?? '').toUpperCase() === 'READ_ONLY';
  if (!source.readOnlyIntent)
    return {
      scope: 'connection',
      check: 'routing',
      status: 'note',
      message: `readOnlyIntent is off: reads go to the ${readOnly ? 'read-only' : 'read-write'} replica the host names`,
    };
  return readOnly
    ? {
        scope: 'connection',
        check: 'routing',
        status: 'ok',
        message: 'read-only intent routed to a readable secondary',
      }
    : {
        scope: 'connection',
        check: 'routing',
        status: 'note',
        message:
          'read-only intent landed on a read-write replica (the primary): no availability group, or the listener ' +
          'has no read-only routing list (ALTER AVAILABILITY GROUP … MODIFY REPLICA … READ_ONLY_ROUTING_LIST)',
      };
}

/**
 * How long a position waits for its next read, at most, before anyone acts: the longer of the cadence and
 * the idle commit interval (an idle table's committed position is that old), plus the nightly window (reads
 * may wait behind it), plus one day for an operator to notice a stopped table and restart it.
 */
export function requiredRetentionMinutes(table: TableConfig, nightly: NightlyConfig | undefined): number {
  const between = Math.max(table.cadence.ms, table.idleCommitInterval.ms);
  return Math.ceil((between + (nightly?.duration.ms ?? 0)) / 60_000) + 24 * 60;
}

const hours = (minutes: number) => `${Math.round((minutes / 60) * 10) / 10}h`;

/** Codes of prerequisites.ts that privilege-check.ts reports as login-wide excess (sysadmin, db_owner). */
const PRIVILEGE_CODES = /^privilege\./;

/**
 * Codes of prerequisites.ts that come from probing what the extractor does (a zero-row SELECT, the CDC and CT
 * metadata functions). privilege-check.ts names the same gaps more precisely, so doctor shows a probe's finding
 * only when the privilege check found nothing missing on that table: then the two disagree, and the probe (what
 * SQL Server actually refused) is the one to believe.
 */
export function isPermissionProbe(check: string): boolean {
  return /^(permission\.|cdc\.no_access$|table\.missing$)/.test(check);
}

/** The table's capture setup: enabled, retention against the cadence and nightly window, snapshot isolation. */
export async function captureFindings(
  conn: SourceConnection,
  table: TableConfig,
  nightly: NightlyConfig | undefined,
): Promise<{ findings: HealthFinding[]; discovery: TableDiscovery | undefined }> {
  const scope = `${table.schema}.${table.table}`;
  const report = await checkPrerequisites(conn, table.schema, table.table, table.capture);
  const findings: HealthFinding[] = report.problems
    .filter((p) => !PRIVILEGE_CODES.test(p.code))
    .map((p) => ({
      scope,
      check: p.code,
      status: p.severity === 'error' || p.code.includes('snapshot') ? ('problem' as const) : ('note' as const),
      message: p.message,
      ...(p.fixSql ? { fixSql: p.fixSql } : {}),
    }));
  const d = report.discovery;
  if (!d) return { findings, discovery: d };
  const need = requiredRetentionMinutes(table, nightly);
  const why = `cadence ${table.cadence.text}, idle commit ${table.idleCommitInterval.text}${
    nightly ? `, nightly window ${nightly.duration.text}` : ''
  }, plus a day to react`;
  const retention = (check: string, kind: string, minutes: number | null, fixSql: string) => {
    if (minutes === null) return;
    findings.push(
      minutes >= need
        ? { scope, check, status: 'ok', message: `${kind} retention ${hours(minutes)} covers ${hours(need)} (${why})` }
        : {
            scope,
            check,
            status: 'problem',
            message: `${kind} retention ${hours(minutes)} is shorter than ${hours(need)} (${why}): a table paused or stopped that long re-seeds`,
            fixSql,
          },
    );
  };
  const db = quoteIdent(d.database.name);
  const hasError = findings.some((f) => f.status === 'problem' && !f.check.includes('snapshot'));
  if (table.capture.strategy === 'change_tracking' && d.database.changeTracking && !hasError) {
    retention(
      'ct.retention',
      'Change Tracking',
      d.database.changeTracking.retentionMinutes,
      `ALTER DATABASE ${db} SET CHANGE_TRACKING (CHANGE_RETENTION = ${Math.ceil(need / 60)} HOURS);`,
    );
  }
  if (table.capture.strategy === 'cdc' && d.database.cdcEnabled && d.cdc.tracked) {
    const minutes = await cdcRetentionMinutes(conn);
    if (minutes === null)
      findings.push({
        scope,
        check: 'cdc.retention',
        status: 'note',
        message: `CDC retention not readable by this login (sys.sp_cdc_help_jobs needs db_owner): a DBA checks that its cleanup job's retention is at least ${hours(need)} (${why})`,
        fixSql: `EXEC sys.sp_cdc_help_jobs;`,
      });
    else
      retention(
        'cdc.retention',
        'CDC',
        minutes,
        `EXEC sys.sp_cdc_change_job @job_type = N'cleanup', @retention = ${need};`,
      );
  }
  if (d.database.snapshotIsolation)
    findings.push({ scope, check: 'snapshot_isolation', status: 'ok', message: 'snapshot isolation allowed' });
  else if (!findings.some((f) => f.check.includes('snapshot')))
    findings.push({
      scope,
      check: 'snapshot_isolation',
      status: 'problem',
      message:
        'snapshot isolation is not allowed: snapshot chunks and reconciliation read at READ COMMITTED and can wait on OLTP locks',
      fixSql: `ALTER DATABASE ${db} SET ALLOW_SNAPSHOT_ISOLATION ON;`,
    });
  return { findings, discovery: d };
}

/** The CDC cleanup job's retention (minutes), or null when this login may not read it. */
export async function cdcRetentionMinutes(conn: SourceConnection): Promise<number | null> {
  try {
    const rows = await conn.query<{ job_type: string; retention: number | bigint | null }>(
      'doctor.cdc_jobs',
      'EXEC sys.sp_cdc_help_jobs',
    );
    const cleanup = rows.find((r) => String(r.job_type).trim().toLowerCase() === 'cleanup');
    return cleanup?.retention === null || cleanup?.retention === undefined ? null : Number(cleanup.retention);
  } catch {
    return null;
  }
}
