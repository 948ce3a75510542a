/**
 * The config schema: reads the interpolated document section by section into a {@link TidemarkConfig},
 * applying defaults and recording every problem (see `reader.ts`).
 *
 * Why a hand-written validator rather than zod: every message here must say what is wrong AND how to
 * fix it, in the operator's words, with a "did you mean" for typos in keys and in enum values, rules
 * that depend on other fields (strategy parameters, mTLS pairs, PHI actions vs key columns, a nightly
 * window for strategies that need reconciliation), a refusal of secrets written literally in the file,
 * and values from the environment never echoed. With zod each of those becomes a custom refinement or
 * error map, and its default messages ("Expected string, received number", union errors listing every
 * branch) would still leak through; the schema would be zod plus as much custom code as this file. A
 * small reader keeps the whole behaviour in one readable place and adds no dependency.
 */
import { isAbsolute, resolve } from 'node:path';
import { keyColumnPhiProblem } from './phi-key-rule.js';
import { durationOf } from './duration.js';
import { type ConfigPath } from './path.js';
import { type Checker, type ObjectReader, type StringCheck } from './reader.js';
import {
  type CaptureConfig,
  type CaptureStrategy,
  type NightlyConfig,
  type PhiAction,
  type PhiRule,
  type PrivacyConfig,
  type SinkConfig,
  type SourceAuth,
  type SourceConfig,
  type TableConfig,
  type TemporalConfig,
  type TemporalTlsConfig,
  type TidemarkConfig,
} from './types.js';

/** How file paths in the config are resolved and checked. */
export interface PathOptions {
  /** Directory relative paths are resolved against (the config file's); left as written when absent. */
  baseDir?: string;
  /** When given, each file path must exist according to it. */
  fileExists?: (path: string) => boolean;
}

/** Defaults, in one place so the docs and the example can be checked against them. */
export const DEFAULTS = {
  sourcePort: 1433,
  appName: 'tidemark',
  connectTimeout: durationOf(15_000),
  requestTimeout: durationOf(120_000),
  poolMax: 4,
  poolMin: 0,
  poolIdleTimeout: durationOf(30_000),
  maxConcurrentQueries: 4,
  namespace: 'default',
  taskQueue: 'tidemark',
  cadence: durationOf(15 * 60_000),
  minCadence: durationOf(60_000),
  maxCadence: durationOf(24 * 3_600_000),
  idleCommitInterval: durationOf(3_600_000),
  maxRowsPerSecond: 5_000,
  maxRowsPerWindow: 1_000_000,
  updatedAtLookback: durationOf(15 * 60_000),
  updatedAtSafetyLag: durationOf(2 * 60_000),
  nightlyDuration: durationOf(2 * 3_600_000),
  timezone: 'UTC',
} as const;

/** Capture strategies and the parameters each takes. */
export const CAPTURE_PARAMETERS: Readonly<Record<CaptureStrategy, readonly string[]>> = {
  cdc: ['captureInstance'],
  change_tracking: [],
  rowversion: ['column'],
  updated_at: ['column', 'lookback', 'safetyLag'],
  identity: ['column'],
};

const STRATEGIES = Object.keys(CAPTURE_PARAMETERS) as CaptureStrategy[];

/** Strategies that cannot see deletes (and, for identity, updates): they need the nightly window. */
export const NEEDS_NIGHTLY: readonly CaptureStrategy[] = ['rowversion', 'updated_at', 'identity'];

const PHI_ACTIONS: readonly PhiAction[] = ['drop', 'hash', 'keep'];

