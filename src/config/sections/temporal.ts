/** The `temporal` section: the Temporal cluster, its namespace and task queue, and how to authenticate (mTLS or API key). */
import { DEFAULTS } from '../defaults.js';
import { type ObjectReader, type StringCheck } from '../reader.js';
import { type Secret, type TemporalConfig, type TemporalTlsConfig } from '../types.js';
import { filePath, isLoopback, type PathOptions } from './shared-fields.js';

const checkAddress: StringCheck = (address) =>
  /^[^\s:/]+:\d{1,5}$/.test(address) || /^\[[0-9a-f:]+\]:\d{1,5}$/i.test(address)
    ? undefined
    : { message: 'is not a `host:port` address', fix: 'write e.g. `address: 127.0.0.1:7233` (no scheme)' };

export function readTemporal(o: ObjectReader, paths: PathOptions): TemporalConfig {
  o.allow(['address', 'namespace', 'taskQueue', 'tls', 'apiKey', 'payloadKeys']);
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
  const payloadKeys = o.secret('payloadKeys', {
    what: 'the Temporal payload encryption keys',
    envExample: 'TIDEMARK_PAYLOAD_KEYS',
  });

  let tls: TemporalTlsConfig | undefined;
  const rawTls = o.raw('tls');
  if (rawTls === true) tls = {};
  else if (rawTls === false || rawTls === undefined) tls = undefined;
  else tls = readTls(o.checker.object(o.at('tls'), rawTls, 'the TLS settings (or true / false)'), apiKey, paths);
  if (apiKey !== undefined) {
    if (rawTls === false)
      o.checker.report(o.at('tls'), 'an API key must not be sent without TLS', 'remove `tls: false`');
    tls ??= {};
  }
  // HIPAA transmission security: off this machine, Temporal is reached over TLS unless told otherwise, and
  // `tls: false` is refused (workflow histories name tables, positions and lake paths). Loopback (the dev server
  // on this machine) is the one explicit exception, as for the source's `encrypt` and the sink's http endpoint.
  const host = temporalHost(address);
  if (host !== undefined && !isLoopback(host)) {
    if (rawTls === false && apiKey === undefined)
      o.checker.report(
        o.at('tls'),
        `tls is off for ${address}: workflow histories, signals and queries would cross the network in clear text`,
        'remove `tls: false` (TLS is the default off loopback; only a loopback address such as 127.0.0.1:7233 may ' +
          'run without it), and set `tls.caFile` if the server certificate is signed by a private CA',
      );
    tls ??= {};
  }
  return {
    address,
    namespace,
    taskQueue,
    ...(tls === undefined ? {} : { tls }),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(payloadKeys === undefined ? {} : { payloadKeys }),
  };
}

/** The host of a `host:port` (or `[v6]:port`) address; undefined when the address is not one (reported already). */
export function temporalHost(address: string | undefined): string | undefined {
  const m = /^(\[[0-9a-f:]+\]|[^\s:/]+):\d{1,5}$/i.exec(address ?? '');
  return m?.[1];
}

/** `temporal.tls` written as an object: the mTLS pair, a CA and the server name to verify. */
function readTls(t: ObjectReader, apiKey: Secret | undefined, paths: PathOptions): TemporalTlsConfig {
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
  return {
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
    ...(caFile === undefined ? {} : { caFile }),
    ...(serverName === undefined ? {} : { serverName }),
  };
}
