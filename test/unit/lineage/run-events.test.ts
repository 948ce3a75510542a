/**
 * OpenLineage run events as Tidemark builds them: valid against the official schemas (vendored), PHI columns shown
 * as hashed (a masking transformation) or dropped (in the source's schema, absent from the lake's), chunks nested
 * under their job's run, and nothing but names, types and counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRODUCER, runEvent, runIdOf, type LineageColumn, type RunRef } from '../../../src/lineage/run-events.js';
import { producerUri } from '../../../src/util/package-identity.js';
import { lakeNamespace } from '../../../src/activities/lineage-recorder.js';
import { openLineageProblems } from '../../support/openlineage.js';

const source = { namespace: 'mssql://sql.example.org:1433', name: 'Claims.dbo.Patients' };
const lake = { namespace: 'abfss://raw@acct.dfs.core.windows.net', name: 'tidemark/Claims.dbo.Patients' };
const columns: LineageColumn[] = [
  { name: 'id', type: 'int32', phi: 'none' },
  { name: 'ssn', type: 'string', phi: 'hash' },
  { name: 'dob', type: 'date', phi: 'keep' },
  { name: 'amount', type: 'decimal(10,2)', phi: 'none' },
  { name: 'notes', phi: 'drop' },
];
const window: RunRef = {
  namespace: 'tidemark',
  job: 'Claims.dbo.Patients.changes',
  runId: runIdOf('Claims.dbo.Patients', 'window', 7, '2026-12-06T10:00:00.000Z'),
  jobType: 'WINDOW',
};
const stats = { rows: 3, bytes: 4096, files: 1, nullKeys: 0, sums: { amount: '101.04' }, keyColumns: ['id'] };

/** The parts of an event these tests read. */
interface Field {
  name: string;
  type?: string;
  description?: string;
}
interface InputField {
  name: string;
  transformations: { subtype: string }[];
}
interface EventView {
  inputs: { facets: { schema: { fields: Field[] } } }[];
  outputs: {
    facets: {
      schema: { fields: Field[] };
      columnLineage: { fields: Record<string, { inputFields: InputField[] }> };
      dataQualityMetrics: { columnMetrics: unknown };
    };
    outputFacets: { outputStatistics: { rowCount: number; size: number } };
  }[];
}

test('START, COMPLETE and FAIL events of a window and of a chunk validate against the OpenLineage schemas', () => {
  const chunk: RunRef = {
    namespace: 'tidemark',
    job: 'Claims.dbo.Patients.snapshot.chunk',
    runId: runIdOf('t', 'snapshot', 'p', 0),
    parent: { job: 'Claims.dbo.Patients.snapshot', runId: runIdOf('t', 'snapshot', 'p') },
    jobType: 'CHUNK',
  };
  const at = new Date('2026-12-06T10:00:01Z');
  const events = [
    runEvent({ type: 'START', run: window, eventTime: at, source, lake }),
    runEvent({ type: 'COMPLETE', run: window, eventTime: at, source, lake, columns, stats }),
    runEvent({
      type: 'FAIL',
      run: window,
      eventTime: at,
      source,
      lake,
      error: { type: 'DataQualityError', message: 'x' },
    }),
    runEvent({ type: 'START', run: chunk, eventTime: at, source, lake }),
    runEvent({ type: 'COMPLETE', run: chunk, eventTime: at, source, lake, columns, stats }),
  ];
  assert.deepEqual(openLineageProblems(events), []);
  // The schemas are really checked: a run id that is not a UUID is refused.
  const bad = { ...events[0], run: { runId: 'window-7', facets: {} } };
  assert.notDeepEqual(openLineageProblems([bad]), []);
});

test('column lineage: a hashed PHI column is a masking transformation, a dropped one never reaches the lake', () => {
  const e = runEvent({
    type: 'COMPLETE',
    run: window,
    eventTime: new Date(),
    source,
    lake,
    columns,
    stats,
  }) as unknown as EventView;
  const [output] = e.outputs;
  assert.ok(output);
  const out = output.facets;
  const lineage = out.columnLineage.fields;
  assert.deepEqual(Object.keys(lineage).sort(), ['amount', 'dob', 'id', 'ssn']);
  assert.deepEqual(lineage.ssn?.inputFields[0]?.transformations, [
    { type: 'DIRECT', subtype: 'TRANSFORMATION', description: 'HMAC-SHA-256 (PHI hash)', masking: true },
  ]);
  assert.equal(lineage.id?.inputFields[0]?.transformations[0]?.subtype, 'IDENTITY');
  assert.equal(lineage.id?.inputFields[0]?.name, 'Claims.dbo.Patients');
  // The lake's schema has no `notes`; the source's lists it as a dropped PHI column.
  const lakeFields = out.schema.fields.map((f) => f.name);
  assert.deepEqual(lakeFields, ['id', 'ssn', 'dob', 'amount']);
  const sourceFields = e.inputs[0]?.facets.schema.fields ?? [];
  assert.match(sourceFields.find((f) => f.name === 'notes')?.description ?? '', /PHI \(dropped/);
  assert.match(sourceFields.find((f) => f.name === 'ssn')?.description ?? '', /PHI \(landed as HMAC/);
  assert.equal(out.schema.fields.find((f) => f.name === 'ssn')?.type, 'string');
  // Output statistics and the receipt as data-quality metrics.
  assert.deepEqual(
    {
      rowCount: output.outputFacets.outputStatistics.rowCount,
      size: output.outputFacets.outputStatistics.size,
    },
    { rowCount: 3, size: 4096 },
  );
  assert.deepEqual(out.dataQualityMetrics.columnMetrics, { id: { nullCount: 0 }, amount: { sum: 101.04 } });
});

test('run ids are UUIDs derived from what names the run; the lake namespace follows the ADLS naming', () => {
  assert.match(window.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(window.runId, runIdOf('Claims.dbo.Patients', 'window', 7, '2026-12-06T10:00:00.000Z'));
  assert.notEqual(window.runId, runIdOf('Claims.dbo.Patients', 'window', 8, '2026-12-06T10:00:00.000Z'));
  assert.equal(lakeNamespace('azure:https://acct.blob.core.windows.net/raw'), 'abfss://raw@acct.dfs.core.windows.net');
  assert.equal(
    lakeNamespace('azure:http://127.0.0.1:10000/devstoreaccount1/raw'),
    'http://127.0.0.1:10000/devstoreaccount1/raw',
  );
});

test("the producer is this package's own identifier (package.json), valid as the spec's URI", async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { name: string; version: string };
  const event = runEvent({ type: 'START', run: window, eventTime: new Date(), source, lake }) as {
    producer: string;
    run: { facets: Record<string, { _producer?: string }> };
  };
  assert.equal(event.producer, `pkg:npm/${pkg.name}@${pkg.version}`);
  assert.equal(event.producer, PRODUCER);
  assert.deepEqual(openLineageProblems([event]), []);
  assert.equal(
    producerUri({ name: 'tidemark', version: '1.2.3', repository: 'https://github.com/acme/tidemark' }),
    'https://github.com/acme/tidemark/tree/v1.2.3',
  );
});
