/**
 * What a server may send before a Postgres session is ready, checked before postgres.js reads it.
 *
 * postgres.js trusts the server: bytes that are not Postgres's go to its parser as if they were,
 * and its authentication handlers run unawaited, so a malformed SCRAM challenge (no salt, no
 * iteration count) becomes a rejection nobody handles, which ends the process. A huge iteration
 * count is worse: postgres.js derives the key with the synchronous pbkdf2, and the whole process
 * stops for as long as the server asks. Until the server says it is ready (`Z`), each message
 * is checked here; after that, postgres.js's own handling of errors applies.
 */
import { ConnectorError } from './errors.js';

/** Authentication (R), ErrorResponse (E), NegotiateProtocolVersion (v): how a server answers a startup message. */
const FIRST = new Set(['R', 'E', 'v']);
/** Then also ParameterStatus (S), BackendKeyData (K), NoticeResponse (N) and ReadyForQuery (Z). */
const STARTUP = new Set(['R', 'E', 'v', 'S', 'K', 'N', 'Z']);
/** The longest startup message a Postgres server sends (an error with every field is a few kB). */
const LONGEST_MESSAGE = 64 * 1024;
/** Authentication requests postgres.js answers: ok, cleartext password, MD5, SASL (start, continue, final). */
const AUTHENTICATION = new Set([0, 3, 5, 10, 11, 12]);
/**
 * SCRAM iterations dsrflow will compute. Postgres uses 4096 (`scram_iterations`); a million
 * covers hardened settings and costs about a second of the worker's time.
 */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

/** Why a SCRAM server-first-message cannot be answered, if it cannot. */
function scramProblem(text: string): string | undefined {
  const fields = new Map(text.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as const));
  const iterations = Number(fields.get('i'));
  if (!fields.get('r')) return 'a SCRAM challenge without a nonce';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(fields.get('s') ?? '')) return 'a SCRAM challenge without a valid salt';
  if (!Number.isSafeInteger(iterations) || iterations < 1) return 'a SCRAM challenge without a valid iteration count';
  if (iterations > MAX_SCRAM_ITERATIONS) return `a SCRAM challenge asking for ${iterations} iterations (more than ${MAX_SCRAM_ITERATIONS})`;
  return undefined;
}

export class HandshakeCheck {
  private pending: Buffer = Buffer.alloc(0);
  private messages = 0;
  private ready = false;

  constructor(private readonly address: string) {}

  /** Whether the server has sent anything yet (for the message when it hangs up). */
  get answered(): boolean {
    return this.messages > 0 || this.pending.length > 0;
  }

  /** The error that ends the connection when these bytes cannot come from a Postgres server; undefined otherwise. */
  check(chunk: Buffer): ConnectorError | undefined {
    if (this.ready) return undefined;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length > 0) {
      const type = String.fromCharCode(this.pending[0]!);
      if (!(this.messages === 0 ? FIRST : STARTUP).has(type)) return this.foreign();
      if (this.pending.length < 5) return undefined;
      const length = this.pending.readUInt32BE(1);
      if (length < 4 || length > LONGEST_MESSAGE) return this.foreign();
      if (this.pending.length < length + 1) return undefined;
      const message = this.pending.subarray(0, length + 1);
      this.pending = this.pending.subarray(length + 1);
      this.messages++;
      if (type === 'R') {
        const problem = this.authenticationProblem(message);
        if (problem) return new ConnectorError('authentication', `The server at ${this.address} sent ${problem}, which dsrflow does not answer`);
      }
      if (type === 'Z') {
        this.ready = true;
        this.pending = Buffer.alloc(0);
        return undefined;
      }
    }
    return undefined;
  }

  private foreign(): ConnectorError {
    return new ConnectorError('not_found', `The server at the configured address ${this.address} does not speak the Postgres protocol`);
  }

  private authenticationProblem(message: Buffer): string | undefined {
    if (message.length < 9) return 'a truncated authentication request';
    const kind = message.readUInt32BE(5);
    if (!AUTHENTICATION.has(kind)) return `an authentication request of a kind it does not support (${kind})`;
    if (kind === 5 && message.length !== 13) return 'a malformed MD5 authentication request';
    if (kind === 11) return scramProblem(message.toString('utf8', 9));
    return undefined;
  }
}
