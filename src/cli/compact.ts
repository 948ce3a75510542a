/**
 * `tidemark compact --table SCHEMA.TABLE [--day YYYY-MM-DD] [--target-mb 256] [--json] [--config FILE]`: compacts
 * the table's Delta log now, in this process — one day (`--day`, closed or not: the operator asked for it), or
 * every closed day as the nightly schedule does (at most 7 per run). Rewrites the day's small files into files of
 * about the target size, recorded as one Delta version of `remove` + `add` with `dataChange = false`; nothing is
 * deleted, the manifests do not change (docs/raw-layer.md, "Compaction"). Safe while the table syncs and while
 * the nightly run compacts (a lost race is retried after the other version, or ends `superseded`).
 * Prints per day files and bytes before → after. Exit codes: 0 done (or nothing to do), 2 wrong input, 3 the Delta
 * publication is refused (nothing compacted; docs/operations.md, "Delta Lake publication").
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { openOperatorLedger } from './support/operator-audit.js';
import { tableRef } from '../config/tables.js';
import { compactTable, lakeTableOf } from '../capture/delta-compaction.js';
import { DEFAULT_COMPACTION_TARGET_BYTES } from '../lake/delta/compaction.js';
import { createLogger } from '../util/logger.js';

const MB = 1024 * 1024;

function targetBytes(flag: string | undefined): number {
  if (flag === undefined) return DEFAULT_COMPACTION_TARGET_BYTES;
  const mb = Number(flag);
  if (flag.trim() === '' || !Number.isFinite(mb) || mb <= 0 || mb > 4096)
    throw new UsageError(`--target-mb must be a number of megabytes between 0 and 4096, got "${flag}"`);
  return Math.max(1, Math.round(mb * MB));
}

export const command: CliCommand = {
  summary: "compact a table's Delta log: rewrite a closed day's small files into large ones (nothing is deleted)",
  usage: 'tidemark compact --table SCHEMA.TABLE [--day YYYY-MM-DD] [--target-mb 256] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      {
        flags: { day: { type: 'string' }, 'target-mb': { type: 'string' }, json: { type: 'boolean' } },
        requireTable: true,
        audit: 'compact',
        check: (values) => {
          if (values.day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.day))
            throw new UsageError(`--day must be a date YYYY-MM-DD, got "${values.day}"`);
          targetBytes(values['target-mb']);
        },
      },
      async ({ config, tables, values }) => {
        const [table] = tables;
        if (!table) return EXIT.invalidInput;
        const { store } = await openOperatorLedger(config);
        const ref = tableRef(config, table);
        const out = await compactTable({
          lake: lakeTableOf({ config, store }, ref),
          logger: createLogger({ name: 'tidemark-compact', level: 'silent' }),
          targetFileBytes: targetBytes(values['target-mb']),
          ...(config.sink.parquet ? { compression: config.sink.parquet } : {}),
          ...(values.day !== undefined ? { day: values.day } : {}),
        });
        if (values.json) io.stdout.write(`${JSON.stringify({ table: ref.id, ...out })}\n`);
        else {
          if (out.refused !== undefined) io.stderr.write(`${ref.id}: nothing compacted: ${out.refused}\n`);
          else if (out.days.length === 0) io.stdout.write(`${ref.id}: no closed day has small files to compact\n`);
          for (const d of out.days)
            io.stdout.write(
              `${ref.id} ${d.commitDate}: ${d.status}` +
                (d.status === 'compacted'
                  ? ` (Delta version ${d.version}): files ${d.filesBefore} → ${d.filesAfter}, bytes ${d.bytesBefore} → ${d.bytesAfter}, ${d.rows} rows, ${d.durationMs} ms`
                  : ` (${d.filesBefore} files, ${d.bytesBefore} bytes)`) +
                '\n',
            );
        }
        return out.refused !== undefined ? EXIT.attention : EXIT.ok;
      },
    ),
};
