/**
 * An S3-compatible server for tests: moto's server (`moto_server`, Python), when it is installed,
 * on a free loopback port, with signature checking on. It stands in for S3 or MinIO: it checks
 * SigV4 signatures and IAM permissions like S3, but it is an emulator, not S3 itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { EMPTY_PAYLOAD_HASH, signRequest, type Credentials } from '../../src/storage/sigv4.js';

export const motoAvailable = (): boolean => spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;

export interface Moto {
  endpoint: string;
  credentials: Credentials;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** IAM calls before authentication starts: the first three requests are not checked. */
async function iam(endpoint: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // Only the service in the credential scope matters here: moto routes on it.
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSETUP/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto IAM ${params.Action}: HTTP ${response.status} ${text.slice(0, 200)}`);
  return text;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '3' },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      // Any answer will do; a request here does not count against the unauthenticated ones.
      const ready = await fetch(`${endpoint}/moto-api/`).then(() => true, () => false);
      if (ready) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('moto_server did not start');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await iam(endpoint, { Action: 'CreateUser', UserName: 'dsrflow' });
    const key = await iam(endpoint, { Action: 'CreateAccessKey', UserName: 'dsrflow' });
    await iam(endpoint, {
      Action: 'PutUserPolicy',
      UserName: 'dsrflow',
      PolicyName: 'packages',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }),
    });
    const credentials = {
      accessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(key)![1]!,
      secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(key)![1]!,
    };
    return {
      endpoint,
      credentials,
      async createBucket(name) {
        const url = new URL(`${endpoint}/${name}`);
        const headers = signRequest({ method: 'PUT', url, payloadHash: EMPTY_PAYLOAD_HASH, region: 'us-east-1', service: 's3', credentials });
        delete headers.host;
        const response = await fetch(url, { method: 'PUT', headers });
        if (!response.ok) throw new Error(`create bucket ${name}: HTTP ${response.status} ${await response.text()}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