/** Whether a host is this machine: the only place unencrypted or unverified connections are allowed. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const checkHost: StringCheck = (host) => {
  if (/^[a-z]+:\/\//i.test(host))
    return { message: 'is a URL, not a host name', fix: 'write only the host name, e.g. `host: sql01.corp.example`' };
  if (host.includes('\\'))
    return { message: 'names an instance', fix: "write the host only and give the instance's TCP port in `port`" };
  if (/[\s/,;]/.test(host) || /^[^:[]+:\d+$/.test(host))
    return { message: 'is not a host name', fix: 'write the host name or address only; the port goes in `port`' };
  return undefined;
};

const checkSqlName: StringCheck = (name) =>
  name.length <= 128 && !/[[\]]/.test(name) && !hasControlCharacter(name) && name.trim() === name
    ? undefined
    : {
        message: 'is not a SQL Server name',
        fix: 'write the name as SQL Server shows it, without brackets, at most 128 characters',
      };

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

const checkTableName: StringCheck = (name) =>
  /^[^.[\]\s]{1,128}\.[^.[\]\s]{1,128}$/.test(name)
    ? undefined
    : {
        message: 'is not a schema-qualified table name',
        fix: 'write `schema.table`, e.g. `name: dbo.Claims` (no brackets, no database)',
      };

const checkAddress: StringCheck = (address) =>
  /^[^\s:/]+:\d{1,5}$/.test(address) || /^\[[0-9a-f:]+\]:\d{1,5}$/i.test(address)
    ? undefined
    : { message: 'is not a `host:port` address', fix: 'write e.g. `address: 127.0.0.1:7233` (no scheme)' };

const checkContainer: StringCheck = (name) =>
  /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(name)
    ? undefined
    : {
        message: 'is not a valid container name',
        fix: 'use 3–63 lowercase letters, digits and single hyphens, starting with a letter or digit',
      };

const checkPrefix: StringCheck = (prefix) => {
  if (prefix.startsWith('/'))
    return { message: 'starts with `/`', fix: 'write the prefix without a leading `/`, e.g. `prefix: claims/raw`' };
  if (prefix.split('/').some((part, i, all) => (part === '' && i < all.length - 1) || part === '.' || part === '..')) {
    return { message: 'has an empty, `.` or `..` segment', fix: 'write plain segments separated by single `/`' };
  }
  return undefined;
};

const checkTime: StringCheck = (time) =>
  /^([01]\d|2[0-3]):[0-5]\d$/.test(time)
    ? undefined
    : { message: 'is not a time of day', fix: 'write `HH:MM` in 24-hour time, quoted, e.g. `windowStart: "01:00"`' };

const checkTimezone: StringCheck = (zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return { message: 'is not an IANA time zone', fix: 'write e.g. `timezone: America/Chicago` or `timezone: UTC`' };
  }
};

const checkGuid: StringCheck = (id) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ? undefined
    : { message: 'is not a GUID', fix: 'copy the id from the Entra ID portal (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)' };

/** Reads the whole document. */
export function validateDocument(checker: Checker, root: unknown, paths: PathOptions): TidemarkConfig {
  if (root === undefined || root === null) {
    checker.report([], 'the config is empty', 'start from tidemark.example.yaml');
  }
  const doc = checker.object([], root ?? undefined, 'the Tidemark config');
  doc.allow(['version', 'source', 'sink', 'temporal', 'tables', 'nightly', 'privacy']);

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

  // Rules that span sections.
  const reconciled = tables.filter((t) => NEEDS_NIGHTLY.includes(t.capture.strategy));
  if (reconciled.length > 0 && nightly === undefined && !doc.has('nightly')) {
    const names = reconciled.map((t) => `${t.name} (${t.capture.strategy})`).join(', ');
    checker.report(
      doc.at('nightly'),
      `missing section: ${names} cannot see deletes, so they need nightly reconciliation in a heavy-read window`,
      'add `nightly: { windowStart: "01:00", duration: 2h }` with your heavy-read window',
    );
  }
  const hashing = tables.filter((t) => t.phi.some((rule) => rule.action === 'hash'));
  if (hashing.length > 0 && !doc.has('privacy')) {
    checker.report(
      doc.at('privacy'),
      `missing section: ${hashing.map((t) => t.name).join(', ')} hash PHI columns, which needs a key`,
      'add `privacy: { hashKey: ${TIDEMARK_PHI_HASH_KEY} }` and set that variable to a random string of at least 32 characters',
    );
  }

  return {
    version: 1,
    source,
    sink,
    temporal,
    tables,
    ...(nightly === undefined ? {} : { nightly }),
    ...(privacy === undefined ? {} : { privacy }),
  };
}

