/**
 * The one interface the lake writes and reads through, and its Azure implementation on `@azure/storage-blob`.
 *
 * Contract (WORM-compatible): the pipeline creates objects with `If-None-Match: *` at their final path and
 * never overwrites, renames or deletes a committed object. The only replaced objects are the watermark pointer
 * (`replaceIfMatch`, compare-and-swap on the ETag), which lives outside the data files and may be configured in
 * a separate, non-WORM container, and the Delta readers' hint `_delta_log/_last_checkpoint`, replaced best effort
 * (lake/delta/last-checkpoint.ts: a WORM container's refusal leaves it as it is). Immutability policies are not
 * relied on (Azurite silently ignores them).
 *
 * Every object written carries its MD5 (`Content-MD5` property, base64); every read verifies it when present.
 * A file upload sends each block with its own MD5 (`transactionalContentMD5`), which the service checks on
 * receipt, and commits the block list with the whole file's MD5 as the blob's `Content-MD5`: so the stored bytes
 * are the ones hashed, and {@link BlobStore.properties} (size and MD5, one HEAD) proves a staged file without
 * downloading it again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  type newPipeline,
} from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import {
  BlobAccessDeniedError,
  BlobAlreadyExistsError,
  BlobStoreError,
  ChecksumMismatchError,
  ConditionNotMetError,
  ContainerNotFoundError,
  type BlobOperation,
} from './errors.js';

/** Result of a write: the new ETag and the MD5 (base64) of the bytes written. */
export interface BlobWriteResult {
  readonly etag: string;
  readonly md5: string;
  readonly bytes: number;
}

/** A small object read whole. */
export interface BlobContent {
  readonly body: Buffer;
  readonly etag: string;
}

/** One entry of a listing. */
export interface BlobListItem {
  readonly path: string;
  readonly bytes: number;
  readonly etag: string;
  /** base64 MD5 if the object has one. */
  readonly md5?: string;
}

/** What the store says about one object, without reading it. */
export interface BlobProperties {
  readonly bytes: number;
  /** base64 MD5 (`Content-MD5`) if the object has one. */
  readonly md5?: string;
}

/** Options of writes. */
export interface BlobPutOptions {
  readonly contentType?: string;
}

/**
 * Blob storage as the lake uses it. Paths are relative to the store's container; no method ever deletes.
 * Errors are {@link BlobStoreError}s: {@link BlobAlreadyExistsError}, {@link ConditionNotMetError},
 * {@link ContainerNotFoundError}, {@link BlobAccessDeniedError}, {@link ChecksumMismatchError}, or a base
 * `BlobStoreError` with `retryable` set for transient failures.
 */
export interface BlobStore {
  /** Where this store points, for messages (no credentials), e.g. `azure:https://acct…/container`. */
  readonly location: string;
  /** Creates `path` only if absent (`If-None-Match: *`); throws {@link BlobAlreadyExistsError} otherwise. */
  putIfAbsent(path: string, body: Uint8Array | string, options?: BlobPutOptions): Promise<BlobWriteResult>;
  /** Replaces `path` only if its ETag is still `etag`; throws {@link ConditionNotMetError} otherwise. */
  replaceIfMatch(
    path: string,
    body: Uint8Array | string,
    etag: string,
    options?: BlobPutOptions,
  ): Promise<BlobWriteResult>;
  /** Reads a small object whole (MD5-verified), or `undefined` if it does not exist. */
  get(path: string): Promise<BlobContent | undefined>;
  exists(path: string): Promise<boolean>;
  /** Size and stored MD5 of `path` (one HEAD request), or `undefined` if it does not exist. */
  properties(path: string): Promise<BlobProperties | undefined>;
  /** Lists objects whose path starts with `prefix`, in lexicographic order. */
  list(prefix: string): AsyncIterable<BlobListItem>;
  /**
   * Streams a local file to `path` if absent (`If-None-Match: *`), storing its MD5; the store verifies every block
   * it receives against the block's MD5, so what is stored is what was hashed.
   */
  uploadFileIfAbsent(path: string, localFile: string, options?: BlobPutOptions): Promise<BlobWriteResult>;
  /** Streams `path` to a local file, verifying the stored MD5. */
  downloadToFile(path: string, localFile: string): Promise<BlobWriteResult>;
}

