/**
 * Access packages in an S3-compatible bucket: PUT, GET, HEAD and DELETE of single objects over
 * fetch, signed with SigV4. With an endpoint (MinIO, Ceph, R2…) objects are addressed path-style
 * (`endpoint/bucket/key`); without one, AWS's virtual-hosted style for the region.
 */
import { StorageError, checkKey, type PackageStorage, type StoredObject } from './types.js';
import { EMPTY_PAYLOAD_HASH, encodeRfc3986, sha256Hex, signRequest, type Credentials } from './sigv4.js';

export interface S3Options {
  bucket: string;
  /** Prepended to every key; empty or ending with `/`. */
  prefix: string;
  region: string;
  /** `https://minio.internal:9000`; unset for AWS itself. */
  endpoint: string | undefined;
  credentials: Credentials;
  /** Per request; a stuck store must not hold an activity until its start-to-close timeout. */
  timeoutMs?: number;
}

export class S3Storage implements PackageStorage {
  readonly location: string;

  constructor(private readonly options: S3Options) {
    this.location = `s3://${options.bucket}/${options.prefix}`;
  }

  /** The object's URL, its path encoded once, as it is signed and sent. */
  objectUrl(key: string): URL {
    const { bucket, prefix, region, endpoint } = this.options;
    const objectKey = `${prefix}${checkKey(key)}`.split('/').map(encodeRfc3986).join('/');
    if (endpoint) return new URL(`${endpoint.replace(/\/+$/, '')}/${encodeRfc3986(bucket)}/${objectKey}`);
    return new URL(`https://${bucket}.s3.${region}.amazonaws.com/${objectKey}`);
  }

  private async send(method: 'GET' | 'PUT' | 'HEAD' | 'DELETE', key: string, body?: { data: Uint8Array; contentType: string }): Promise<Response> {
    const url = this.objectUrl(key);
    const headers = signRequest({
      method,
      url,
      headers: body ? { 'content-type': body.contentType } : {},
      payloadHash: body ? sha256Hex(body.data) : EMPTY_PAYLOAD_HASH,
      region: this.options.region,
      service: 's3',
      credentials: this.options.credentials,
    });
    // fetch sets Host itself, to the value signed here.
    delete headers.host;
    try {
      return await fetch(url, {
        method,
        headers,
        ...(body ? { body: body.data } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      throw new StorageError(`${method} ${this.location}${key} failed: ${(error as Error).message}`);
    }
  }

  private async failure(response: Response, what: string): Promise<StorageError> {
    const text = await response.text().catch(() => '');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    return new StorageError(`${what} ${this.location}: HTTP ${response.status}${code ? ` ${code}` : ''}`);
  }

  async put(key: string, data: Uint8Array, contentType: string): Promise<void> {
    const response = await this.send('PUT', key, { data, contentType });
    if (!response.ok) throw await this.failure(response, `PUT ${key} to`);
    await response.body?.cancel();
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const response = await this.send('GET', key);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok || !response.body) throw await this.failure(response, `GET ${key} from`);
    const length = response.headers.get('content-length');
    return { body: response.body, size: length === null ? undefined : Number(length) };
  }

  async delete(key: string): Promise<void> {
    const response = await this.send('DELETE', key);
    // S3 answers 204 whether or not the object existed; some compatible stores answer 404.
    if (!response.ok && response.status !== 404) throw await this.failure(response, `DELETE ${key} from`);
    await response.body?.cancel();
  }

  async exists(key: string): Promise<boolean> {
    const response = await this.send('HEAD', key);
    await response.body?.cancel();
    if (response.status === 404) return false;
    if (!response.ok) throw new StorageError(`HEAD ${key} in ${this.location}: HTTP ${response.status}`);
    return true;
  }
}