function filePath(o: ObjectReader, key: string, what: string, paths: PathOptions): string | undefined {
  const written = o.optionalString(key, {
    what,
    example: `/etc/tidemark/${key === 'keyFile' ? 'client.key' : 'ca.pem'}`,
  });
  if (written === undefined) return undefined;
  const full = paths.baseDir === undefined || isAbsolute(written) ? written : resolve(paths.baseDir, written);
  if (paths.fileExists && !paths.fileExists(full)) {
    o.checker.report(
      o.at(key),
      `${what} not found: ${full}`,
      `fix the path (relative paths are resolved against the config file's directory), or create the file`,
    );
  }
  return full;
}

function readSource(o: ObjectReader, paths: PathOptions): SourceConfig {
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
  const maxConcurrentQueries = o.integer('maxConcurrentQueries', {
    what: 'the most queries at once',
    example: '4',
    min: 1,
    max: 64,
    fallback: DEFAULTS.maxConcurrentQueries,
  });
  if (maxConcurrentQueries > pool.max && o.has('maxConcurrentQueries')) {
    o.checker.report(
      o.at('maxConcurrentQueries'),
      `maxConcurrentQueries (${maxConcurrentQueries}) is more than pool.max (${pool.max}): the extra queries would only wait for a connection`,
      `raise \`pool.max\` to ${maxConcurrentQueries} or lower \`maxConcurrentQueries\``,
    );
  }

  // HIPAA: data in transit is encrypted and the server verified, except on this machine (simulator).
  if (o.present && host !== '' && !isLoopback(host)) {
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

const AUTH_KEYS: Readonly<Record<SourceAuth['type'], readonly string[]>> = {
  'sql-login': ['user', 'password'],
  'entra-default': [],
  'entra-managed-identity': ['clientId'],
  'entra-service-principal': ['tenantId', 'clientId', 'clientSecret'],
};

function readSourceAuth(source: ObjectReader): SourceAuth {
  const fallback: SourceAuth = { type: 'entra-default' };
  if (!source.has('auth')) {
    if (source.present)
      source.checker.report(
        source.at('auth'),
        'missing: how Tidemark signs in to SQL Server',
        'add `auth: { type: sql-login, user: <login>, password: ${TIDEMARK_SOURCE_PASSWORD} }` or `auth: { type: entra-managed-identity }`',
      );
    return fallback;
  }
  const o = source.checker.object(source.at('auth'), source.raw('auth'), 'the source auth section');
  const type = o.variant('type', AUTH_KEYS, 'auth type');
  if (type === undefined) return fallback;
  switch (type) {
    case 'sql-login':
      return {
        type,
        user: o.requiredString('user', {
          what: 'the SQL login name',
          example: 'tidemark_extractor',
          check: checkSqlName,
        }),
        password: o.secret('password', {
          what: 'the SQL login password',
          envExample: 'TIDEMARK_SOURCE_PASSWORD',
          required: true,
        }),
      };
    case 'entra-default':
      return { type };
    case 'entra-managed-identity': {
      const clientId = o.optionalString('clientId', {
        what: 'the client id of the user-assigned identity',
        example: '<guid>',
        check: checkGuid,
      });
      return clientId === undefined ? { type } : { type, clientId };
    }
    case 'entra-service-principal':
      return {
        type,
        tenantId: o.requiredString('tenantId', {
          what: 'the directory (tenant) id',
          example: '<guid>',
          check: checkGuid,
        }),
        clientId: o.requiredString('clientId', {
          what: 'the application (client) id',
          example: '<guid>',
          check: checkGuid,
        }),
        clientSecret: o.secret('clientSecret', {
          what: 'the client secret',
          envExample: 'TIDEMARK_SOURCE_CLIENT_SECRET',
          required: true,
        }),
      };
  }
}

const SINK_AUTH = ['defaultAzureCredential', 'connectionString'] as const;

function readSink(o: ObjectReader): SinkConfig {
  o.allow(['auth', 'accountUrl', 'connectionString', 'container', 'stateContainer', 'prefix', 'encryptionScope']);
  const container = o.requiredString('container', {
    what: 'the container the raw layer is written to',
    example: 'raw',
    check: checkContainer,
  });
  const prefix = (
    o.optionalString('prefix', { what: 'the path prefix', example: 'tidemark', fallback: '', check: checkPrefix }) ?? ''
  ).replace(/\/+$/, '');
  const encryptionScope = o.optionalString('encryptionScope', {
    what: 'the encryption scope',
    example: 'tidemark-cmk',
    check: (s) =>
      /^[A-Za-z0-9][A-Za-z0-9-]{2,62}$/.test(s)
        ? undefined
        : { message: 'is not an encryption scope name', fix: 'use 3–63 letters, digits and hyphens' },
  });
  const stateContainer = o.optionalString('stateContainer', {
    what: 'the container for the watermark (when the data container is WORM)',
    example: 'raw-state',
    check: checkContainer,
  });
  if (stateContainer !== undefined && stateContainer === container)
    o.checker.report(
      o.at('stateContainer'),
      'is the same container as `container`',
      'leave stateContainer out (that is the default), or name a container without an immutability policy',
    );
  const common = {
    container,
    prefix,
    ...(stateContainer === undefined ? {} : { stateContainer }),
    ...(encryptionScope === undefined ? {} : { encryptionScope }),
  };

  // `auth` may be left out when exactly one of accountUrl / connectionString says which it is.
  const hasUrl = o.has('accountUrl');
  const hasConn = o.has('connectionString');
  const written = o.oneOf('auth', SINK_AUTH, { what: 'sink auth' });
  if (hasUrl && hasConn) {
    o.checker.report(
      o.at('connectionString'),
      'both accountUrl and connectionString are given',
      'keep `accountUrl` (with `auth: defaultAzureCredential`) or `connectionString`, not both',
    );
  }
  const auth = written ?? (hasConn ? 'connectionString' : 'defaultAzureCredential');
  if (auth === 'connectionString') {
    if (o.present && !hasConn)
      o.checker.report(
        o.at('connectionString'),
        'missing: the storage connection string (auth is connectionString)',
        'add `connectionString: ${TIDEMARK_SINK_CONNECTION_STRING}`',
      );
    const connectionString = o.secret('connectionString', {
      what: 'the storage connection string',
      envExample: 'TIDEMARK_SINK_CONNECTION_STRING',
    }) ?? { kind: 'value', value: '', fromEnv: [] };
    if (connectionString.kind === 'value' && connectionString.value !== '')
      checkConnectionString(o, connectionString.value);
    return { auth, connectionString, ...common };
  }
  if (o.present && !hasUrl) {
    o.checker.report(
      o.at('accountUrl'),
      'missing: the storage account URL (auth is defaultAzureCredential)',
      'add `accountUrl: https://<account>.blob.core.windows.net`',
    );
  }
  const accountUrl = o.optionalString('accountUrl', {
    what: 'the storage account URL',
    example: 'https://<account>.blob.core.windows.net',
    check: (text) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return { message: 'is not a URL', fix: 'write `accountUrl: https://<account>.blob.core.windows.net`' };
      }
      if (url.search !== '')
        return {
          message: 'carries a query string (a SAS token is a secret)',
          fix: 'remove the query string; Entra ID needs no token in the URL',
        };
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
        return { message: 'is not https', fix: 'use `https://` (plain http is allowed only for a loopback emulator)' };
      }
      return undefined;
    },
  });
  return { auth, accountUrl: (accountUrl ?? '').replace(/\/+$/, ''), ...common };
}

