/**
 * The config schema: reads the interpolated document section by section into a {@link TidemarkConfig},
 * applying defaults and recording every problem (see `reader.ts`). Each section has its own reader in
 * `sections/`; this file reads the top level and the rules that span sections.
 *
 * Why a hand-written validator rather than zod: every message here must say what is wrong AND how to
 * fix it, in the operator's words, with a "did you mean" for typos in keys and in enum values, rules
 * that depend on other fields (strategy parameters, mTLS pairs, PHI actions vs key columns, a nightly
 * window for strategies that need reconciliation), a refusal of secrets written literally in the file,
 * and values from the environment never echoed. With zod each of those becomes a custom refinement or
 * error map, and its default messages ("Expected string, received number", union errors listing every
 * branch) would still leak through; the schema would be zod plus as much custom code as the readers. A
 * small reader keeps the whole behaviour readable in one folder and adds no dependency.
 */
import { type Checker, type ObjectReader } from './reader.js';
import { NEEDS_NIGHTLY } from './sections/capture.js';
import { readNightly } from './sections/nightly.js';
import { readPrivacy } from './sections/privacy.js';
import { readLineage } from './sections/lineage.js';
import { type PathOptions } from './sections/shared-fields.js';
import { readSink } from './sections/sink.js';
import { readSource } from './sections/source.js';
import { readTables } from './sections/tables.js';
import { readTemporal } from './sections/temporal.js';
import { type NightlyConfig, type TableConfig, type TidemarkConfig } from './types.js';

/** Reads the whole document. */
export function validateDocument(checker: Checker, root: unknown, paths: PathOptions): TidemarkConfig {
  if (root === undefined || root === null) {
    checker.report([], 'the config is empty', 'start from tidemark.example.yaml');
  }
  const doc = checker.object([], root ?? undefined, 'the Tidemark config');
  doc.allow(['version', 'source', 'sink', 'temporal', 'tables', 'nightly', 'privacy', 'lineage']);

  if (doc.has('version') && doc.raw('version') !== 1) {
    checker.report(
      doc.at('version'),
      `config format version ${checker.describe(doc.at('version'), doc.raw('version'))} is not supported`,
      'write `version: 1` (or leave it out)',
    );
  }
  const requireSection = (key: string, what: string): unknown => {
    if (!doc.has(key) && doc.present) {
      checker.report(doc.at(key), `missing section: ${what}`, `add a \`${key}:\` section (see tidemark.example.yaml)`);
    }
    return doc.raw(key);
  };

  const source = readSource(
    checker.object(doc.at('source'), requireSection('source', 'the SQL Server to read'), 'the source section'),
    paths,
  );
  const sink = readSink(
    checker.object(doc.at('sink'), requireSection('sink', 'the Blob Storage container to write'), 'the sink section'),
  );
  const temporal = readTemporal(
    checker.object(doc.at('temporal'), requireSection('temporal', 'the Temporal cluster'), 'the temporal section'),
    paths,
  );
  const tables = readTables(doc, source);
  const nightly = doc.has('nightly')
    ? readNightly(checker.object(doc.at('nightly'), doc.raw('nightly'), 'the nightly section'))
    : undefined;
  const privacy = doc.has('privacy')
    ? readPrivacy(checker.object(doc.at('privacy'), doc.raw('privacy'), 'the privacy section'))
    : undefined;
  const lineage = doc.has('lineage')
    ? readLineage(checker.object(doc.at('lineage'), doc.raw('lineage'), 'the lineage section'))
    : undefined;
  checkSectionsTablesNeed(doc, tables, nightly);

  return {
    version: 1,
    source,
    sink,
    temporal,
    tables,
    ...(nightly === undefined ? {} : { nightly }),
    ...(privacy === undefined ? {} : { privacy }),
    ...(lineage === undefined ? {} : { lineage }),
  };
}

/** Rules that span sections: tables whose strategy or PHI policy needs the `nightly` or `privacy` section. */
function checkSectionsTablesNeed(doc: ObjectReader, tables: TableConfig[], nightly: NightlyConfig | undefined): void {
  const reconciled = tables.filter((t) => NEEDS_NIGHTLY.includes(t.capture.strategy));
  if (reconciled.length > 0 && nightly === undefined && !doc.has('nightly')) {
    const names = reconciled.map((t) => `${t.name} (${t.capture.strategy})`).join(', ');
    doc.checker.report(
      doc.at('nightly'),
      `missing section: ${names} cannot see deletes, so they need nightly reconciliation in a heavy-read window`,
      'add `nightly: { windowStart: "01:00", duration: 2h }` with your heavy-read window',
    );
  }
  const hashing = tables.filter((t) => t.phi.some((rule) => rule.action === 'hash'));
  if (hashing.length > 0 && !doc.has('privacy')) {
    doc.checker.report(
      doc.at('privacy'),
      `missing section: ${hashing.map((t) => t.name).join(', ')} hash PHI columns, which needs a key`,
      'add `privacy: { hashKey: ${TIDEMARK_PHI_HASH_KEY} }` and set that variable to a random string of at least 32 characters',
    );
  }
}
