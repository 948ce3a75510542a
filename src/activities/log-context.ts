/**
 * Log correlation for the activities: every line logged while an activity runs — by Tidemark's code (the deps'
 * pino logger, at any depth of src/capture, src/lake, src/source) or by the Temporal SDK's activity logger
 * (routed into the same pino logger by the worker) — carries the table, the window sequence (or, for a job, the
 * job kind and chunk index), the workflow id, run id, activity id and type, and the attempt.
 *
 * Why a wrapper and not only the SDK's activity logger (`Context.current().log`): that logger adds the workflow
 * and activity ids (`activityLogAttributes`), but only to lines written through it, and it knows nothing of the
 * table or the window; Tidemark's modules below the activities log through the deps' pino logger, which does not
 * see the activity. So the wrapper puts both into the logger's context ({@link runWithLogContext}), taking the ids
 * from the same activity info the SDK uses (not its task token: an opaque credential-like blob, of no use in a log).
 * A job's id is its workflow id (`<kind>/<table>/<request id>`), so `workflowId` + `chunk` name a job's chunk.
 */
import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { JobKind } from '../domain/jobs.js';
import { runWithLogContext, type LogContext } from '../util/logger.js';

/** What an activity input may say about the unit of work (every activity input names its table). */
interface UnitOfWork {
  readonly table: { readonly id: string };
  readonly seq?: number;
  readonly window?: { readonly seq: number; readonly kind?: string; readonly keyRange?: { readonly index: number } };
  readonly job?: { readonly kind: JobKind };
  readonly chunk?: { readonly index: number };
}

/** The log context of one activity call: its unit of work and, inside a Temporal activity, its ids. */
export function activityLogContext(input: UnitOfWork): LogContext {
  const context: LogContext = { table: input.table.id };
  const seq = input.window?.seq ?? input.seq;
  if (seq !== undefined) context.window = seq;
  const job = input.job?.kind ?? (input.window?.kind !== 'changes' ? input.window?.kind : undefined);
  if (job !== undefined) context.job = job;
  const chunk = input.chunk?.index ?? input.window?.keyRange?.index;
  if (chunk !== undefined) context.chunk = chunk;
  try {
    const info = Context.current().info;
    context.activityId = info.activityId;
    context.activityType = info.activityType;
    context.attempt = info.attempt;
    if (info.workflowExecution) {
      context.workflowId = info.workflowExecution.workflowId;
      context.runId = info.workflowExecution.runId;
    }
  } catch {
    // Called directly, outside an activity (tests, benches): the unit of work only.
  }
  return context;
}

/** Wraps one activity so everything it logs carries {@link activityLogContext}. */
export function withLogContext<I extends UnitOfWork, O>(fn: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return (input) => runWithLogContext(activityLogContext(input), () => fn(input));
}

/**
 * The same fields on the lines the Temporal SDK itself logs for an activity (`Activity failed` with its error,
 * at WARN; `Activity completed`, at DEBUG): they are written by the worker after the activity function returned,
 * outside {@link withLogContext}, through the SDK's activity logger, whose attributes an outbound interceptor may
 * extend (`getLogAttributes`). The unit of work is read from the activity's input when it is executed.
 */
export const logContextInterceptor: ActivityInterceptorsFactory = () => {
  let unit: LogContext = {};
  return {
    inbound: {
      execute: (input, next) => {
        const first = input.args[0] as UnitOfWork | undefined;
        if (first?.table?.id !== undefined) {
          const { table, window, job, chunk } = activityLogContext(first);
          unit = { table, ...(window !== undefined ? { window } : {}), ...(job ? { job } : {}) };
          if (chunk !== undefined) unit.chunk = chunk;
        }
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next({ ...attributes, ...unit }),
    },
  };
};