/** Checks a connection string's shape without ever echoing it (it carries the account key or SAS). */
function checkConnectionString(o: ObjectReader, value: string): void {
  const pairs = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      o.checker.report(
        o.at('connectionString'),
        'the connection string is not a list of `Key=value;` pairs',
        'copy the connection string from the storage account\'s "Access keys" page, or use Azurite\'s',
      );
      return;
    }
    pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const dev = pairs.get('usedevelopmentstorage')?.toLowerCase() === 'true';
  if (!dev && !pairs.has('accountname') && !pairs.has('blobendpoint')) {
    o.checker.report(
      o.at('connectionString'),
      'the connection string names no AccountName or BlobEndpoint',
      'copy the full connection string from the storage account\'s "Access keys" page',
    );
    return;
  }
  if (!dev && !pairs.has('accountkey') && !pairs.has('sharedaccesssignature')) {
    o.checker.report(
      o.at('connectionString'),
      'the connection string has no AccountKey or SharedAccessSignature',
      'copy the full connection string, or use `accountUrl` with `auth: defaultAzureCredential`',
    );
  }
  const endpoint = pairs.get('blobendpoint');
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      o.checker.report(
        o.at('connectionString'),
        "the connection string's BlobEndpoint is not a URL",
        'write `BlobEndpoint=https://<account>.blob.core.windows.net`',
      );
    }
    if (url && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
      o.checker.report(
        o.at('connectionString'),
        "the connection string's BlobEndpoint is not https",
        'use `https://` (plain http is allowed only for a loopback emulator such as Azurite)',
      );
    }
  } else if (!dev && pairs.get('defaultendpointsprotocol')?.toLowerCase() === 'http') {
    o.checker.report(
      o.at('connectionString'),
      'the connection string uses DefaultEndpointsProtocol=http',
      'use `DefaultEndpointsProtocol=https`',
    );
  }
}