/** How to reach an Azure container. */
export type AzureBlobStoreConfig = {
  readonly container: string;
  /** Encryption scope (customer-managed keys) applied to every write. Azurite ignores it. */
  readonly encryptionScope?: string;
  /** SDK retry attempts for transient failures (default 4, the SDK's). */
  readonly maxTries?: number;
} & (
  | { readonly connectionString: string }
  /** Entra ID: `credential` defaults to `DefaultAzureCredential` (managed identity, workload identity, env, CLI). */
  | { readonly accountUrl: string; readonly credential?: BlobCredential }
);

/** A credential the SDK accepts (any `@azure/identity` credential). */
export type BlobCredential = NonNullable<Parameters<typeof newPipeline>[0]>;

/** MD5 (base64) of a local file, streamed. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('base64');
}

export function md5OfBytes(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'REQUEST_SEND_ERROR',
]);

/** How messages name an operation. */
const OPERATION_TEXT: Record<BlobOperation, string> = {
  put: 'the write',
  replace: 'the replace',
  get: 'the read',
  exists: 'the existence check',
  list: 'the listing',
  upload: 'the upload',
  download: 'the download',
  container: 'the check',
};

interface SdkErrorShape {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
  name?: string;
}

/**
 * Classifies an SDK error into the lake's taxonomy. The SDK's own message is dropped: it can contain request
 * URLs; only status and error code are kept. `endpoint` is the account's blob endpoint without any query (a SAS
 * lives there), named in messages about failures to reach it.
 */
