/**
 * Access packages in a local directory (the default). Files are written to a temporary name and
 * renamed, so a download never reads half a package; they are readable by the owner only. With
 * separate API and worker processes the directory must be shared by both (a volume).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { checkKey, type PackageStorage, type StoredObject } from './types.js';

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

export class LocalDirectoryStorage implements PackageStorage {
  readonly directory: string;
  readonly location: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
    const url = pathToFileURL(this.directory).href;
    this.location = url.endsWith('/') ? url : `${url}/`;
  }

  private path(key: string): string {
    return join(this.directory, checkKey(key));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.path(key);
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, body, { mode: 0o600, flag: 'wx' });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    let handle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      const stream = createReadStream('', { fd: handle });
      return { body: Readable.toWeb(stream) as ReadableStream<Uint8Array>, size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch (error) {
      if (missing(error)) return false;
      throw error;
    }
  }
}
