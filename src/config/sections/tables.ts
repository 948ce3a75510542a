/** The `tables` section: each table to land, its capture strategy, cadence, limits and PHI policy. */
import { DEFAULTS } from '../defaults.js';
import { durationOf } from '../duration.js';
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type LatencyBackoffLimit, type SourceConfig, type TableConfig, type TableQuality } from '../types.js';
import { readCapture } from './capture.js';
import { readPhi } from './phi.js';
import { checkSqlName, readColumns } from './shared-fields.js';

const checkTableName: StringCheck = (name) =>
  /^[^.[\]\s]{1,128}\.[^.[\]\s]{1,128}$/.test(name)
    ? undefined
    : {
        message: 'is not a schema-qualified table name',
        fix: 'write `schema.table`, e.g. `name: dbo.Claims` (no brackets, no database)',
      };

export function readTables(doc: ObjectReader, source: SourceConfig): TableConfig[] {
  const items = doc.list('tables', {
    what: 'the tables to land',
    example: '{ name: dbo.Claims, capture: { strategy: cdc } }',
    required: true,
  });
  if (doc.has('tables') && items.length === 0 && Array.isArray(doc.raw('tables'))) {
    doc.checker.report(doc.at('tables'), 'no tables are listed', 'list at least one table (see tidemark.example.yaml)');
  }
  const seen = new Map<string, number>();
  const tables: TableConfig[] = [];
  for (const { node, path } of items) {
    const table = readTable(doc.checker.object(path, node, 'a table'), source);
    const index = path[path.length - 1] as number;
    const lowered = table.name.toLowerCase();
    const first = seen.get(lowered);
    if (table.name !== '' && first !== undefined) {
      doc.checker.report(
        [...path, 'name'],
        `${table.name} is already listed at tables[${first}]`,
        'list each table once (SQL Server names are case-insensitive here)',
      );
    } else if (table.name !== '') seen.set(lowered, index);
    tables.push(table);
  }
  return tables;
}

function readTable(o: ObjectReader, source: SourceConfig): TableConfig {
  o.allow([
    'name',
    'capture',
    'key',
    'cadence',
    'idleCommitInterval',
    'businessDateColumn',
    'limits',
    'phi',
    'quality',
  ]);
  const name = o.requiredString('name', {
    what: 'the table, as schema.table',
    example: 'dbo.Claims',
    check: checkTableName,
  });
  const [schema = '', table = ''] = name.split('.');
  const capture = readCapture(o);
  const key = readColumns(o, 'key', 'the key columns');
  const cadence = o.duration('cadence', {
    what: 'the cadence',
    example: '15m',
    fallback: DEFAULTS.cadence,
    min: DEFAULTS.minCadence,
    max: DEFAULTS.maxCadence,
  });
  const idleCommitInterval = o.duration('idleCommitInterval', {
    what: 'the idle-commit interval',
    example: '1h',
    fallback: DEFAULTS.idleCommitInterval,
    min: DEFAULTS.minIdleCommitInterval,
    // Well inside CDC's default 3-day and Change Tracking's default 2-day retention.
    max: DEFAULTS.maxCadence,
  });
  const businessDateColumn = o.optionalString('businessDateColumn', {
    what: 'the business-date column',
    example: 'ServiceDate',
    check: checkSqlName,
  });
  const limits = readLimits(o, source);
  const phi = readPhi(o, key ?? []);
  const quality = o.has('quality') ? readQuality(o, phi) : undefined;
  return {
    name,
    schema,
    table,
    capture,
    ...(key === undefined ? {} : { key }),
    cadence,
    idleCommitInterval,
    ...(businessDateColumn === undefined ? {} : { businessDateColumn }),
    limits,
    phi,
    ...(quality ? { quality } : {}),
  };
}

/** `tables[].quality`: control-total columns (never PHI: their sums would describe patients) and the source check. */
function readQuality(table: ObjectReader, phi: TableConfig['phi']): TableQuality {
  const q = table.checker.object(table.at('quality'), table.raw('quality'), 'the quality section');
  q.allow(['controlTotals', 'sourceCheckEvery']);
  const controlTotals = readColumns(q, 'controlTotals', 'the control-total columns') ?? [];
  const phiColumns = new Set(phi.flatMap((r) => r.columns.map((c) => c.toLowerCase())));
  for (const c of controlTotals)
    if (phiColumns.has(c.toLowerCase()))
      q.checker.report(
        q.at('controlTotals'),
        `column ${c} is a PHI column: its sums would be recorded in every manifest`,
        'choose non-PHI numeric columns for control totals (e.g. amounts)',
      );
  const sourceCheckEvery = q.integer('sourceCheckEvery', {
    what: 'how often the source totals are compared (every Nth window; 0 never)',
    example: '10',
    min: 0,
    max: 1_000_000,
    fallback: 0,
  });
  return { controlTotals, sourceCheckEvery };
}

