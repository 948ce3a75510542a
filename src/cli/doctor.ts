/**
 * `tidemark doctor [--table SCHEMA.TABLE] [--json] [--config FILE]`: connects as the configured login and
 * reports, per table, each permission missing (with the GRANT that adds it) and each one more than an extractor
 * needs (with the statement that removes it), plus the TLS the source connection negotiated, read-only routing,
 * whether CDC / Change Tracking is enabled and keeps changes long enough for the cadence and the nightly window,
 * snapshot isolation, the storage container(s) and Temporal. Exit 0 when nothing is missing, in excess or wrong
 * (notes allowed); 1 otherwise. The last line is a summary.
 *
 * What the login needs comes from src/source/grants.ts (what `tidemark grants` prints), so the two agree.
 */
import { EXIT, type CliCommand } from './command.js';
import { temporalClient } from './support/operator-context.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { createSecretProvider } from '../config/secret-provider.js';
import { resolveSecret } from '../config/secrets.js';
import type { TableConfig, TidemarkConfig } from '../config/types.js';
import { maskSecretsInText } from '../util/logger.js';

/** One line of the report. */
export interface DoctorFinding {
  /** `connection`, `login`, `storage`, `temporal`, or a table `schema.table`. */
  readonly scope: string;
  readonly status: 'ok' | 'missing' | 'excess' | 'problem' | 'note';
  readonly check: string;
  readonly message: string;
  /** The statement (or command) that fixes it. */
  readonly fix?: string;
}

const LABEL: Record<DoctorFinding['status'], string> = {
  ok: 'ok',
  missing: 'MISSING',
  excess: 'EXCESS',
  problem: 'PROBLEM',
  note: 'note',
};

/** The report as text: grouped by scope, in the order found, then the summary line. */
export function renderDoctorReport(findings: readonly DoctorFinding[]): string {
  const scopes = [...new Set(findings.map((f) => f.scope))];
  const lines: string[] = [];
  for (const scope of scopes) {
    lines.push(scope);
    for (const f of findings.filter((x) => x.scope === scope)) {
      lines.push(`  ${LABEL[f.status].padEnd(8)} ${f.check}: ${f.message}`);
      if (f.fix) lines.push(`           fix: ${f.fix}`);
    }
  }
  lines.push(doctorSummary(findings));
  return `${lines.join('\n')}\n`;
}

/** `doctor: 2 missing, 1 excess, 0 problems (3 notes)`, or that all is good. */
export function doctorSummary(findings: readonly DoctorFinding[]): string {
  const n = (s: DoctorFinding['status']) => findings.filter((f) => f.status === s).length;
  const notes = n('note') > 0 ? ` (${n('note')} ${n('note') === 1 ? 'note' : 'notes'})` : '';
  if (!doctorFailed(findings)) return `doctor: all good, ${n('ok')} checks passed${notes}`;
  return `doctor: ${n('missing')} missing, ${n('excess')} excess, ${n('problem')} ${
    n('problem') === 1 ? 'problem' : 'problems'
  }${notes}: run the fix lines above (docs/operations.md, "tidemark doctor")`;
}

export function doctorFailed(findings: readonly DoctorFinding[]): boolean {
  return findings.some((f) => f.status === 'missing' || f.status === 'excess' || f.status === 'problem');
}

const message = (err: unknown) => maskSecretsInText(err instanceof Error ? err.message : String(err));

/** The source: connection TLS and routing, the login's privileges, and per table its capture setup. */
async function sourceFindings(config: TidemarkConfig, tables: readonly TableConfig[]): Promise<DoctorFinding[]> {
  const { SourceConnection } = await import('../source/index.js');
  const { checkLoginPrivileges, checkTablePrivileges } = await import('../source/privilege-check.js');
  const { captureFindings, isPermissionProbe, negotiatedTls, routingFinding, tlsFinding } =
    await import('../source/source-health.js');
  const out: DoctorFinding[] = [];
  const s = config.source;
  let conn: InstanceType<typeof SourceConnection>;
  try {
    conn = await SourceConnection.open(s, { secrets: createSecretProvider() });
  } catch (err) {
    return [
      {
        scope: 'connection',
        status: 'problem',
        check: 'connect',
        message: `cannot connect to ${s.host}:${s.port}, database ${s.database}: ${message(err)}`,
      },
    ];
  }
  const fromHealth = (f: {
    scope: string;
    status: 'ok' | 'problem' | 'note';
    check: string;
    message: string;
    fixSql?: string;
  }) =>
    out.push({
      scope: f.scope,
      status: f.status,
      check: f.check,
      message: f.message,
      ...(f.fixSql ? { fix: f.fixSql } : {}),
    });
  try {
    fromHealth(tlsFinding(await negotiatedTls(conn), s));
    fromHealth(await routingFinding(conn, s));
    const login = await checkLoginPrivileges(conn);
    out.push({
      scope: 'login',
      status: 'ok',
      check: 'identity',
      message: `connected as login [${login.login}], user [${login.user}] in database [${login.database}]`,
    });
    for (const f of login.findings)
      out.push({ scope: f.scope, status: f.kind, check: f.code, message: f.message, fix: f.fixSql });
    for (const table of tables) {
      const scope = `${table.schema}.${table.table}`;
      out.push({ scope, status: 'ok', check: 'strategy', message: table.capture.strategy });
      const { findings, discovery } = await captureFindings(conn, table, config.nightly);
      const privileges = await checkTablePrivileges(conn, table, discovery, login);
      for (const f of privileges)
        out.push({ scope: f.scope, status: f.kind, check: f.code, message: f.message, fix: f.fixSql });
      const missing = privileges.some((f) => f.kind === 'missing');
      const probes = findings.filter((f) => isPermissionProbe(f.check));
      if (!missing && probes.length === 0 && discovery)
        out.push({
          scope,
          status: 'ok',
          check: 'permissions',
          message: 'the login holds everything the strategy reads',
        });
      // A refused probe with nothing named missing: the needs model missed something; show what SQL Server said.
      findings.filter((f) => !missing || !isPermissionProbe(f.check)).forEach(fromHealth);
    }
  } finally {
    await conn.close();
  }
  return out;
}

