/**
 * What the operator verbs that talk to Temporal share: the config file (`--config FILE`, else
 * `$TIDEMARK_CONFIG`, else `./tidemark.yaml`), the selected tables, and a Temporal client whose setup problems
 * (unreachable, no such namespace, missing search attributes, no worker) become messages that say what was tried
 * and what to do, instead of stack traces. The verbs use them through `runOperatorVerb` (operator-verb.ts).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { configuredDataConverter } from '../../temporal/data-converter.js';
import { type TableConfig, type TidemarkConfig } from '../../config/index.js';
import { resolveSecret } from '../../config/secrets.js';
import { tableId } from '../../config/tables.js';
import { causeChain } from '../../domain/cause-chain.js';
import {
  isMissingSearchAttribute,
  searchAttributesMissingError,
  TIDEMARK_SEARCH_ATTRIBUTE_TYPES,
  temporalConnectionSettings,
  temporalNamespaceMissingError,
  temporalTarget,
  temporalUnreachableError,
  type TemporalTarget,
} from '../../temporal/connect.js';
import { UsageError, type CliIo } from '../command.js';

/** The config path an operator verb uses. */
export function configPath(io: CliIo, flag: string | undefined): string {
  if (flag) return resolve(io.cwd, flag);
  const fromEnv = io.env.TIDEMARK_CONFIG;
  if (fromEnv) return resolve(io.cwd, fromEnv);
  const local = resolve(io.cwd, 'tidemark.yaml');
  if (existsSync(local)) return local;
  throw new UsageError('no config file: pass --config FILE, set TIDEMARK_CONFIG, or create ./tidemark.yaml');
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

/** gRPC status codes the verbs act on. */
const GRPC_DEADLINE_EXCEEDED = 4;
/** The server gave up on the call when our deadline was near (seen on a loaded machine instead of code 4). */
const GRPC_CANCELLED = 1;
const GRPC_NOT_FOUND = 5;

function grpcCode(err: unknown): number | undefined {
  for (const e of causeChain(err, 5)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** A connected client, the connection (for deadlines) and where it points (for messages). */
export interface OperatorTemporal {
  client: Client;
  connection: Connection;
  target: TemporalTarget;
  close: () => Promise<void>;
}

/** How long a verb waits for Temporal to answer the connection. */
const CONNECT_TIMEOUT = '10s';

/**
 * Connects to the configured Temporal and checks the namespace exists. Throws a `TemporalSetupError` naming the
 * address and namespace when it cannot; a workflow start refused for missing search attributes becomes one too.
 */
export async function temporalClient(config: TidemarkConfig): Promise<OperatorTemporal> {
  const settings = await temporalConnectionSettings(config.temporal, resolveSecret);
  const target = temporalTarget(settings, config.temporal.namespace);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings, connectTimeout: CONNECT_TIMEOUT });
  } catch (err) {
    throw temporalUnreachableError(err, target);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: target.namespace });
  } catch (err) {
    if (grpcCode(err) === GRPC_NOT_FOUND) {
      await connection.close();
      throw temporalNamespaceMissingError(target);
    }
    // Anything else (e.g. an API key that may not describe namespaces): the verb's own calls will tell.
  }
  const client = new Client({
    connection,
    namespace: target.namespace,
    dataConverter: await configuredDataConverter(config.temporal, resolveSecret),
    interceptors: { workflow: [setupErrorInterceptor(connection, target)] },
  });
  return { client, connection, target, close: () => connection.close() };
}

/** Which of Tidemark's search attributes the namespace lacks; empty when the server will not say. */
async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  try {
    const r = await connection.operatorService.listSearchAttributes({ namespace });
    const defined = new Set(Object.keys(r.customAttributes ?? {}));
    return Object.keys(TIDEMARK_SEARCH_ATTRIBUTE_TYPES).filter((name) => !defined.has(name));
  } catch {
    return []; // e.g. Temporal Cloud, which has no operator service: the message lists them all
  }
}

/** Turns a start refused for missing search attributes into a message with the command that registers them. */
function setupErrorInterceptor(connection: Connection, target: TemporalTarget): WorkflowClientInterceptor {
  const translate = async (err: unknown): Promise<unknown> =>
    isMissingSearchAttribute(err)
      ? searchAttributesMissingError(target, await missingSearchAttributes(connection, target.namespace))
      : err;
  return {
    async startWithDetails(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw await translate(err);
      }
    },
    async signalWithStart(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw await translate(err);
      }
    },
  };
}

/**
 * How many workers poll the task queue for workflow tasks (as the server last saw them), or null when it will
 * not say. Zero means no worker: queries (status, progress) cannot be answered. Temporal keeps a poller listed
 * for a few minutes after its worker stopped, so a non-zero count is no proof: queries still need a deadline.
 */
export async function workflowPollers(temporal: OperatorTemporal, taskQueue: string): Promise<number | null> {
  try {
    const r = await temporal.client.workflowService.describeTaskQueue({
      namespace: temporal.target.namespace,
      taskQueue: { name: taskQueue, kind: 1 /* TASK_QUEUE_KIND_NORMAL */ },
      taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */,
    });
    return r.pollers?.length ?? 0;
  } catch {
    return null;
  }
}

/**
 * True for a query that no worker answered: our deadline or the server's own query timeout passed (DEADLINE_EXCEEDED,
 * or CANCELLED when the server abandons the call as that deadline nears — seen on a loaded machine: the status test
 * "after the only worker stopped" failed with exit 1 instead of 3), or the server saw no poller on the task queue
 * recently (FAILED_PRECONDITION "no poller seen … worker may be down").
 */
export function isUnansweredQuery(err: unknown): boolean {
  const code = grpcCode(err);
  if (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED) return true;
  // The server's "no poller seen" is a FAILED_PRECONDITION like other refusals, and an SDK-side query timeout
  // has no class of its own: only their messages tell them apart.
  const messages = causeChain(err, 5).flatMap((e) => (e instanceof Error ? [e.message] : []));
  const text = messages.join('\n');
  return /DEADLINE_EXCEEDED|query timed out|no poller seen/i.test(text) || /\bCANCELLED\b/.test(text);
}

/** The operator message for a task queue no worker serves. */
export function noWorkerMessage(target: TemporalTarget, taskQueue: string, configFile: string): string {
  return (
    `no worker is polling task queue "${taskQueue}" in namespace "${target.namespace}" (Temporal at ` +
    `${target.address}), so the tables cannot answer their status query; shown is what Temporal itself records ` +
    `(workflow status, the TidemarkState search attribute). Start a worker: npm run worker -- --config ${configFile}`
  );
}
