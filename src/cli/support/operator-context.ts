/**
 * What the operator verbs that talk to Temporal share: the config file (`--config FILE`, else
 * `$TIDEMARK_CONFIG`, else `./tidemark.yaml`), the selected tables, and a Temporal client.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { readConfigFile, formatIssues, type TableConfig, type TidemarkConfig } from '../../config/index.js';
import { resolveSecret } from '../../config/secrets.js';
import type { TableRef } from '../../activities/contracts.js';
import { temporalConnectionSettings } from '../../temporal/connect.js';
import { EXIT, UsageError, type CliIo } from '../command.js';

/** The config path an operator verb uses. */
export function configPath(io: CliIo, flag: string | undefined): string {
  if (flag) return resolve(io.cwd, flag);
  const fromEnv = io.env.TIDEMARK_CONFIG;
  if (fromEnv) return resolve(io.cwd, fromEnv);
  const local = resolve(io.cwd, 'tidemark.yaml');
  if (existsSync(local)) return local;
  throw new UsageError('no config file: pass --config FILE, set TIDEMARK_CONFIG, or create ./tidemark.yaml');
}

/** Loads and validates the config; on problems prints every one and returns the exit code to use. */
export async function loadOperatorConfig(io: CliIo, flag: string | undefined): Promise<TidemarkConfig | number> {
  const path = configPath(io, flag);
  const result = await readConfigFile(path, { env: io.env });
  if (!result.ok) {
    io.stderr.write(`${formatIssues(result.errors, path)}\n`);
    return EXIT.invalidInput;
  }
  return result.config;
}

/** `<database>.<schema>.<table>`: the table's identity in workflow IDs and the lake. */
export function tableId(config: TidemarkConfig, table: TableConfig): string {
  return `${config.source.database}.${table.schema}.${table.table}`;
}

export function tableRef(config: TidemarkConfig, table: TableConfig): TableRef {
  return { id: tableId(config, table), strategy: table.capture.strategy };
}

/** The tables a verb acts on: all, or the one named by `--table` (as `schema.table` or `db.schema.table`). */
export function selectTables(config: TidemarkConfig, name: string | undefined): TableConfig[] {
  if (!name) return [...config.tables];
  const wanted = name.toLowerCase();
  const found = config.tables.filter(
    (t) => t.name.toLowerCase() === wanted || tableId(config, t).toLowerCase() === wanted,
  );
  if (found.length === 0) {
    throw new UsageError(
      `no table "${name}" in the config; configured: ${config.tables.map((t) => t.name).join(', ')}`,
    );
  }
  return found;
}

export async function temporalClient(config: TidemarkConfig): Promise<{ client: Client; close: () => Promise<void> }> {
  const settings = await temporalConnectionSettings(config.temporal, resolveSecret);
  const connection = await Connection.connect({ ...settings, connectTimeout: '10s' });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { client, close: () => connection.close() };
}
