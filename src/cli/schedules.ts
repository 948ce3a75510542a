/**
 * `tidemark schedules [--table NAME]`: creates (or updates) one Temporal Schedule per table whose capture cannot
 * see deletes or late updates: `nightly/<db>.<schema>.<table>`, starting `nightlyJobsWorkflow` at
 * `nightly.windowStart` in `nightly.timezone`, with a random delay up to half of `nightly.duration` (jitter) so
 * tables spread over the heavy-read window; overlapping runs are skipped. The jobs, in order: delete
 * reconciliation (rowversion, updated_at, identity), then the 30-day late-update sweep (identity: it cannot see
 * updates; updated_at: writers that do not stamp the column). CDC and Change Tracking tables need neither.
 * Then, for every table, the compaction of its closed days in the Delta log (capture/delta-compaction.ts): so
 * every table has a nightly schedule.
 */
import type { CaptureStrategy } from '../config/types.js';
import type { JobSpec } from '../domain/jobs.js';
import { EXIT, type CliCommand } from './command.js';
import { DEFAULT_SWEEP_DAYS } from './sweep.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { tableRef } from '../config/tables.js';

/** The nightly jobs of a table, by its capture strategy (what it cannot see). */
export function nightlyJobsOf(strategy: CaptureStrategy): JobSpec[] {
  switch (strategy) {
    case 'cdc':
    case 'change_tracking':
      return [];
    case 'rowversion':
      return [{ kind: 'reconcile' }];
    case 'updated_at':
    case 'identity':
      return [{ kind: 'reconcile' }, { kind: 'sweep', days: DEFAULT_SWEEP_DAYS }];
  }
}

export const command: CliCommand = {
  summary:
    'create or update the nightly Temporal Schedules (delete reconciliation, late-update sweep, Delta compaction) in the heavy-read window',
  usage: 'tidemark schedules [--table SCHEMA.TABLE] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: {}, audit: 'schedule-change' }, async ({ config, tables, temporal }) => {
      const nightly = config.nightly;
      if (!nightly) {
        io.stderr.write('no nightly section in the config: nothing to schedule\n');
        return EXIT.ok;
      }
      const [hour, minute] = nightly.windowStart.split(':').map(Number);
      const { nightlyJobsWorkflow } = await import('../workflows/nightly.js');
      const { ScheduleOverlapPolicy, ScheduleAlreadyRunning } = await import('@temporalio/client');
      const { client } = await temporal();
      for (const table of tables) {
        const ref = tableRef(config, table);
        const jobs = nightlyJobsOf(ref.strategy);
        const work = [...jobs.map((j) => j.kind), 'compaction'];
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
            args: [{ tableId: ref.id, jobs, compaction: {} }] as [Parameters<typeof nightlyJobsWorkflow>[0]],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP },
        };
        try {
          await client.schedule.create(options);
          io.stdout.write(
            `${ref.id}: schedule ${scheduleId} created (${nightly.windowStart} ${nightly.timezone}: ${work.join(', ')})\n`,
          );
        } catch (err) {
          if (!(err instanceof ScheduleAlreadyRunning)) throw err;
          await client.schedule
            .getHandle(scheduleId)
            .update((prev) => ({ ...prev, spec: options.spec, action: options.action }));
          io.stdout.write(`${ref.id}: schedule ${scheduleId} updated\n`);
        }
      }
      return EXIT.ok;
    }),
};
