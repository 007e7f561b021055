/**
 * What the vendors' stand-ins share: a node:http server on a loopback port that records every
 * request, answers JSON, and can be told to fail the next requests (429 with Retry-After, 5xx
 * bursts, a connection reset) before answering as the vendor would.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Fault {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Hang up without answering. */
  reset?: boolean;
  /** Only requests this matches take the fault (default: any). */
  match?: (request: RecordedRequest) => boolean;
}

export interface VendorReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type VendorHandler = (request: RecordedRequest) => VendorReply | Promise<VendorReply>;

export interface VendorServer {
  port: number;
  /** `127.0.0.1:port`: what a connection's host param is set to. */
  host: string;
  requests: RecordedRequest[];
  /** The next requests (that match) get these answers first, in order. */
  fail(...faults: Fault[]): void;
  /** Called before each request is answered: a test may make the answer wait. */
  hold?: ((request: RecordedRequest) => Promise<void>) | undefined;
  close(): Promise<void>;
}

export async function startVendor(handle: VendorHandler): Promise<VendorServer> {
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const vendorRef: { current?: VendorServer } = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://vendor');
      const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      await vendorRef.current?.hold?.(request);
      const index = faults.findIndex((fault) => !fault.match || fault.match(request));
      if (index >= 0) {
        const [fault] = faults.splice(index, 1);
        if (fault!.reset) {
          req.socket.destroy();
          return;
        }
        res.writeHead(fault!.status ?? 500, { 'content-type': 'application/json', ...fault!.headers });
        res.end(fault!.body ?? JSON.stringify({ error: 'injected fault' }));
        return;
      }
      try {
        const reply = await handle(request);
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const vendor: VendorServer = {
    port,
    host: `127.0.0.1:${port}`,
    requests,
    fail: (...more) => faults.push(...more),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  vendorRef.current = vendor;
  return vendor;
}

/** `Basic` credentials of a request, or undefined. */
export function basicAuth(request: RecordedRequest): { username: string; password: string } | undefined {
  const match = /^Basic (.+)$/.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at < 0 ? undefined : { username: decoded.slice(0, at), password: decoded.slice(at + 1) };
}

/** Stripe-style form decoding: `address[city]=x&items[0]=y` into nested objects. */
export function formDecode(body: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split(/\[|\]\[|\]/).filter((part) => part !== '');
    let node = result as Record<string, unknown>;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else {
        node[part] ??= {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  return result;
}
