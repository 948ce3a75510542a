/**
 * `tidemark schedules [--table NAME]`: creates (or updates) one Temporal Schedule per table whose capture cannot
 * see deletes: `nightly/<db>.<schema>.<table>`, starting `nightlyJobsWorkflow` at `nightly.windowStart` in
 * `nightly.timezone`, with a random delay up to half of `nightly.duration` (jitter) so tables spread over the
 * heavy-read window; overlapping runs are skipped. Today the job is delete reconciliation for rowversion tables
 * (the sweep activity does not exist yet; identity and updated_at tables get no schedule and are listed).
 */
import { EXIT, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { loadOperatorConfig, selectTables, tableRef, temporalClient } from './support/operator-context.js';

export const command: CliCommand = {
  summary: 'create or update the nightly Temporal Schedules (delete reconciliation) in the heavy-read window',
  usage: 'tidemark schedules [--table SCHEMA.TABLE] [--config FILE]',
  async run(args, io) {
    const { values } = parseFlags(args, { table: { type: 'string' }, config: { type: 'string' } });
    const config = await loadOperatorConfig(io, values.config);
    if (typeof config === 'number') return config;
    const nightly = config.nightly;
    if (!nightly) {
      io.stderr.write('no nightly section in the config: nothing to schedule\n');
      return EXIT.ok;
    }
    const [hour, minute] = nightly.windowStart.split(':').map(Number);
    const { nightlyJobsWorkflow } = await import('../workflows/nightly.js');
    const { ScheduleOverlapPolicy, ScheduleAlreadyRunning } = await import('@temporalio/client');
    const { client, close } = await temporalClient(config);
    let attention = false;
    try {
      for (const table of selectTables(config, values.table)) {
        const ref = tableRef(config, table);
        if (ref.strategy === 'cdc' || ref.strategy === 'change_tracking') continue;
        if (ref.strategy !== 'rowversion') {
          io.stdout.write(`${ref.id}: no schedule — nightly jobs for ${ref.strategy} tables are not implemented yet\n`);
          attention = true;
          continue;
        }
        const scheduleId = `nightly/${ref.id}`;
        const options = {
          scheduleId,
          spec: {
            calendars: [{ hour: hour ?? 1, minute: minute ?? 0 }],
            timezone: nightly.timezone,
            jitter: Math.floor(nightly.duration.ms / 2),
          },
          action: {
            type: 'startWorkflow' as const,
            workflowType: nightlyJobsWorkflow,
            workflowId: `nightly-run/${ref.id}`,
            taskQueue: config.temporal.taskQueue,
            args: [{ tableId: ref.id, jobs: [{ kind: 'reconcile' as const }] }] as [
              Parameters<typeof nightlyJobsWorkflow>[0],
            ],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP },
        };
        try {
          await client.schedule.create(options);
          io.stdout.write(`${ref.id}: schedule ${scheduleId} created (${nightly.windowStart} ${nightly.timezone})\n`);
        } catch (err) {
          if (!(err instanceof ScheduleAlreadyRunning)) throw err;
          await client.schedule
            .getHandle(scheduleId)
            .update((prev) => ({ ...prev, spec: options.spec, action: options.action }));
          io.stdout.write(`${ref.id}: schedule ${scheduleId} updated\n`);
        }
      }
    } finally {
      await close();
    }
    return attention ? EXIT.attention : EXIT.ok;
  },
};
