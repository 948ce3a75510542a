/**
 * Errors of the lake. Each carries typed, readonly context (paths, sequence numbers, status codes) and never a
 * row value or a credential, so it may travel through logs and Temporal failures. `retryable` tells the
 * activity boundary whether Temporal should retry (transient) or stop and alert (permanent).
 */

/** The operation a blob store error happened in. */
export type BlobOperation = 'put' | 'replace' | 'get' | 'exists' | 'list' | 'upload' | 'download' | 'container';

/** Base of every blob store failure. */
export class BlobStoreError extends Error {
  override readonly name: string = 'BlobStoreError';
  constructor(
    message: string,
    readonly operation: BlobOperation,
    readonly path: string,
    readonly retryable: boolean,
    readonly statusCode?: number,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** A create with `If-None-Match: *` found the blob already there (HTTP 409 BlobAlreadyExists). */
export class BlobAlreadyExistsError extends BlobStoreError {
  override readonly name = 'BlobAlreadyExistsError';
  constructor(operation: BlobOperation, path: string, statusCode?: number) {
    super(`Blob ${path} already exists (not overwritten)`, operation, path, false, statusCode, 'BlobAlreadyExists');
  }
}

/** A conditional replace found a different ETag (HTTP 412 ConditionNotMet): someone else wrote first. */
export class ConditionNotMetError extends BlobStoreError {
  override readonly name = 'ConditionNotMetError';
  constructor(operation: BlobOperation, path: string, statusCode?: number) {
    super(
      `Blob ${path} changed since it was read (ETag mismatch)`,
      operation,
      path,
      false,
      statusCode,
      'ConditionNotMet',
    );
  }
}

/** The container does not exist: a configuration problem, never retried. */
export class ContainerNotFoundError extends BlobStoreError {
  override readonly name = 'ContainerNotFoundError';
  constructor(
    operation: BlobOperation,
    path: string,
    readonly container: string,
  ) {
    super(
      `Container "${container}" does not exist in the storage account: create it (the pipeline never creates production containers) or fix the configured container name`,
      operation,
      path,
      false,
      404,
      'ContainerNotFound',
    );
  }
}

/** Authentication or authorization failed: a configuration problem, never retried. */
export class BlobAccessDeniedError extends BlobStoreError {
  override readonly name = 'BlobAccessDeniedError';
  /** `subject` names the request and container, e.g. `the upload of P in container "C"` (blob-store.ts). */
  constructor(
    operation: BlobOperation,
    path: string,
    statusCode: number,
    errorCode: string | undefined,
    subject?: string,
  ) {
    const what = `${statusCode} ${errorCode ?? 'access denied'}`;
    super(
      operation === 'container'
        ? // The worker's start-up check creates the container when missing, so it needs write access even when
          // the container exists: say so, or a read-only credential looks like a missing role for nothing.
          `Storage refused ${subject ?? 'the container check'} (${what}): the worker checks at start that the ` +
            'container exists and creates it when it is missing, which needs read, write and create access — give ' +
            'the identity Storage Blob Data Contributor on the container (or a SAS with read, write, list and ' +
            'create), and check the credential (DefaultAzureCredential environment or connection string), ' +
            '`sink.container` and network rules'
        : `Storage refused ${subject ?? `${operation} on ${path}`} (${what}): check the identity's role ` +
            `(Storage Blob Data Contributor on the container), the credential (DefaultAzureCredential environment or ` +
            `connection string) and network rules`,
      operation,
      path,
      false,
      statusCode,
      errorCode,
    );
  }
}

/** A stored checksum does not match the bytes read: corruption or a concurrent writer. Never retried blindly. */
export class ChecksumMismatchError extends BlobStoreError {
  override readonly name = 'ChecksumMismatchError';
  constructor(
    operation: BlobOperation,
    path: string,
    readonly expectedMd5: string,
    readonly actualMd5: string,
  ) {
    super(`MD5 of ${path} is ${actualMd5}, expected ${expectedMd5}`, operation, path, false);
  }
}

/** The lake's own metadata is not what the protocol allows (e.g. a different window at a committed sequence). */
export class LakeIntegrityError extends Error {
  override readonly name: string = 'LakeIntegrityError';
  constructor(
    message: string,
    readonly table: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * A different window is already committed at the sequence (two planners disagree about window boundaries). The
 * table must stop; the activity boundary reports it as the `WindowConflictError` failure type.
 */
export class WindowConflictError extends LakeIntegrityError {
  override readonly name = 'WindowConflictError';
}

/** Validation of a staged window failed; nothing of the window was committed. */
export class WindowValidationError extends Error {
  override readonly name = 'WindowValidationError';
  constructor(
    readonly table: string,
    readonly sequence: number,
    readonly problems: readonly string[],
  ) {
    super(`Window ${sequence} of ${table} failed validation: ${problems.join('; ')}`);
  }
}

/** A schema change that cannot flow automatically (narrowing, type change, key change, dropped column). */
export class IncompatibleSchemaChangeError extends Error {
  override readonly name = 'IncompatibleSchemaChangeError';
  constructor(
    readonly table: string,
    readonly fromVersion: number,
    readonly problems: readonly string[],
  ) {
    super(
      `Schema change of ${table} from version ${fromVersion} cannot flow automatically: ${problems.join('; ')}. ` +
        'The table is stopped; nothing of this window was written. An operator must decide (re-seed into a new ' +
        'table version, or revert the source change).',
    );
  }
}
