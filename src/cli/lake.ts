/**
 * `tidemark lake <db.schema.table> [--sql "…"] [--container C] [--prefix P] [--account-url URL]`
 *
 * Ad-hoc SQL over one table's committed windows (DuckDB views `changes`, `latest`, `op_counts`). Without
 * `--sql` it prints the committed windows and the rows per op. Storage: `--account-url` with
 * DefaultAzureCredential, or the connection string in TIDEMARK_LAKE_CONNECTION_STRING (never on the command
 * line). Query results go to stdout as JSON lines: they may contain PHI — this is an operator tool, run it only
 * where you may see the data.
 */
import { parseArgs } from 'node:util';
import { AzureBlobStore } from '../lake/blob-store.js';
import { TableLayout } from '../lake/layout.js';
import { LakeReader } from '../lake/reader.js';

const USAGE = `usage: tidemark lake <db.schema.table> [--sql "SELECT … FROM latest"] [--container raw] [--prefix ""]
                     [--account-url https://<account>.blob.core.windows.net]
  Views: changes (every event), latest (last event per key, tombstones removed), op_counts.
  Credentials: --account-url uses DefaultAzureCredential; otherwise TIDEMARK_LAKE_CONNECTION_STRING.`;

/** Runs the verb; returns the process exit code. Output goes to the given streams (stdout/stderr by default). */
export async function runLakeCommand(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        sql: { type: 'string' },
        container: { type: 'string', default: 'raw' },
        prefix: { type: 'string', default: '' },
        'account-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const parts = positionals[0]?.split('.') ?? [];
  if (positionals.length !== 1 || parts.length !== 3 || parts.some((p) => p === '')) {
    err.write(`expected one table as db.schema.table\n${USAGE}\n`);
    return 2;
  }
  const [db, schema, table] = parts as [string, string, string];
  const connectionString = process.env.TIDEMARK_LAKE_CONNECTION_STRING;
  const accountUrl = values['account-url'];
  if (!accountUrl && !connectionString) {
    err.write(`no storage configured: pass --account-url or set TIDEMARK_LAKE_CONNECTION_STRING\n`);
    return 2;
  }
  const container = values.container;
  const store = accountUrl
    ? new AzureBlobStore({ accountUrl, container })
    : new AzureBlobStore({ connectionString: connectionString ?? '', container });
  try {
    const reader = await LakeReader.open({
      lake: { store, layout: new TableLayout(values.prefix, { db, schema, table }) },
    });
    try {
      if (values.sql) {
        for (const row of await reader.query(values.sql)) out.write(`${JSON.stringify(row)}\n`);
      } else {
        const last = reader.manifests.at(-1);
        out.write(
          `${JSON.stringify({
            table: `${db}.${schema}.${table}`,
            windows: reader.manifests.length,
            lastWindow: last ? { sequence: last.sequence, to: last.window.to, committedAt: last.committedAt } : null,
            schemaVersion: reader.schema?.version ?? null,
            rowsByOp: await reader.opCounts(),
          })}\n`,
        );
      }
    } finally {
      await reader.close();
    }
    return 0;
  } catch (e) {
    // Errors of the lake carry no row values or credentials; DuckDB errors quote the SQL the operator typed.
    err.write(`tidemark lake: ${(e as Error).message}\n`);
    return 1;
  }
}
