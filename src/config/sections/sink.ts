/** The `sink` section: the Blob Storage / ADLS Gen2 container the raw layer is written to, and how to sign in. */
import { type ObjectReader, type StringCheck } from '../reader.js';
import {
  DEFAULT_PARQUET_COMPRESSION,
  PARQUET_CODECS,
  ZSTD_LEVELS,
  type ParquetCompression,
  type Secret,
  type SinkConfig,
} from '../types.js';
import { checkConnectionString } from './connection-string.js';
import { isLoopback } from './shared-fields.js';

const SINK_AUTH = ['defaultAzureCredential', 'connectionString'] as const;

/** What every sink has, whichever way it signs in. */
type SinkCommon = Pick<SinkConfig, 'container' | 'prefix' | 'stateContainer' | 'encryptionScope' | 'parquet'>;

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

const checkAccountUrl: StringCheck = (text) => {
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
};

export function readSink(o: ObjectReader): SinkConfig {
  o.allow([
    'auth',
    'accountUrl',
    'resourceId',
    'connectionString',
    'container',
    'stateContainer',
    'prefix',
    'encryptionScope',
    'parquet',
  ]);
  const common = readSinkCommon(o);

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
  if (auth === 'connectionString') return { auth, connectionString: readConnectionString(o, hasConn), ...common };
  const resourceId = o.optionalString('resourceId', {
    what: "the storage account's resource id",
    example: '/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>',
    check: (s) =>
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}$/i.test(
        s,
      )
        ? undefined
        : {
            message: 'is not a storage account resource id',
            fix: 'copy it from the portal (the account, JSON view) or `az storage account show --query id`',
          },
  });
  return {
    auth,
    accountUrl: readAccountUrl(o, hasUrl),
    ...(resourceId === undefined ? {} : { resourceId }),
    ...common,
  };
}

function readSinkCommon(o: ObjectReader): SinkCommon {
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
  const parquet = o.has('parquet') ? readParquet(o) : undefined;
  return {
    container,
    prefix,
    ...(stateContainer === undefined ? {} : { stateContainer }),
    ...(encryptionScope === undefined ? {} : { encryptionScope }),
    ...(parquet === undefined ? {} : { parquet }),
  };
}

/** Codecs DuckDB writes that the lake does not offer, and why (docs/config.md, `sink.parquet`). */
const CODECS_REFUSED: Readonly<Record<string, string>> = {
  uncompressed: 'uncompressed data files take 5–6 times the bytes of zstd for 7 years of history',
  gzip: 'gzip costs more CPU than zstd for larger files',
  brotli: 'brotli costs more CPU than zstd, and not every Delta reader reads it',
  lz4: 'LZ4 costs the CPU snappy costs, and older Parquet readers do not read LZ4_RAW (the Hadoop-framed LZ4 is deprecated)',
  lz4_raw: 'LZ4 costs the CPU snappy costs, and older Parquet readers do not read LZ4_RAW',
};

/** `sink.parquet`: the data files' codec and, for zstd, its level. */
function readParquet(o: ObjectReader): ParquetCompression {
  const p = o.checker.object(o.at('parquet'), o.raw('parquet'), "the data files' Parquet settings");
  p.allow(['compression', 'zstdLevel']);
  const written = p.raw('compression');
  const refused = typeof written === 'string' ? CODECS_REFUSED[written.toLowerCase()] : undefined;
  let codec: ParquetCompression['codec'] | undefined;
  if (refused !== undefined)
    o.checker.report(
      p.at('compression'),
      `${written as string} is not offered for data files: ${refused}`,
      `write one of: ${PARQUET_CODECS.join(', ')} (zstd is the default)`,
    );
  else
    codec = p.oneOf('compression', PARQUET_CODECS, {
      what: 'Parquet compression codec',
      fallback: DEFAULT_PARQUET_COMPRESSION.codec,
    });
  codec ??= DEFAULT_PARQUET_COMPRESSION.codec;
  if (codec !== 'zstd') {
    if (p.has('zstdLevel'))
      o.checker.report(
        p.at('zstdLevel'),
        `zstdLevel is set but compression is ${codec}: the level is zstd's alone`,
        'remove `zstdLevel`, or write `compression: zstd`',
      );
    return { codec };
  }
  const level = p.integer('zstdLevel', {
    what: 'the zstd level',
    example: String(DEFAULT_PARQUET_COMPRESSION.level),
    min: ZSTD_LEVELS.min,
    max: ZSTD_LEVELS.max,
    fallback: DEFAULT_PARQUET_COMPRESSION.level ?? 3,
  });
  return { codec, level };
}

function readConnectionString(o: ObjectReader, hasConn: boolean): Secret {
  if (o.present && !hasConn)
    o.checker.report(
      o.at('connectionString'),
      'missing: the storage connection string (auth is connectionString)',
      'add `connectionString: ${TIDEMARK_SINK_CONNECTION_STRING}`',
    );
  const connectionString: Secret = o.secret('connectionString', {
    what: 'the storage connection string',
    envExample: 'TIDEMARK_SINK_CONNECTION_STRING',
  }) ?? { kind: 'value', value: '', fromEnv: [] };
  if (connectionString.kind === 'value' && connectionString.value !== '')
    checkConnectionString(o, connectionString.value);
  return connectionString;
}

function readAccountUrl(o: ObjectReader, hasUrl: boolean): string {
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
    check: checkAccountUrl,
  });
  return (accountUrl ?? '').replace(/\/+$/, '');
}
