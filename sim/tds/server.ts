/**
 * The simulator's TDS endpoint: a TCP listener whose connections speak TDS 7.4 to an {@link Engine}.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Engine } from '../engine/api.js';
import { type TdsConnectionInfo, type TdsFaultHooks, type TdsRequestInfo, TdsConnection } from './connection.js';
import { type TlsMaterial, createTdsSecureContext, generateSelfSignedCertificate } from './tls.js';

export type {
  ResponseProbe,
  TdsConnectionInfo,
  TdsFaultHooks,
  TdsRequestContext,
  TdsRequestInfo,
} from './connection.js';
export type { TlsMaterial } from './tls.js';

/** Options of {@link startTdsServer}. */
export interface TdsServerOptions {
  engine: Engine;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * TLS: a PEM certificate and key, or 'generate' for a fresh self-signed certificate (CN=localhost, SANs
   * localhost, 127.0.0.1, ::1). Without it the server answers PRELOGIN with ENCRYPT_NOT_SUP (no TLS); with it,
   * ENCRYPT_ON to every client (like SQL Server with Force Encryption).
   */
  tls?: TlsMaterial | 'generate';
  /** Server name in ERROR/INFO tokens; default 'tidemark-sim'. */
  serverName?: string;
  /** Called for every request after login (diagnostics and protocol tests). */
  onRequest?: (info: TdsRequestInfo) => void;
  /** Called with protocol errors and engine failures; default: ignored (the client gets an ERROR token). */
  onError?: (err: Error) => void;
  /** Fault injection (sim/faults): probes that may reset or pause responses. */
  faults?: TdsFaultHooks;
}

/** A running TDS server. */
export interface TdsServer {
  host: string;
  port: number;
  /** The certificate in use (PEM), when TLS is on: tests pass it to the client as its CA. */
  certificate?: string;
  /** The logged-in connections (fault injection resets them). */
  connections(): TdsConnectionInfo[];
  /** Closes every connection and the listener. */
  stop(): Promise<void>;
}

/** Starts a TDS server. */
export async function startTdsServer(options: TdsServerOptions): Promise<TdsServer> {
  const host = options.host ?? '127.0.0.1';
  let material: TlsMaterial | undefined;
  if (options.tls === 'generate') material = await generateSelfSignedCertificate();
  else if (options.tls) material = options.tls;
  const secureContext: tls.SecureContext | undefined = material ? createTdsSecureContext(material) : undefined;
  const connections = new Set<TdsConnection>();
  const server = net.createServer((socket) => {
    const connection = new TdsConnection(socket, {
      engine: options.engine,
      serverName: options.serverName ?? 'tidemark-sim',
      ...(secureContext ? { secureContext } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const result: TdsServer = {
    host,
    port: address.port,
    connections: () => [...connections].flatMap((c) => (c.info ? [c.info] : [])),
    stop: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.close();
      await closing;
    },
  };
  if (material) result.certificate = material.cert;
  return result;
}
