/**
 * Servers at a connection's address that are not what the connection says: silent ones, ones
 * that speak another protocol, ones that hang up, ones that imitate Postgres badly. Each counts
 * the connections it accepted, so a test can tell one attempt from a reconnect loop. And a
 * count of this process's own sockets to a port, read from /proc (Linux).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface ForeignServer {
  port: number;
  /** A postgres:// URL pointing at it. */
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

export async function foreignServer(onConnection: (socket: Socket) => void): Promise<ForeignServer> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the client may reset: that is its business
    onConnection(socket);
    // Read (and drop) what nobody listens to, so the client's hang-up is noticed.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/shop`,
    get accepted() {
      return accepted;
    },
    openConnections: () => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Accepts and never writes a byte. */
export const silentServer = () => foreignServer(() => undefined);

/** Writes its banner at once, as NATS, SSH or SMTP servers do, and waits. */
export const bannerServer = (banner: string | Buffer) => foreignServer((socket) => socket.write(banner));

/** Hangs up as soon as the client says anything, as many servers do on bytes they do not understand. */
export const hangUpServer = () => foreignServer((socket) => socket.once('data', () => socket.end()));

/** One Postgres backend message: type, length, body. */
export function backendMessage(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
};

/** An ErrorResponse: severity, SQLSTATE and a message of the server's choosing. */
export function errorResponse(code: string, message: string): Buffer {
  const field = (tag: string, value: string) => Buffer.from(`${tag}${value}\0`);
  return backendMessage('E', field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0]));
}

/** Answers the startup message with `answer` (then, optionally, answers the client's next message too). */
export const answeringServer = (answer: Buffer, next?: Buffer) =>
  foreignServer((socket) =>
    socket.once('data', () => {
      socket.write(answer);
      if (next) socket.once('data', () => socket.write(next));
    }),
  );

/** The first bytes a server at host:port sends within `ms` of a connection, or undefined. */
export function firstBytes(host: string, port: number, ms = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (value: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), ms);
    socket.once('data', (chunk: Buffer) => done(chunk));
    socket.once('error', () => done(undefined));
  });
}

/** TCP sockets of this process whose remote end is `port` (and `host`, an IPv4 address, when given). */
export async function openSocketsTo(port: number, host?: string): Promise<number> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) inodes.add(inode);
  }
  const remotePort = port.toString(16).toUpperCase().padStart(4, '0');
  const remoteHost = host?.split('.').reverse().map((part) => Number(part).toString(16).toUpperCase().padStart(2, '0')).join('');
  let count = 0;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10) continue;
      const [address, remote] = columns[2]!.split(':');
      if (remote !== remotePort || !inodes.has(columns[9]!)) continue;
      if (remoteHost && table.endsWith('tcp') && address !== remoteHost) continue;
      count++;
    }
  }
  return count;
}

/** Samples the count of this process's sockets to the port `times` times over `ms`, and returns the largest. */
export async function mostSocketsTo(port: number, host: string | undefined, ms = 1500, times = 15): Promise<number> {
  let most = 0;
  for (let i = 0; i < times; i++) {
    most = Math.max(most, await openSocketsTo(port, host));
    await new Promise((resolve) => setTimeout(resolve, ms / times));
  }
  return most;
}
