/**
 * DSRFLOW_CONNECTION_ALLOW: the data stores a connection may point at.
 *
 * The worker reaches whatever its network reaches, with whatever credentials a connection
 * carries; whoever may edit connections could otherwise read any database the worker can log in
 * to (dsrflow's own included). With an allow-list, a connection's host, port and database must
 * match one pattern: `db.internal:5432/shop`, `*.corp.example`, `10.0.0.5`, `host/*`.
 *
 * A pattern is `host[:port][/database]`. `*` stands for any run of characters (in the host, the
 * port or the database); a part left out matches anything. Hosts compare without case, databases
 * with case (as Postgres names them). The host is compared as written in the connection, never
 * resolved: `10.0.0.5` does not admit a name that resolves to it.
 */

/** Where a connection points, as it will connect. */
export interface ConnectionTarget {
  host: string;
  port: number;
  /** Empty when the connection names none (the server then picks one). */
  database: string;
}

export interface AllowPattern {
  /** As written, for messages. */
  text: string;
  host: RegExp;
  /** Undefined: any port. */
  port: number | undefined;
  /** Undefined: any database. */
  database: RegExp | undefined;
}

export type AllowList = readonly AllowPattern[];

const PATTERN = /^(\[[0-9a-f:.*]+\]|[a-z0-9.*_-]+)(?::(\d{1,5}|\*))?(?:\/([^\s/]+))?$/i;

/** `*` is any run of characters; everything else is literal. */
function glob(text: string, flags: string): RegExp {
  const source = text
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, flags);
}

/** Lower case, without IPv6 brackets or a trailing dot: the form hosts are compared in. */
export function normalizeHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

export function parseAllowPattern(entry: string): AllowPattern {
  const text = entry.trim();
  const match = PATTERN.exec(text);
  if (!match) throw new Error(`"${text}" is not host[:port][/database] (for example db.internal:5432/shop, *.corp.example, 10.0.0.5, host/*)`);
  const [, host, port, database] = match;
  const portNumber = port === undefined || port === '*' ? undefined : Number(port);
  if (portNumber !== undefined && (portNumber < 1 || portNumber > 65535)) throw new Error(`"${text}": the port must be from 1 to 65535`);
  return {
    text,
    host: glob(normalizeHost(host!), 'i'),
    port: portNumber,
    database: database === undefined || database === '*' ? undefined : glob(database, ''),
  };
}

/** The comma-separated list of DSRFLOW_CONNECTION_ALLOW; throws naming every bad entry. */
export function parseAllowList(text: string): AllowPattern[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('expected at least one pattern such as db.internal:5432/shop');
  const problems: string[] = [];
  const patterns: AllowPattern[] = [];
  for (const entry of entries) {
    try {
      patterns.push(parseAllowPattern(entry));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));
  return patterns;
}

const hostMatches = (pattern: AllowPattern, target: ConnectionTarget) => pattern.host.test(normalizeHost(target.host));
const portMatches = (pattern: AllowPattern, target: ConnectionTarget) => pattern.port === undefined || pattern.port === target.port;
const databaseMatches = (pattern: AllowPattern, target: ConnectionTarget) => pattern.database === undefined || pattern.database.test(target.database);

/**
 * Which part of the target no pattern admits, so a refusal can name the field: the host when no
 * pattern has it, else the port, else the database. Undefined when the target is allowed, or
 * when there is no allow-list.
 */
export function refusedPart(target: ConnectionTarget, allow: AllowList | undefined): 'host' | 'port' | 'database' | undefined {
  if (!allow) return undefined;
  const sameHost = allow.filter((pattern) => hostMatches(pattern, target));
  if (sameHost.length === 0) return 'host';
  const samePort = sameHost.filter((pattern) => portMatches(pattern, target));
  if (samePort.length === 0) return 'port';
  return samePort.some((pattern) => databaseMatches(pattern, target)) ? undefined : 'database';
}
