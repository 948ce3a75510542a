/**
 * `tidemark grants [--login NAME] [--table SCHEMA.TABLE] [--offline] [--config FILE]`: prints the T-SQL that
 * creates a dedicated extractor login and grants it exactly what the configured tables' strategies read (see
 * src/source/grants.ts for what and why). Prints only; runs nothing on the source.
 *
 * To name columns and CDC gating roles it reads the tables' catalog through the configured source connection.
 * The extractor's own login usually does not exist yet, so a DBA runs it with a config whose `source.auth` is a
 * login that can read the catalog (their own) and names the extractor with `--login`. When it cannot connect
 * (or with `--offline`) SELECT is on whole tables and gating roles are placeholders, and stderr says so.
 */
import { EXIT, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { createSecretProvider } from '../config/secret-provider.js';
import type { SourceAuth, TableConfig } from '../config/types.js';
import { maskSecretsInText } from '../util/logger.js';

export const command: CliCommand = {
  summary: 'print the T-SQL for a least-privilege extractor login (per table and strategy)',
  usage: 'tidemark grants [--login NAME] [--table SCHEMA.TABLE] [--offline] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: { login: { type: 'string' }, offline: { type: 'boolean' } } }, async (ctx) => {
      const { config, tables, values } = ctx;
      const { discoverTable, SourceConnection } = await import('../source/index.js');
      const { extractorGrantScript, tableNeeds } = await import('../source/grants.js');
      type Discovery = Awaited<ReturnType<typeof discoverTable>>;

      const discovered = new Map<TableConfig, Discovery>();
      if (!values.offline) {
        let conn: InstanceType<typeof SourceConnection> | undefined;
        try {
          conn = await SourceConnection.open(config.source, { secrets: createSecretProvider() });
        } catch (err) {
          io.stderr.write(
            `tidemark grants: could not connect to ${config.source.host}:${config.source.port} to read column names ` +
              `(${maskSecretsInText((err as Error).message)}); granting SELECT on whole tables. For column-level ` +
              `grants run it with a config whose source login can read the tables (e.g. your own) and --login NAME.\n`,
          );
        }
        if (conn)
          try {
            for (const t of tables)
              try {
                discovered.set(t, await discoverTable(conn, t.schema, t.table, { strategy: t.capture.strategy }));
              } catch (err) {
                io.stderr.write(`tidemark grants: ${t.name}: ${maskSecretsInText((err as Error).message)}\n`);
              }
          } finally {
            await conn.close();
          }
      }
      const auth: SourceAuth = values.login
        ? { type: 'sql-login', user: values.login, password: { kind: 'value', value: '', fromEnv: [] } }
        : config.source.auth;
      io.stdout.write(
        extractorGrantScript(
          { database: config.source.database, auth },
          tables.map((t) => tableNeeds(t, discovered.get(t))),
        ),
      );
      return EXIT.ok;
    }),
};