function readTemporal(o: ObjectReader, paths: PathOptions): TemporalConfig {
  o.allow(['address', 'namespace', 'taskQueue', 'tls', 'apiKey']);
  const address = o.requiredString('address', {
    what: 'the Temporal frontend address',
    example: '127.0.0.1:7233',
    check: checkAddress,
  });
  const namespace = o.optionalString('namespace', {
    what: 'the Temporal namespace',
    example: 'default',
    fallback: DEFAULTS.namespace,
  });
  const taskQueue = o.optionalString('taskQueue', {
    what: 'the task queue',
    example: 'tidemark',
    fallback: DEFAULTS.taskQueue,
  });
  const apiKey = o.secret('apiKey', { what: 'the Temporal API key', envExample: 'TEMPORAL_API_KEY' });

  let tls: TemporalTlsConfig | undefined;
  const rawTls = o.raw('tls');
  if (rawTls === true) tls = {};
  else if (rawTls === false || rawTls === undefined) tls = undefined;
  else {
    const t = o.checker.object(o.at('tls'), rawTls, 'the TLS settings (or true / false)');
    t.allow(['certFile', 'keyFile', 'caFile', 'serverName']);
    const certFile = filePath(t, 'certFile', 'the client certificate file', paths);
    const keyFile = filePath(t, 'keyFile', 'the client key file', paths);
    const caFile = filePath(t, 'caFile', 'the CA certificate file', paths);
    const serverName = t.optionalString('serverName', {
      what: 'the server name to verify',
      example: 'temporal.corp.example',
    });
    if (certFile !== undefined && keyFile === undefined)
      t.checker.report(
        t.at('keyFile'),
        'a client certificate needs its private key',
        'add `keyFile:` next to `certFile:`',
      );
    if (keyFile !== undefined && certFile === undefined)
      t.checker.report(t.at('certFile'), 'a client key needs its certificate', 'add `certFile:` next to `keyFile:`');
    if (certFile !== undefined && apiKey !== undefined)
      t.checker.report(
        t.at('certFile'),
        'both an mTLS client certificate and an API key are given',
        'use one way to authenticate: remove `apiKey` or `tls.certFile`/`tls.keyFile`',
      );
    tls = {
      ...(certFile === undefined ? {} : { certFile }),
      ...(keyFile === undefined ? {} : { keyFile }),
      ...(caFile === undefined ? {} : { caFile }),
      ...(serverName === undefined ? {} : { serverName }),
    };
  }
  if (apiKey !== undefined) {
    if (rawTls === false)
      o.checker.report(o.at('tls'), 'an API key must not be sent without TLS', 'remove `tls: false`');
    tls ??= {};
  }
  return {
    address,
    namespace,
    taskQueue,
    ...(tls === undefined ? {} : { tls }),
    ...(apiKey === undefined ? {} : { apiKey }),
  };
}

