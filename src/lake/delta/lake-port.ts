/**
 * Everything the Delta publication uses from the rest of the lake, in one place: the committed manifests (the
 * truth it publishes from), the schema versions, the table's paths and the blob store. When the lake's modules
 * move (commit steps split, shared types in a domain layer), only this file is re-pointed.
 */
export { readManifest, type Manifest } from '../manifest.js';
export type { LakeTable } from '../lake-table.js';
export type { StagedFile } from '../../domain/staged.js';
export { readSchema, type SchemaDoc } from '../schema-registry.js';
export { EVENT_LAKE_COLUMNS, formatLakeType, storedColumns } from '../lake-types.js';
export { type LakeColumn, type LakeType } from '../../domain/values.js';
export type { TableLayout } from '../layout.js';
export type { BlobStore } from '../blob-store.js';
export { BlobAlreadyExistsError, BlobStoreError, ConditionNotMetError, LakeIntegrityError } from '../errors.js';
export { queryRows, withDuckDb } from '../duckdb.js';
export { withTempDir } from '../temp-dir.js';
export { quoteLiteral } from '../parquet-writer.js';
