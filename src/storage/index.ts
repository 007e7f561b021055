/** Opening the configured package storage, and finding the storage a recorded package lives in. */
import { fileURLToPath } from 'node:url';
import type { Credentials } from './sigv4.js';
import { LocalDirectoryStorage } from './local.js';
import { S3Storage } from './s3.js';
import { StorageError, type PackageStorage } from './types.js';

export { StorageError, type PackageStorage, type StoredObject } from './types.js';
export { LocalDirectoryStorage } from './local.js';
export { S3Storage } from './s3.js';

export type StorageSettings =
  | { kind: 'local'; directory: string }
  | { kind: 's3'; bucket: string; prefix: string; region: string; endpoint: string | undefined; credentials: Credentials };

export function createStorage(settings: StorageSettings): PackageStorage {
  return settings.kind === 'local' ? new LocalDirectoryStorage(settings.directory) : new S3Storage(settings);
}

/**
 * The storage holding a package recorded at `location`: the configured one when it is the same
 * place, otherwise a local directory named by its file: URL. A bucket other than the configured
 * one cannot be opened (its credentials are not known here).
 */
export function storageAt(location: string, configured: PackageStorage | undefined): PackageStorage {
  if (configured && configured.location === location) return configured;
  if (location.startsWith('file:')) return new LocalDirectoryStorage(fileURLToPath(location));
  throw new StorageError(`The package storage ${location} is not configured in this process`);
}
