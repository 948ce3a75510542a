/**
 * The set-up the chunk tests of this folder share: the claims simulator (no workload), a rowversion table
 * `dbo.<table>` (id, note, rv) of `rows` rows, and the activities of a pipeline configured for it with the given
 * `limits` (Azurite for the lake; no Temporal: the tests call the activities directly).
 */
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../../src/activities/index.js';
import type { Activities } from '../../../../src/activities/index.js';
import { createLogger } from '../../../../src/util/logger.js';
import { azuriteForTests } from '../../../support/stack.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../../scripts/demo/harness.js';

export interface ChunkTableStack {
  readonly source: ClaimsSource;
  readonly deps: ActivityDeps;
  readonly acts: Activities;
  stop(): Promise<void>;
}

export async function startChunkTable(o: {
  /** Table name in dbo; the container is named after it. */
  readonly table: string;
  readonly rows: number;
  /** Rows per INSERT statement while filling it. */
  readonly insertRows: number;
  /** The table's `limits` as YAML flow text. */
  readonly limits: string;
}): Promise<ChunkTableStack> {
  const source = await startClaimsSource({
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 },
  });
  let deps: ActivityDeps | undefined;
  try {
    const values = Array.from({ length: o.rows }, (_v, i) => `(${i + 1}, 'row ${i + 1}')`);
    await source.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      CREATE TABLE dbo.${o.table} (id int NOT NULL PRIMARY KEY, note varchar(40) NULL, rv rowversion);`);
    for (let i = 0; i < values.length; i += o.insertRows)
      await source.admin
        .request()
        .batch(`INSERT INTO dbo.${o.table} (id, note) VALUES ${values.slice(i, i + o.insertRows).join(',')}`);
    const { config } = pipelineConfig({
      sourcePort: source.sim.port,
      azuriteConnectionString: await azuriteForTests(),
      temporalAddress: '127.0.0.1:1',
      taskQueue: 'unused',
      container: `${o.table.toLowerCase()}-${randomBytes(4).toString('hex')}`,
      tables: [{ name: `dbo.${o.table}`, capture: '{ strategy: rowversion, column: rv }', limits: o.limits }],
    });
    deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }));
    const built = deps;
    return {
      source,
      deps: built,
      acts: createActivities(built),
      stop: async () => {
        await built.close();
        await source.stop();
      },
    };
  } catch (e) {
    await deps?.close();
    await source.stop();
    throw e;
  }
}