/**
 * The container(s): one listing of the prefix (needs only read access). Whether the identity can also write is
 * what the first window shows. Azure role assignments are not visible to the data plane: the role is checked
 * through Resource Manager (storageRoleFindings) when `sink.resourceId` names the account.
 */
async function storageFindings(config: TidemarkConfig): Promise<DoctorFinding[]> {
  const { AzureBlobStore } = await import('../lake/blob-store.js');
  const sink = config.sink;
  const out: DoctorFinding[] = [];
  let reach: { connectionString: string } | { accountUrl: string };
  try {
    reach =
      sink.auth === 'connectionString'
        ? { connectionString: await resolveSecret(sink.connectionString) }
        : { accountUrl: sink.accountUrl };
  } catch (err) {
    return [{ scope: 'storage', status: 'problem', check: 'credentials', message: message(err) }];
  }
  const containers = [sink.container, ...(sink.stateContainer ? [sink.stateContainer] : [])];
  for (const container of containers) {
    const store = new AzureBlobStore({ container, ...reach, maxTries: 2 });
    try {
      for await (const item of store.list(sink.prefix ? `${sink.prefix}/` : '')) {
        void item;
        break;
      }
      out.push({ scope: 'storage', status: 'ok', check: 'container', message: `${store.location} reachable (listed)` });
    } catch (err) {
      out.push({ scope: 'storage', status: 'problem', check: 'container', message: message(err) });
    }
  }
  return [...out, ...(await storageRoleFindings(config, reach))];
}

/**
 * The identity's role on the account (lake/storage-role-check.ts): needed blob data actions missing, Owner-level
 * or key access flagged. A connection string carrying the account key is itself full control of the account.
 */
async function storageRoleFindings(
  config: TidemarkConfig,
  reach: { connectionString: string } | { accountUrl: string },
): Promise<DoctorFinding[]> {
  const sink = config.sink;
  if ('connectionString' in reach) {
    const local = /devstoreaccount1|127\.0\.0\.1|localhost|\[::1\]/i.test(reach.connectionString);
    if (/AccountKey=/i.test(reach.connectionString) && !local)
      return [
        {
          scope: 'storage',
          status: 'excess',
          check: 'role',
          message:
            'the connection string carries the account key: full control of the account, outside Entra ID and its audit',
          fix: 'use `auth: defaultAzureCredential` with an identity holding only "Storage Blob Data Contributor"',
        },
      ];
    return [{ scope: 'storage', status: 'note', check: 'role', message: 'not checked: a local emulator or a SAS' }];
  }
  if (sink.auth !== 'defaultAzureCredential' || !sink.resourceId)
    return [
      {
        scope: 'storage',
        status: 'note',
        check: 'role',
        message: "not checked: set sink.resourceId (the storage account's resource id) to check the identity's role",
      },
    ];
  const { checkStorageRole } = await import('../lake/storage-role-check.js');
  try {
    return (await checkStorageRole(sink.resourceId)).map((f) => ({ scope: 'storage', ...f }));
  } catch (err) {
    return [{ scope: 'storage', status: 'problem', check: 'role', message: message(err) }];
  }
}

/** Temporal: connect and describe the namespace (the same client setup the other verbs use). */
async function temporalFindings(config: TidemarkConfig): Promise<DoctorFinding[]> {
  try {
    const temporal = await temporalClient(config);
    await temporal.close();
    return [
      {
        scope: 'temporal',
        status: 'ok',
        check: 'reachable',
        message: `${temporal.target.address}, namespace ${temporal.target.namespace}${temporal.target.tls ? ', TLS' : ''}`,
      },
    ];
  } catch (err) {
    return [{ scope: 'temporal', status: 'problem', check: 'reachable', message: message(err) }];
  }
}

export const command: CliCommand = {
  summary: "check the extractor's permissions (missing and excess), TLS, CDC/CT retention, storage and Temporal",
  usage: 'tidemark doctor [--table SCHEMA.TABLE] [--json] [--config FILE]',
  // The prologue selects the tables first: a wrong --table is a usage error before anything connects. Temporal is
  // one of the things checked (temporalFindings), not the verb's own connection.
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: { json: { type: 'boolean' } } }, async ({ config, tables, values }) => {
      const findings = [
        ...(await sourceFindings(config, tables)),
        ...(await storageFindings(config)),
        ...(await temporalFindings(config)),
      ];
      io.stdout.write(
        values.json
          ? `${JSON.stringify({ ok: !doctorFailed(findings), findings }, null, 2)}\n`
          : renderDoctorReport(findings),
      );
      return doctorFailed(findings) ? EXIT.failure : EXIT.ok;
    }),
};