/** `tables[].limits`: how hard one table may read; the query timeout defaults to the source's request timeout. */
function readLimits(table: ObjectReader, source: SourceConfig): TableConfig['limits'] {
  const l = table.checker.object(table.at('limits'), table.raw('limits'), 'the limits section');
  l.allow([
    'maxRowsPerSecond',
    'maxRowsPerWindow',
    'maxChunkRowsPerSecond',
    'subRangeRows',
    'queryTimeout',
    'latencyBackoff',
  ]);
  const latencyBackoff = readLatencyBackoff(l);
  const maxRowsPerSecond = l.integer('maxRowsPerSecond', {
    what: 'the most rows read per second',
    example: '5000',
    min: 1,
    max: 1_000_000,
    fallback: DEFAULTS.maxRowsPerSecond,
  });
  // A floor written above the table's cap is a mistake; the default floor (100) is lowered to a smaller cap.
  const lbRaw = l.raw('latencyBackoff');
  const floorWritten = typeof lbRaw === 'object' && lbRaw !== null && 'minRowsPerSecond' in lbRaw;
  if (latencyBackoff && floorWritten && latencyBackoff.minRowsPerSecond > maxRowsPerSecond)
    l.checker.report(
      [...l.at('latencyBackoff'), 'minRowsPerSecond'],
      `the back-off's floor (${latencyBackoff.minRowsPerSecond} rows/s) is above maxRowsPerSecond (${maxRowsPerSecond}): the back-off could never slow the table's reads`,
      `lower minRowsPerSecond to at most ${maxRowsPerSecond} (the rate the table must keep up with), or raise maxRowsPerSecond`,
    );
  const maxChunkRowsPerSecond = l.has('maxChunkRowsPerSecond')
    ? l.integer('maxChunkRowsPerSecond', {
        what: 'the most rows one chunk of a job reads per second',
        example: '20000',
        min: 1,
        max: 1_000_000,
        fallback: 1,
      })
    : undefined;
  return {
    maxRowsPerSecond,
    maxRowsPerWindow: l.integer('maxRowsPerWindow', {
      what: 'the most rows in one window',
      example: '1000000',
      min: 1_000,
      max: 1_000_000_000,
      fallback: DEFAULTS.maxRowsPerWindow,
    }),
    subRangeRows: l.integer('subRangeRows', {
      what: 'the most change rows one activity reads of a window (a larger backlog is split into parallel sub-ranges)',
      example: '100000',
      min: 1_000,
      max: 1_000_000_000,
      fallback: DEFAULTS.subRangeRows,
    }),
    queryTimeout: l.duration('queryTimeout', {
      what: 'the query timeout',
      example: '5m',
      fallback: source.requestTimeout,
      min: durationOf(1_000),
      max: durationOf(6 * 3_600_000),
    }),
    ...(maxChunkRowsPerSecond !== undefined ? { maxChunkRowsPerSecond } : {}),
    ...(latencyBackoff !== undefined ? { latencyBackoff } : {}),
  };
}

/**
 * `limits.latencyBackoff`: `off` (the default), a percent (`5`: the probe may get 5% slower), or
 * `{ maxIncreasePercent, probe, probeInterval, minRowsPerSecond }`.
 */
function readLatencyBackoff(l: ObjectReader): LatencyBackoffLimit | undefined {
  const raw = l.raw('latencyBackoff');
  if (raw === undefined || raw === 'off' || raw === false) return undefined;
  const percent = {
    what: 'the largest allowed increase of the probe latency, in percent',
    example: '5',
    min: 1,
    max: 1000,
  };
  const defaults = {
    probe: DEFAULTS.latencyProbe,
    probeInterval: DEFAULTS.latencyProbeInterval,
    minRowsPerSecond: DEFAULTS.latencyBackoffFloor,
  };
  if (typeof raw === 'number' || typeof raw === 'string') {
    if (typeof raw === 'string' && !/^\d+$/.test(raw.trim())) {
      l.checker.report(
        l.at('latencyBackoff'),
        `latencyBackoff must be off, a percent or a map, got ${l.checker.describe(l.at('latencyBackoff'), raw)}`,
        'write `latencyBackoff: 5` (the application may get 5% slower while Tidemark reads) or `latencyBackoff: off`',
      );
      return undefined;
    }
    return { maxIncreasePercent: l.integer('latencyBackoff', { ...percent, fallback: 5 }), ...defaults };
  }
  const b = l.checker.object(l.at('latencyBackoff'), raw, 'the latency back-off');
  b.allow(['maxIncreasePercent', 'probe', 'probeInterval', 'minRowsPerSecond']);
  return {
    maxIncreasePercent: b.integer('maxIncreasePercent', { ...percent, required: true }),
    probe: b.optionalString('probe', {
      what: 'the probe statement',
      example: 'SELECT 1',
      fallback: defaults.probe,
      check: checkProbeStatement,
    }),
    probeInterval: b.duration('probeInterval', {
      what: 'the time between probes',
      example: '250ms',
      fallback: defaults.probeInterval,
      min: durationOf(100),
      max: durationOf(10_000),
    }),
    minRowsPerSecond: b.integer('minRowsPerSecond', {
      what: 'the lowest rows/s cap the back-off sets (the table keeps up with writes below it, whatever the probe says)',
      example: '500',
      min: 1,
      max: 1_000_000,
      fallback: defaults.minRowsPerSecond,
    }),
  };
}

/** A probe is one read-only statement: it runs every few hundred ms on the production server. */
const checkProbeStatement: StringCheck = (text) => {
  const t = text.trim();
  if (!/^select\b/i.test(t) || /;\s*\S/.test(t))
    return {
      message: 'is not one SELECT statement',
      fix: "write one cheap SELECT that every login may run, e.g. `probe: SELECT 1`, or a point lookup like the application's own",
    };
  if (/\b(NOLOCK|READPAST|READUNCOMMITTED)\b|\bINTO\b/i.test(t))
    return {
      message: 'uses a lock-skipping hint or SELECT … INTO',
      fix: 'remove the hint (Tidemark never sends NOLOCK / READPAST / READUNCOMMITTED) or the INTO',
    };
  return undefined;
};
