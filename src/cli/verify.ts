/**
 * `tidemark verify [--table NAME] [--json]`: the source against the lake's latest state at one source position
 * (read inside one snapshot): row counts, rows missing/extra/different, duplicate (key, position) events, and a
 * checksum per side. Exit 0 when every table matches, 3 when any differs. Prints counts and checksums only;
 * progress (source rows read, then comparison steps) goes to stderr.
 */
import { EXIT, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { Progress, progressMode } from './support/progress.js';
import { tableRef } from '../config/tables.js';

export const command: CliCommand = {
  summary: 'compare the source with the lake (counts, differences, checksums); exit 3 on differences',
  usage: 'tidemark verify [--table SCHEMA.TABLE] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: { json: { type: 'boolean' } } }, async ({ config, tables, values }) => {
      const { buildDependencies } = await import('../activities/dependencies.js');
      const { verifyTable } = await import('../verify/verify-table.js');
      const { createLogger } = await import('../util/logger.js');
      const deps = await buildDependencies(config, createLogger({ name: 'cli', level: 'warn' }), {
        ensureContainer: false,
      });
      let differs = false;
      try {
        for (const table of tables) {
          const ref = tableRef(config, table);
          const progress = new Progress({
            stream: io.stderr,
            label: `${ref.id} verify`,
            unit: 'steps',
            mode: progressMode(io.stderr, { json: values.json === true, env: io.env }),
          });
          const v = await verifyTable(deps, ref, {
            onProgress: (p) =>
              progress.update({
                done: p.stepsDone,
                total: p.steps,
                rows: p.sourceRows,
                phase: p.stepsDone === 0 ? 'reading the source' : 'comparing',
              }),
          }).catch((err: unknown) => {
            progress.finish('failed');
            throw err;
          });
          progress.finish(v.ok ? 'done' : 'differences found');
          differs ||= !v.ok;
          if (values.json) io.stdout.write(`${JSON.stringify(v)}\n`);
          else
            io.stdout.write(
              `${ref.id}: ${v.ok ? 'OK' : 'DIFFERENT'} at ${v.position || 'the current state'} — source ${v.sourceRows} rows, ` +
                `lake ${v.lakeRows} rows (${v.windows} windows); missing ${v.missingInLake}, extra ${v.extraInLake}, ` +
                `different ${v.different}, duplicate events ${v.duplicateEvents}; checksums ${v.sourceChecksum} / ${v.lakeChecksum}\n`,
            );
        }
      } finally {
        await deps.close();
      }
      return differs ? EXIT.attention : EXIT.ok;
    }),
};
