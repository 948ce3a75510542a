/**
 * Connections to Temporal from the typed config: plaintext for the local dev server, TLS or mTLS for a
 * self-hosted cluster, an API key (which implies TLS) for Temporal Cloud.
 */
import { readFile } from 'node:fs/promises';
import { isLoopback, temporalHost, type Secret, type TemporalConfig } from '../config/index.js';
import { causeChain } from '../domain/cause-chain.js';
import { maskSecretsInText } from '../util/logger.js';

/** Turns a configured secret into its value (environment or Key Vault). */
export type SecretResolver = (secret: Secret) => Promise<string>;

export interface TemporalConnectionSettings {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/**
 * What both the client (`Connection.connect`) and the worker (`NativeConnection.connect`) take. Refuses a
 * plaintext connection to an address off loopback ({@link TemporalPlaintextError}): the config already refuses
 * `tls: false` there and turns TLS on when `tls` is absent, so this guards configs built in code (tools, tests)
 * that never went through the config reader.
 */
export async function temporalConnectionSettings(
  config: TemporalConfig,
  resolveSecret: SecretResolver,
): Promise<TemporalConnectionSettings> {
  const host = temporalHost(config.address);
  if (!config.tls && !config.apiKey && !(host !== undefined && isLoopback(host)))
    throw new TemporalPlaintextError(config.address, config.namespace);
  const settings: TemporalConnectionSettings = { address: config.address };
  if (config.tls || config.apiKey) {
    const tls: NonNullable<TemporalConnectionSettings['tls']> = {};
    if (config.tls?.serverName) tls.serverNameOverride = config.tls.serverName;
    if (config.tls?.caFile) tls.serverRootCACertificate = await readFile(config.tls.caFile);
    if (config.tls?.certFile && config.tls.keyFile) {
      tls.clientCertPair = { crt: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) };
    }
    settings.tls = tls;
  }
  if (config.apiKey) settings.apiKey = await resolveSecret(config.apiKey);
  return settings;
}

/**
 * Temporal cannot be used as configured: not reachable, no such namespace, or a namespace without Tidemark's
 * search attributes. The message names what was tried (address, namespace; never a credential) and what to
 * check. Operator verbs print it as it is (no stack trace) and exit 1; the worker prints it and exits 1.
 */
export class TemporalSetupError extends Error {
  override readonly name = 'TemporalSetupError';
  constructor(
    message: string,
    readonly address: string,
    readonly namespace: string,
  ) {
    super(message);
  }
}

/** A plaintext connection to Temporal off loopback was asked for: refused before anything is sent. */
export class TemporalPlaintextError extends TemporalSetupError {
  constructor(address: string, namespace: string) {
    super(
      `refusing to connect to Temporal at ${address} without TLS: off loopback, workflow histories, signals and ` +
        'queries must not cross the network in clear text. Set `temporal.tls` (true, or a map with `caFile` and ' +
        'the mTLS pair) or `temporal.apiKey`; only a loopback address such as 127.0.0.1:7233 may use plaintext.',
      address,
      namespace,
    );
  }
}

const detailOf = (err: unknown): string =>
  maskSecretsInText((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').trim();

/** Where a connection went, for messages: address, namespace and how (TLS, API key); never the secrets. */
export interface TemporalTarget {
  readonly address: string;
  readonly namespace: string;
  readonly tls?: boolean;
}

/** Where `settings` connect to in `namespace`, for messages (the client and the worker name it the same way). */
export function temporalTarget(settings: TemporalConnectionSettings, namespace: string): TemporalTarget {
  return { address: settings.address, namespace, tls: settings.tls !== undefined };
}

/** `Connection.connect` / `NativeConnection.connect` failed: nothing answered at the address (or TLS failed). */
export function temporalUnreachableError(err: unknown, target: TemporalTarget): TemporalSetupError {
  return new TemporalSetupError(
    `cannot reach Temporal at ${target.address} (namespace "${target.namespace}"${target.tls ? ', over TLS' : ''}): ` +
      `${detailOf(err)}. Check that the Temporal server runs and is reachable from here (local stack: ` +
      '`npm run stack:up`, then `npm run stack:status`) and that `temporal.address` in the config points at it' +
      `${target.tls ? ' (and `temporal.tls` / `temporal.apiKey` match the server)' : ''}.`,
    target.address,
    target.namespace,
  );
}

/** The namespace does not exist on the server that answered. */
export function temporalNamespaceMissingError(target: TemporalTarget): TemporalSetupError {
  return new TemporalSetupError(
    `namespace "${target.namespace}" does not exist on the Temporal server at ${target.address}. Fix ` +
      '`temporal.namespace` in the config, or create it: ' +
      `temporal operator namespace create --address ${target.address} --namespace ${target.namespace}` +
      " (then register Tidemark's search attributes; see docs/operations.md).",
    target.address,
    target.namespace,
  );
}

/** Tidemark's search attributes and their types, as `temporal operator search-attribute create` spells them. */
export const TIDEMARK_SEARCH_ATTRIBUTE_TYPES = {
  TidemarkTable: 'Keyword',
  TidemarkStrategy: 'Keyword',
  TidemarkState: 'Keyword',
} as const;

/** The command that registers `names` (default: all of Tidemark's) in the target's namespace. */
export function searchAttributeCreateCommand(
  target: TemporalTarget,
  names: readonly string[] = Object.keys(TIDEMARK_SEARCH_ATTRIBUTE_TYPES),
): string {
  const types: Record<string, string> = TIDEMARK_SEARCH_ATTRIBUTE_TYPES;
  // One --type per --name: the CLI (1.9) pairs them by position and registers only the first name otherwise.
  const pairs = names.map((n) => `--name ${n} --type ${types[n] ?? 'Keyword'}`).join(' ');
  return `temporal operator search-attribute create --address ${target.address} --namespace ${target.namespace} ${pairs}`;
}

/**
 * True for the server's refusal of a workflow whose search attributes the namespace does not define. Read from the
 * message because only the message says it: the server answers INVALID_ARGUMENT, as for any other bad request, and
 * the SDK has no error class for it.
 */
export function isMissingSearchAttribute(err: unknown): boolean {
  return causeChain(err, 5).some(
    (e) =>
      e instanceof Error &&
      /no mapping defined for search attribute|search attribute \S+ is not defined/i.test(e.message),
  );
}

/**
 * The namespace lacks search attributes the table workflows set: `missing` names them when the server could
 * say (the operator service), else all of Tidemark's are listed.
 */
export function searchAttributesMissingError(target: TemporalTarget, missing: readonly string[]): TemporalSetupError {
  const names = missing.length > 0 ? missing : Object.keys(TIDEMARK_SEARCH_ATTRIBUTE_TYPES);
  return new TemporalSetupError(
    `namespace "${target.namespace}" on ${target.address} does not define Tidemark's search attribute` +
      `${names.length > 1 ? 's' : ''} ${names.join(', ')} (the table workflows set them, so operators and the ` +
      'Web UI can find tables by name and state); nothing was started. Register them once, then run the command ' +
      `again:\n  ${searchAttributeCreateCommand(target, names)}\n` +
      '(Temporal Cloud: add them to the namespace in the Cloud UI or with `tcld namespace search-attributes add`.)',
    target.address,
    target.namespace,
  );
}