function readTables(doc: ObjectReader, source: SourceConfig): TableConfig[] {
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
  o.allow(['name', 'capture', 'key', 'cadence', 'idleCommitInterval', 'businessDateColumn', 'limits', 'phi']);
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
    min: DEFAULTS.minCadence,
    // Well inside CDC's default 3-day and Change Tracking's default 2-day retention.
    max: DEFAULTS.maxCadence,
  });
  const businessDateColumn = o.optionalString('businessDateColumn', {
    what: 'the business-date column',
    example: 'ServiceDate',
    check: checkSqlName,
  });

  const l = o.checker.object(o.at('limits'), o.raw('limits'), 'the limits section');
  l.allow(['maxRowsPerSecond', 'maxRowsPerWindow', 'queryTimeout']);
  const limits = {
    maxRowsPerSecond: l.integer('maxRowsPerSecond', {
      what: 'the most rows read per second',
      example: '5000',
      min: 1,
      max: 1_000_000,
      fallback: DEFAULTS.maxRowsPerSecond,
    }),
    maxRowsPerWindow: l.integer('maxRowsPerWindow', {
      what: 'the most rows in one window',
      example: '1000000',
      min: 1_000,
      max: 1_000_000_000,
      fallback: DEFAULTS.maxRowsPerWindow,
    }),
    queryTimeout: l.duration('queryTimeout', {
      what: 'the query timeout',
      example: '5m',
      fallback: source.requestTimeout,
      min: durationOf(1_000),
      max: durationOf(6 * 3_600_000),
    }),
  };

  const phi = readPhi(o, key ?? []);
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
  };
}

function readCapture(table: ObjectReader): CaptureConfig {
  const fallback: CaptureConfig = { strategy: 'change_tracking' };
  if (!table.has('capture')) {
    if (table.present)
      table.checker.report(
        table.at('capture'),
        `missing: how changes are captured (strategy one of ${STRATEGIES.join(', ')})`,
        'add `capture: { strategy: cdc }` (or the strategy that fits the table)',
      );
    return fallback;
  }
  const raw = table.raw('capture');
  // `capture: cdc` is a natural shorthand for strategies without parameters; accept it.
  const o = table.checker.object(
    table.at('capture'),
    typeof raw === 'string' ? { strategy: raw } : raw,
    'the capture section',
  );
  const strategy = o.variant('strategy', CAPTURE_PARAMETERS, 'capture strategy');
  if (strategy === undefined) return fallback;
  const column = (what: string, example: string): string =>
    o.requiredString('column', { what, example, check: checkSqlName });
  switch (strategy) {
    case 'cdc': {
      const captureInstance = o.optionalString('captureInstance', {
        what: 'the CDC capture instance',
        example: 'dbo_Claims',
        check: (s) =>
          s.length <= 100 && checkSqlName(s) === undefined
            ? undefined
            : {
                message: 'is not a capture instance name',
                fix: 'write the capture_instance as listed by `sys.sp_cdc_help_change_data_capture` (at most 100 characters)',
              },
      });
      return captureInstance === undefined ? { strategy } : { strategy, captureInstance };
    }
    case 'change_tracking':
      return { strategy };
    case 'rowversion':
      return { strategy, column: column('the rowversion column', 'RowVer') };
    case 'identity':
      return { strategy, column: column('the identity column', 'Id') };
    case 'updated_at':
      return {
        strategy,
        column: column('the last-updated datetime column', 'UpdatedAt'),
        lookback: o.duration('lookback', {
          what: 'the lookback (overlap re-read each window)',
          example: '15m',
          fallback: DEFAULTS.updatedAtLookback,
          max: durationOf(24 * 3_600_000),
        }),
        safetyLag: o.duration('safetyLag', {
          what: 'the safety lag behind the source clock',
          example: '2m',
          fallback: DEFAULTS.updatedAtSafetyLag,
          max: durationOf(3_600_000),
        }),
      };
  }
}

