/** Helpers for lake tests: a fresh Azurite container per test, and a temp directory. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureBlobStore, type BlobStore } from '../../src/lake/blob-store.js';
import { azuriteForTests } from './stack.js';

/** A store on a new, uniquely named container (created). */
export async function freshStore(label = 'lake'): Promise<{ store: AzureBlobStore; container: string }> {
  const connectionString = await azuriteForTests();
  const container = `${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase();
  const store = new AzureBlobStore({ connectionString, container, maxTries: 1 });
  await store.ensureContainer();
  return { store, container };
}

export function tempDir(label = 'tidemark-lake-'): string {
  return mkdtempSync(join(tmpdir(), label));
}

/** Counts the files `store` downloads from now on, and their bytes (wraps its `downloadToFile`). */
export function countDownloads(store: BlobStore): { files: number; bytes: number } {
  const seen = { files: 0, bytes: 0 };
  const download = store.downloadToFile.bind(store);
  store.downloadToFile = async (path, local) => {
    const got = await download(path, local);
    seen.files++;
    seen.bytes += got.bytes;
    return got;
  };
  return seen;
}
