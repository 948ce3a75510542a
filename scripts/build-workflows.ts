/** Writes the pre-built workflow bundle the production worker loads (`NODE_ENV=production`). */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE, WORKFLOWS_SOURCE } from '../src/worker.js';
import { FAILURE_CONVERTER_PATH } from '../src/temporal/data-converter.js';

const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_SOURCE,
  failureConverterPath: FAILURE_CONVERTER_PATH,
});
await mkdir(dirname(WORKFLOW_BUNDLE), { recursive: true });
await writeFile(WORKFLOW_BUNDLE, code);
process.stdout.write(`workflow bundle written: ${WORKFLOW_BUNDLE} (${code.length} bytes)\n`);