/** A column list: one name or a list of names; undefined when absent. */
function readColumns(o: ObjectReader, key: string, what: string): string[] | undefined {
  if (!o.has(key)) return undefined;
  const raw = o.raw(key);
  const items =
    typeof raw === 'string'
      ? [{ node: raw as unknown, path: o.at(key) }]
      : o.list(key, { what, example: 'ClaimId, LineNo' });
  const columns: string[] = [];
  for (const { node, path } of items) {
    const problem =
      typeof node === 'string' && node.trim() !== ''
        ? checkSqlName(node)
        : { message: 'is not a column name', fix: 'write the column name as text' };
    if (problem) {
      o.checker.report(path, `${o.checker.describe(path, node)} ${problem.message}`, problem.fix);
      continue;
    }
    const name = node as string;
    if (columns.some((c) => c.toLowerCase() === name.toLowerCase())) {
      o.checker.report(path, `column ${name} is listed twice`, 'list each column once');
      continue;
    }
    columns.push(name);
  }
  if (Array.isArray(raw) && raw.length === 0)
    o.checker.report(o.at(key), `${what}: the list is empty`, `list at least one column, or remove \`${key}\``);
  return columns;
}

function readPhi(table: ObjectReader, key: readonly string[]): PhiRule[] {
  const rules: PhiRule[] = [];
  const seen = new Map<string, string>();
  for (const { node, path } of table.list('phi', {
    what: 'the PHI column policy',
    example: '{ columns: [MemberSsn], action: hash }',
  })) {
    const o = table.checker.object(path, node, 'a PHI rule');
    o.allow(['columns', 'action']);
    if (!o.has('columns') && o.present)
      o.checker.report(
        o.at('columns'),
        'missing: the PHI columns this rule covers',
        'add `columns: [MemberSsn, PatientName]`',
      );
    const columns = readColumns(o, 'columns', 'the PHI columns') ?? [];
    const action = o.oneOf('action', PHI_ACTIONS, { what: 'PHI action', required: true });
    for (const column of columns) {
      const lowered = column.toLowerCase();
      const earlier = seen.get(lowered);
      if (earlier !== undefined) {
        o.checker.report(
          o.at('columns'),
          `column ${column} already has a PHI rule (${earlier})`,
          'give each column one action',
        );
      } else seen.set(lowered, formatRule(path));
      const keyProblem =
        action !== undefined && key.some((k) => k.toLowerCase() === lowered)
          ? keyColumnPhiProblem(column, action)
          : undefined;
      if (keyProblem) o.checker.report(o.at('action'), keyProblem.message, keyProblem.fix);
    }
    if (action !== undefined) rules.push({ columns, action });
  }
  return rules;
}

function formatRule(path: ConfigPath): string {
  return `phi[${String(path[path.length - 1])}]`;
}

function readNightly(o: ObjectReader): NightlyConfig {
  o.allow(['windowStart', 'duration', 'timezone']);
  return {
    windowStart: o.requiredString('windowStart', {
      what: 'the start of the heavy-read window (HH:MM)',
      example: '"01:00"',
      check: checkTime,
    }),
    duration: o.duration('duration', {
      what: 'the length of the heavy-read window',
      example: '2h',
      fallback: DEFAULTS.nightlyDuration,
      min: durationOf(15 * 60_000),
      max: durationOf(12 * 3_600_000),
    }),
    timezone: o.optionalString('timezone', {
      what: 'the time zone',
      example: 'America/Chicago',
      fallback: DEFAULTS.timezone,
      check: checkTimezone,
    }),
  };
}

function readPrivacy(o: ObjectReader): PrivacyConfig {
  o.allow(['hashKey']);
  const hashKey = o.secret('hashKey', {
    what: 'the HMAC key of the PHI hash action',
    envExample: 'TIDEMARK_PHI_HASH_KEY',
    required: true,
  });
  if (hashKey.kind === 'value' && hashKey.value !== '' && hashKey.value.length < 32) {
    o.checker.report(
      o.at('hashKey'),
      `the hash key (from ${hashKey.fromEnv.join(', ')}) is shorter than 32 characters`,
      'set it to a random string of at least 32 characters, e.g. `openssl rand -hex 32`',
    );
  }
  return { hashKey };
}
