/**
 * The sockets of one Postgres connector. postgres.js hands every connection attempt to
 * {@link PostgresSockets.open} (its `socket` option), so the connector knows each socket it has
 * and can close them all at once: when a deadline passes, or when it closes.
 *
 * Three rules keep a server that is not what the connection says from wedging the pool:
 * - A server that hangs up is an error, never a clean close. When a socket closes cleanly while a
 *   query waits for its session, postgres.js connects again at once, and again, forever (with
 *   `backoff: () => 0`, hundreds of connections a second; NATS and many other servers hang up on
 *   the bytes of a Postgres startup message). An error instead fails the waiting query.
 * - Until the session is ready, what the server sends must be what a Postgres server sends
 *   (postgres-handshake.ts). Anything else fails at once ("does not speak the Postgres protocol",
 *   or an authentication request dsrflow does not answer), and postgres.js never sees those bytes
 *   (so they reach no message either).
 * - TLS is negotiated here (SSLRequest, then the handshake), so the socket postgres.js gets is
 *   always one these rules watch.
 *
 * A failure never rejects {@link PostgresSockets.open}: postgres.js leaves a connection slot in
 * `connecting` forever when the socket factory throws, and the pool then runs out of slots.
 * Instead it returns a socket that fails, which postgres.js handles like any other.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { ConnectorError } from './errors.js';
import { HandshakeCheck } from './postgres-handshake.js';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-full';

export interface SocketTarget {
  /** A host name or address, or the directory of a Unix-domain socket (starts with `/`). */
  host: string;
  port: number;
  ssl: SslMode;
}

/** `host:port` or the socket directory: where the connection points, in messages. */
export function describeAddress({ host, port }: Pick<SocketTarget, 'host' | 'port'>): string {
  if (host.startsWith('/')) return `${host} (port ${port})`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const SSL_ACCEPTED = 0x53; // S
const SSL_REFUSED = 0x4e; // N

function foreignProtocol(address: string): ConnectorError {
  return new ConnectorError('not_found', `The server at the configured address ${address} does not speak the Postgres protocol`);
}

export class PostgresSockets {
  private readonly live = new Set<Socket>();
  private closed = false;
  private readonly address: string;

  constructor(
    private readonly target: SocketTarget,
    private readonly connectTimeoutMs: number,
  ) {
    this.address = describeAddress(target);
  }

  /** For postgres.js's `socket` option: a connected (and, as configured, secured) socket, or one that fails. */
  readonly open = async (): Promise<Socket> => {
    const closed = () => new ConnectorError('server', 'The connection to the data store was closed');
    try {
      if (this.closed) throw closed();
      return this.guard(await this.negotiate());
    } catch (error) {
      // A socket destroyed by destroyAll() fails as "closed", not as the server's doing.
      return this.failing(this.closed ? closed() : error);
    }
  };

  /** Sockets open now (connecting, or carrying a session). */
  get size(): number {
    return this.live.size;
  }

  /** Closes every socket now and opens no more: for a deadline that passed, or a connector that closes. */
  destroyAll(): void {
    this.closed = true;
    for (const socket of this.live) socket.destroy();
    this.live.clear();
  }

  private track<T extends Socket>(socket: T): T {
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
    // Whoever holds the socket handles its errors (negotiate(), then postgres.js); this keeps
    // one that arrives while nobody listens (on the TCP socket under a TLS one) from becoming an
    // uncaught exception.
    socket.on('error', () => undefined);
    if (this.closed) socket.destroy();
    return socket;
  }

  /** TCP (or a Unix-domain socket), then TLS as configured, all within the connect timeout. */
  private async negotiate(): Promise<Socket> {
    const { host, port, ssl } = this.target;
    let current: Socket = this.track(host.startsWith('/') ? net.connect({ path: `${host}/.s.PGSQL.${port}` }) : net.connect({ host, port }));
    const deadline = setTimeout(
      () => current.destroy(new ConnectorError('timeout', `No answer from ${this.address} within ${this.connectTimeoutMs / 1000}s`)),
      this.connectTimeoutMs,
    );
    try {
      await until(current, 'connect', this.address);
      if (ssl === 'disable') return current;
      current.write(SSL_REQUEST);
      const answer = await firstByte(current, this.address);
      if (answer === SSL_REFUSED) {
        if (ssl === 'prefer') return current;
        throw new ConnectorError('authentication', `The server at ${this.address} does not accept TLS, which the connection requires (ssl_mode ${ssl})`);
      }
      if (answer !== SSL_ACCEPTED) throw foreignProtocol(this.address);
      const plain = current;
      current = this.track(
        tls.connect({
          socket: plain,
          // Names are verified against the certificate (and sent as SNI); an address as an address.
          ...(net.isIP(host) ? { host } : host.startsWith('/') ? {} : { servername: host, host }),
          rejectUnauthorized: ssl === 'verify-full',
        }),
      );
      await until(current, 'secureConnect', this.address);
      return current;
    } catch (error) {
      current.destroy();
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  /** The rules of this module's comment, on the socket postgres.js gets. */
  private guard(socket: Socket): Socket {
    const handshake = new HandshakeCheck(this.address);
    // Each chunk is checked before any listener sees it, until the session is ready: bytes that
    // cannot come from a Postgres server never reach postgres.js (postgres-handshake.ts).
    const emit = socket.emit;
    socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'data') {
        const refused = handshake.check(args[0] as Buffer);
        if (refused) {
          socket.destroy(refused);
          return false;
        }
      }
      return emit.apply(this, [event, ...args] as Parameters<Socket['emit']>);
    } as Socket['emit'];
    socket.on('end', () => {
      const how = handshake.answered ? 'closed the connection' : 'closed the connection without answering';
      socket.destroy(new ConnectorError('server', `The server at ${this.address} ${how}`));
    });
    return this.describe(socket);
  }

  /** postgres.js reads `host` and `port` off its socket for its own messages. */
  private describe(socket: Socket): Socket {
    return Object.assign(socket, { host: this.target.host, port: this.target.port });
  }

  /**
   * A socket that fails with the error once postgres.js listens to it (it attaches its listeners
   * after the factory resolves; an error before that would go unheard).
   */
  private failing(error: unknown): Socket {
    const socket = this.describe(new net.Socket());
    const reason = error instanceof Error ? error : new Error(String(error));
    setImmediate(() => socket.destroy(reason));
    return socket;
  }
}

/** Resolves on `event`; rejects when the socket errs or closes first. */
function until(socket: Socket, event: 'connect' | 'secureConnect', address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      socket.off(event, onEvent).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onEvent = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new ConnectorError('server', `The server at ${address} closed the connection without answering`));
    socket.once(event, onEvent).once('error', onError).once('close', onClose);
  });
}

/** The one byte a server answers an SSLRequest with. */
function firstByte(socket: Socket, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | undefined, byte?: number) => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve(byte!);
    };
    const onData = (chunk: Buffer) => (chunk.length === 1 ? done(undefined, chunk[0]) : done(foreignProtocol(address)));
    const onError = (error: Error) => done(error);
    const onClose = () => done(new ConnectorError('server', `The server at ${address} closed the connection without answering`));
    socket.on('data', onData).once('error', onError).once('close', onClose);
  });
}
