/** The `source` section: the SQL Server to read, how to reach it, and how hard Tidemark may use it. */
import { DEFAULTS } from '../defaults.js';
import { durationOf } from '../duration.js';
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type SourceConfig } from '../types.js';
import { checkSqlName, filePath, isLoopback, type PathOptions } from './shared-fields.js';
import { readSourceAuth } from './source-auth.js';

const checkHost: StringCheck = (host) => {
  if (/^[a-z]+:\/\//i.test(host))
    return { message: 'is a URL, not a host name', fix: 'write only the host name, e.g. `host: sql01.corp.example`' };
  if (host.includes('\\'))
    return { message: 'names an instance', fix: "write the host only and give the instance's TCP port in `port`" };
  if (/[\s/,;]/.test(host) || /^[^:[]+:\d+$/.test(host))
    return { message: 'is not a host name', fix: 'write the host name or address only; the port goes in `port`' };
  return undefined;
};

export function readSource(o: ObjectReader, paths: PathOptions): SourceConfig {
  o.allow([
    'host',
    'port',
    'database',
    'auth',
    'encrypt',
    'trustServerCertificate',
    'caFile',
    'readOnlyIntent',
    'appName',
    'connectTimeout',
    'requestTimeout',
    'pool',
    'maxConcurrentQueries',
  ]);
  const host = o.requiredString('host', {
    what: 'the SQL Server host name (the availability group listener in production)',
    example: 'sql01.corp.example',
    check: checkHost,
  });
  const port = o.integer('port', {
    what: 'the SQL Server TCP port',
    example: '1433',
    min: 1,
    max: 65535,
    fallback: DEFAULTS.sourcePort,
  });
  const database = o.requiredString('database', {
    what: 'the database to read',
    example: 'Claims',
    check: checkSqlName,
  });
  const auth = readSourceAuth(o);
  const encrypt = o.boolean('encrypt', { what: 'encrypt', fallback: true });
  const trustServerCertificate = o.boolean('trustServerCertificate', {
    what: 'trustServerCertificate',
    fallback: false,
  });
  const caFile = filePath(o, 'caFile', 'the CA certificate file', paths);
  const readOnlyIntent = o.boolean('readOnlyIntent', { what: 'readOnlyIntent', fallback: true });
  const appName = o.optionalString('appName', {
    what: 'the application name',
    example: 'tidemark',
    fallback: DEFAULTS.appName,
    check: checkSqlName,
  });
  const { connectTimeout, requestTimeout } = readTimeouts(o);
  const pool = readPool(o);
  const maxConcurrentQueries = readMaxConcurrentQueries(o, pool.max);
  checkEncryptionInTransit(o, host, encrypt, trustServerCertificate);
  return {
    host,
    port,
    database,
    auth,
    encrypt,
    trustServerCertificate,
    ...(caFile === undefined ? {} : { caFile }),
    readOnlyIntent,
    appName,
    connectTimeout,
    requestTimeout,
    pool,
    maxConcurrentQueries,
  };
}

function readTimeouts(o: ObjectReader): Pick<SourceConfig, 'connectTimeout' | 'requestTimeout'> {
  const connectTimeout = o.duration('connectTimeout', {
    what: 'the connect timeout',
    example: '15s',
    fallback: DEFAULTS.connectTimeout,
    min: durationOf(1_000),
    max: durationOf(300_000),
  });
  const requestTimeout = o.duration('requestTimeout', {
    what: 'the request timeout',
    example: '2m',
    fallback: DEFAULTS.requestTimeout,
    min: durationOf(1_000),
    max: durationOf(6 * 3_600_000),
  });
  return { connectTimeout, requestTimeout };
}

function readPool(o: ObjectReader): SourceConfig['pool'] {
  const poolReader = o.checker.object(o.at('pool'), o.raw('pool'), 'the connection pool');
  poolReader.allow(['max', 'min', 'idleTimeout']);
  const pool = {
    max: poolReader.integer('max', {
      what: 'the most open connections',
      example: '4',
      min: 1,
      max: 100,
      fallback: DEFAULTS.poolMax,
    }),
    min: poolReader.integer('min', {
      what: 'the connections kept open',
      example: '0',
      min: 0,
      max: 100,
      fallback: DEFAULTS.poolMin,
    }),
    idleTimeout: poolReader.duration('idleTimeout', {
      what: 'the idle timeout',
      example: '30s',
      fallback: DEFAULTS.poolIdleTimeout,
      min: durationOf(1_000),
    }),
  };
  if (pool.min > pool.max) {
    o.checker.report(
      poolReader.at('min'),
      `pool.min (${pool.min}) is more than pool.max (${pool.max})`,
      'lower `pool.min` or raise `pool.max`',
    );
  }
  return pool;
}

function readMaxConcurrentQueries(o: ObjectReader, poolMax: number): number {
  const maxConcurrentQueries = o.integer('maxConcurrentQueries', {
    what: 'the most queries at once',
    example: '4',
    min: 1,
    max: 64,
    fallback: DEFAULTS.maxConcurrentQueries,
  });
  if (maxConcurrentQueries > poolMax && o.has('maxConcurrentQueries')) {
    o.checker.report(
      o.at('maxConcurrentQueries'),
      `maxConcurrentQueries (${maxConcurrentQueries}) is more than pool.max (${poolMax}): the extra queries would only wait for a connection`,
      `raise \`pool.max\` to ${maxConcurrentQueries} or lower \`maxConcurrentQueries\``,
    );
  }
  return maxConcurrentQueries;
}

/** HIPAA: data in transit is encrypted and the server verified, except on this machine (simulator). */
function checkEncryptionInTransit(o: ObjectReader, host: string, encrypt: boolean, trustServerCertificate: boolean) {
  if (!o.present || host === '' || isLoopback(host)) return;
  if (!encrypt)
    o.checker.report(
      o.at('encrypt'),
      `encrypt is off for ${host}: claims data would cross the network in clear text`,
      'remove `encrypt: false` (only a loopback host such as 127.0.0.1 may turn it off)',
    );
  if (trustServerCertificate)
    o.checker.report(
      o.at('trustServerCertificate'),
      `trustServerCertificate skips verifying ${host}'s certificate`,
      'remove it and set `caFile:` to the CA that signed the server certificate',
    );
}
