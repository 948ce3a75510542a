/** What the end-to-end tests share: running `tidemark` verbs in-process, convergence checks, clean-up. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { main as cli } from '../../../src/cli/main.js';
import type { VerifyTableOutput } from '../../../src/verify/verify-table.js';
import { tableSyncWorkflowId } from '../../../src/workflows/table-sync.js';
import { waitUntilVerified } from '../../../scripts/demo/harness.js';

/** Runs a `tidemark` verb in this process; `out` is its stdout (what scripts parse), `err` its stderr. */
export async function runTidemark(
  configFile: string,
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string; err: string }> {
  const collect = () => {
    const chunks: Buffer[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => chunks.push(c));
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const out = collect();
  const err = collect();
  const code = await cli([...args, '--config', configFile], {
    stdout: out.stream,
    stderr: err.stream,
    env,
    cwd,
  });
  return { code, out: out.text(), err: err.text() };
}

/** A verification as the tests compare it: what differs, per table and phase. */
export function verifySummary(table: TableRef, phase: string, v: VerifyTableOutput) {
  return {
    table: table.id,
    phase,
    missing: v.missingInLake,
    extra: v.extraInLake,
    different: v.different,
    dups: v.duplicateEvents,
  };
}

/**
 * Waits until each table's latest state in the lake equals the source (waking the table between checks), then
 * asserts it: no row missing, extra or different on any column, no duplicate (key, position), equal checksums.
 */
export async function assertTablesConverge(
  deps: ActivityDeps,
  client: Client,
  tables: readonly TableRef[],
  phase: string,
  timeoutMs: number,
): Promise<void> {
  for (const table of tables) {
    const v = await waitUntilVerified(deps, client, table, { timeoutMs });
    assert.deepEqual(verifySummary(table, phase, v), {
      table: table.id,
      phase,
      missing: 0,
      extra: 0,
      different: 0,
      dups: 0,
    });
    assert.equal(v.sourceChecksum, v.lakeChecksum, `${table.id} ${phase}: checksums`);
    assert.ok(v.sourceRows > 0, `${table.id} ${phase}: rows`);
  }
}

/** Terminates the tables' sync workflows (test clean-up; missing ones are fine). */
export async function terminateTableSyncs(client: Client | undefined, tables: readonly TableRef[]): Promise<void> {
  for (const t of tables)
    await client?.workflow
      .getHandle(tableSyncWorkflowId(t.id))
      .terminate('test done')
      .catch(() => undefined);
}