export function classifyBlobError(
  err: unknown,
  operation: BlobOperation,
  path: string,
  container: string,
  ifNoneMatch = false,
  endpoint?: string,
): BlobStoreError {
  if (err instanceof BlobStoreError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.statusCode;
  const code = e.details?.errorCode ?? e.code;
  if (status === 409 && (code === 'BlobAlreadyExists' || ifNoneMatch))
    return new BlobAlreadyExistsError(operation, path, 409);
  if (status === 412)
    return ifNoneMatch
      ? new BlobAlreadyExistsError(operation, path, 412)
      : new ConditionNotMetError(operation, path, 412);
  const subject = `${OPERATION_TEXT[operation]} of ${path ? `${path} in ` : ''}container "${container}"`;
  if (status === 404 && code === 'ContainerNotFound') return new ContainerNotFoundError(operation, path, container);
  if (status === 401 || status === 403) return new BlobAccessDeniedError(operation, path, status, code, subject);
  if (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError')
    return new BlobAccessDeniedError(operation, path, 401, e.name, subject);
  const transient =
    status === undefined
      ? code !== undefined && NETWORK_CODES.has(code)
      : status === 408 || status === 429 || status >= 500;
  const what = status === undefined ? (code ?? 'network error') : `${status} ${code ?? ''}`.trim();
  const at = endpoint ? ` at ${endpoint}` : '';
  return new BlobStoreError(
    status === undefined && transient
      ? `Cannot reach blob storage${at} (${what}) during ${subject}: check that the storage service runs and is ` +
          'reachable (local stack: `npm run stack:up`, then `npm run stack:status`) and that the sink config points ' +
          'at it (`sink.accountUrl`, or BlobEndpoint in the connection string)'
      : transient
        ? `Transient storage failure${at} (${what}) during ${subject}; retried`
        : `Storage failure${at} (${what}) during ${subject}`,
    operation,
    path,
    transient,
    status,
    code,
  );
}

/** Counts bytes and hashes them while streaming. */
function hashingCounter(): { transform: Transform; result: () => { md5: string; bytes: number } } {
  const hash = createHash('md5');
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { transform, result: () => ({ md5: hash.digest('base64'), bytes }) };
}

/** Block size of file uploads (4 MiB: the SDK's default block, and a typical part file holds a few). */
const UPLOAD_BLOCK_BYTES = 4 << 20;
/** Blocks of one file staged at once. */
const UPLOAD_CONCURRENCY = 4;

const b64 = (u: Uint8Array | undefined): string | undefined => (u ? Buffer.from(u).toString('base64') : undefined);

/** {@link BlobStore} on Azure Blob Storage / ADLS Gen2 (blob endpoint) or Azurite. */
export class AzureBlobStore implements BlobStore {
  readonly location: string;
  /** The account's blob endpoint, without query (never a SAS), for messages. */
  readonly endpoint: string;
  private readonly container: ContainerClient;
  private readonly encryptionScope: string | undefined;

  constructor(config: AzureBlobStoreConfig) {
    const pipelineOptions: StoragePipelineOptions = { retryOptions: { maxTries: config.maxTries ?? 4 } };
    const service =
      'connectionString' in config
        ? BlobServiceClient.fromConnectionString(config.connectionString, pipelineOptions)
        : new BlobServiceClient(config.accountUrl, config.credential ?? new DefaultAzureCredential(), pipelineOptions);
    this.container = service.getContainerClient(config.container);
    this.endpoint = service.url.split('?')[0]?.replace(/\/$/, '') ?? '';
    this.encryptionScope = config.encryptionScope;
    this.location = `azure:${this.container.url.split('?')[0] ?? ''}`;
  }

  private fail(err: unknown, op: BlobOperation, path: string, ifNoneMatch = false): BlobStoreError {
    return classifyBlobError(err, op, path, this.container.containerName, ifNoneMatch, this.endpoint);
  }

  /** Creates the container if missing (tests and local stacks; production containers are provisioned). */
  async ensureContainer(): Promise<void> {
    try {
      await this.container.createIfNotExists();
    } catch (err) {
      throw this.fail(err, 'container', '');
    }
  }

  private async write(
    path: string,
    body: Uint8Array | string,
    conditions: { ifNoneMatch?: string; ifMatch?: string },
    op: BlobOperation,
    options: BlobPutOptions | undefined,
  ): Promise<BlobWriteResult> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const md5 = createHash('md5').update(bytes).digest();
    try {
      const res = await this.container.getBlockBlobClient(path).upload(bytes, bytes.length, {
        conditions,
        blobHTTPHeaders: { blobContentMD5: md5, blobContentType: options?.contentType ?? 'application/octet-stream' },
        encryptionScope: this.encryptionScope,
      });
      return { etag: res.etag ?? '', md5: md5.toString('base64'), bytes: bytes.length };
    } catch (err) {
      throw this.fail(err, op, path, conditions.ifNoneMatch === '*');
    }
  }

  putIfAbsent(path: string, body: Uint8Array | string, options?: BlobPutOptions): Promise<BlobWriteResult> {
    return this.write(path, body, { ifNoneMatch: '*' }, 'put', options);
  }

  replaceIfMatch(
    path: string,
    body: Uint8Array | string,
    etag: string,
    options?: BlobPutOptions,
  ): Promise<BlobWriteResult> {
    return this.write(path, body, { ifMatch: etag }, 'replace', options);
  }

  async get(path: string): Promise<BlobContent | undefined> {
    try {
      const blob = this.container.getBlobClient(path);
      const res = await blob.download();
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody as Readable) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const expected = b64(res.contentMD5) ?? b64(res.blobContentMD5);
      if (expected !== undefined) {
        const actual = md5OfBytes(body);
        if (actual !== expected) throw new ChecksumMismatchError('get', path, expected, actual);
      }
      return { body, etag: res.etag ?? '' };
    } catch (err) {
      const e = err as SdkErrorShape;
      if (e.statusCode === 404 && (e.details?.errorCode ?? e.code) !== 'ContainerNotFound') return undefined;
      throw this.fail(err, 'get', path);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.container.getBlobClient(path).getProperties();
      return true;
    } catch (err) {
      const e = err as SdkErrorShape;
      // HEAD responses have no body, so a missing container and a missing blob both arrive as a bare 404.
      if (e.statusCode === 404) {
        if (!(await this.containerExists()))
          throw new ContainerNotFoundError('exists', path, this.container.containerName);
        return false;
      }
      throw this.fail(err, 'exists', path);
    }
  }

  async properties(path: string): Promise<BlobProperties | undefined> {
    try {
      const p = await this.container.getBlobClient(path).getProperties();
      const md5 = b64(p.contentMD5);
      return { bytes: p.contentLength ?? 0, ...(md5 !== undefined ? { md5 } : {}) };
    } catch (err) {
      const e = err as SdkErrorShape;
      if (e.statusCode === 404) {
        if (!(await this.containerExists()))
          throw new ContainerNotFoundError('exists', path, this.container.containerName);
        return undefined;
      }
      throw this.fail(err, 'exists', path);
    }
  }

  private async containerExists(): Promise<boolean> {
    try {
      return await this.container.exists();
    } catch (err) {
      throw this.fail(err, 'container', '');
    }
  }

  async *list(prefix: string): AsyncIterable<BlobListItem> {
    try {
      for await (const item of this.container.listBlobsFlat({ prefix })) {
        yield {
          path: item.name,
          bytes: item.properties.contentLength ?? 0,
          etag: item.properties.etag,
          md5: b64(item.properties.contentMD5),
        };
      }
    } catch (err) {
      throw this.fail(err, 'list', prefix);
    }
  }

  async uploadFileIfAbsent(path: string, localFile: string, options?: BlobPutOptions): Promise<BlobWriteResult> {
    const blob = this.container.getBlockBlobClient(path);
    const whole = createHash('md5');
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    let bytes = 0;
    const file = await open(localFile, 'r');
    try {
      // The file is read once: each block feeds the whole-file MD5 and is staged with its own MD5 (checked by
      // the service), UPLOAD_CONCURRENCY blocks at a time (memory: that many blocks).
      for (let index = 0; ; index++) {
        const block = Buffer.allocUnsafe(UPLOAD_BLOCK_BYTES);
        const { bytesRead } = await file.read(block, 0, UPLOAD_BLOCK_BYTES, null);
        if (bytesRead === 0) break; // end of file (an empty file commits an empty block list)
        const body = block.subarray(0, bytesRead);
        whole.update(body);
        bytes += bytesRead;
        const id = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
        ids.push(id);
        const staged = blob
          .stageBlock(id, body, bytesRead, {
            transactionalContentMD5: createHash('md5').update(body).digest(),
            encryptionScope: this.encryptionScope,
          })
          .then(
            () => undefined,
            (err: unknown) => void (failure ??= err instanceof Error ? err : new Error(String(err))),
          );
        inFlight.add(staged);
        void staged.finally(() => inFlight.delete(staged));
        if (inFlight.size >= UPLOAD_CONCURRENCY) await Promise.race(inFlight);
        if (failure !== undefined) break;
        if (bytesRead < UPLOAD_BLOCK_BYTES) break;
      }
      await Promise.all(inFlight);
    } finally {
      await file.close();
    }
    const md5 = whole.digest('base64');
    try {
      if (failure !== undefined) throw failure;
      const res = await blob.commitBlockList(ids, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: {
          blobContentMD5: Buffer.from(md5, 'base64'),
          blobContentType: options?.contentType ?? 'application/octet-stream',
        },
        encryptionScope: this.encryptionScope,
      });
      return { etag: res.etag ?? '', md5, bytes };
    } catch (err) {
      throw this.fail(err, 'upload', path, true);
    }
  }

  async downloadToFile(path: string, localFile: string): Promise<BlobWriteResult> {
    try {
      const res = await this.container.getBlobClient(path).download();
      const counter = hashingCounter();
      await pipeline(res.readableStreamBody as Readable, counter.transform, createWriteStream(localFile));
      const { md5, bytes } = counter.result();
      const expected = b64(res.contentMD5) ?? b64(res.blobContentMD5);
      if (expected !== undefined && expected !== md5) throw new ChecksumMismatchError('download', path, expected, md5);
      return { etag: res.etag ?? '', md5, bytes };
    } catch (err) {
      throw this.fail(err, 'download', path);
    }
  }
}
