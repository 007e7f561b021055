/**
 * Where access packages are kept: one interface, a local directory by default, an S3-compatible
 * bucket as an option. Keys are single path segments chosen by dsrflow (`pri_<uuid>.zip`).
 */

export interface StoredObject {
  body: ReadableStream<Uint8Array>;
  /** Bytes, when the storage knows them. */
  size: number | undefined;
}

export interface PackageStorage {
  /**
   * Identifies the place: `file:///var/lib/dsrflow/access-packages/` or `s3://bucket/prefix/`.
   * Recorded with every package, so a package outlives configuration changes.
   */
  readonly location: string;
  /** Writes the object whole: a reader never sees half of it. Overwrites. */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object as a stream, or undefined when it does not exist. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Removes the object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

/** A storage operation failed (unreachable, refused, misconfigured). */
export class StorageError extends Error {
  override name = 'StorageError';
}

/** Keys are one segment of safe characters: they never climb out of a directory or a prefix. */
export function checkKey(key: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(key)) throw new StorageError(`Invalid storage key ${JSON.stringify(key)}`);
  return key;
}
