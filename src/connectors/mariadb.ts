/**
 * MariaDB and MySQL as target data stores, on mysql2.
 *
 * - One pool per connection with limits: connections (`connectionLimit`), callers waiting for one
 *   (`queueLimit`, beyond which an operation fails as `rate_limited`), the connect deadline, and a
 *   deadline per statement, on the client (the connection is then closed) and on the server
 *   (`max_statement_time`, or MySQL's `max_execution_time`).
 * - Identifiers quoted with backticks (a backtick doubled; a dot is just a character of the name,
 *   so a collection named `mysql.user` never leaves the configured database); values bound as
 *   parameters of server-side prepared statements.
 * - Values as stored (src/connectors/values.ts): the session's time zone is UTC, so a
 *   `TIMESTAMP` is read as the instant it stores (with `+00:00`), a `DATETIME` as its wall
 *   clock; BIGINT and DECIMAL exact as text; `TINYINT(1)`/`BOOLEAN` as true/false; JSON parsed;
 *   binary columns as base64. A value bound to a column is converted the other way, by the
 *   column's type read from the catalog (a BIGINT key read as text compares exactly).
 * - Every socket is the connector's own (so destroy() closes them all at once), and an error
 *   of a pooled connection, idle or busy, never reaches the process as an unhandled 'error'.
 */
import net, { type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { z } from 'zod';
import { refusedPart, type AllowList, type ConnectionTarget } from './allow-list.js';
import { ConnectorError } from './errors.js';
import { classifyMariadbError } from './mariadb-errors.js';
import { TargetRefused } from './postgres.js';
import type { CollectionDelete, CollectionQuery, CollectionUpdate, Connector, Row } from './types.js';
import { base64, bytesOf, formatTimestamp, formatUtc, parseIsoTimestamp, shiftSeconds, type Timestamp } from './values.js';

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;

/** Secrets as Fides names them (host, port, dbname…), or one `url` (mariadb:// or mysql://). */
export const mariadbSecretsSchema = z.union([
  z.object({ url: z.string().regex(/^(mariadb|mysql):\/\//, 'must be a mariadb:// or mysql:// URL') }),
  z.object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535).default(3306),
    dbname: z.string().min(1),
    username: z.string().min(1),
    password: z.string().optional(),
    ssl_mode: z.enum(SSL_MODES).optional(),
  }),
]);
export type MariadbSecrets = z.infer<typeof mariadbSecretsSchema>;

export interface MariadbTarget extends ConnectionTarget {
  user: string;
  password: string | undefined;
  ssl: (typeof SSL_MODES)[number];
}

/** The target of the secrets: what the allow-list checks is what the connector dials. */
export function mariadbTarget(secrets: MariadbSecrets): MariadbTarget {
  if (!('url' in secrets)) {
    return { host: secrets.host, port: secrets.port, database: secrets.dbname, user: secrets.username, password: secrets.password, ssl: secrets.ssl_mode ?? 'disable' };
  }
  let url: URL;
  try {
    url = new URL(secrets.url);
  } catch {
    throw new TargetRefused('url', 'is not a valid mariadb:// URL');
  }
  if (url.hostname.includes(',')) throw new TargetRefused('url', 'one host per connection: several hosts in one URL are not supported');
  const mode = url.searchParams.get('ssl_mode') ?? url.searchParams.get('sslmode') ?? url.searchParams.get('ssl');
  return {
    host: decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: url.port ? Number(url.port) : 3306,
    database: decodeURIComponent(url.pathname.slice(1)),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ssl: mode === null || mode === 'disable' || mode === 'false' ? 'disable' : mode === 'require' || mode === 'true' ? 'require' : 'verify-full',
  };
}

/** The server's own databases: grants, password hashes, every other database's names. */
export function isSystemDatabase(database: string): boolean {
  return /^(mysql|information_schema|performance_schema|sys)$/i.test(database);
}

/** Why dsrflow must not connect to this target, naming the secret to change; undefined when it may. */
export function refuseMariadbTarget(secrets: MariadbSecrets, allow: AllowList | undefined): TargetRefused | undefined {
  let target: MariadbTarget;
  try {
    target = mariadbTarget(secrets);
  } catch (error) {
    if (error instanceof TargetRefused) return error;
    throw error;
  }
  const databaseField = 'url' in secrets ? 'url' : 'dbname';
  if (!target.database) return new TargetRefused(databaseField, 'names no database: the collections are tables of one database');
  if (isSystemDatabase(target.database)) return new TargetRefused(databaseField, `"${target.database}" is one of the server's own databases, which dsrflow never reads`);
  const part = refusedPart(target, allow);
  if (!part) return undefined;
  const field = 'url' in secrets ? 'url' : { host: 'host', port: 'port', database: 'dbname' }[part];
  return new TargetRefused(field, `${describeMariadbAddress(target)}/${target.database} is not in DSRFLOW_CONNECTION_ALLOW (the ${part} matches no pattern)`);
}

export function describeMariadbAddress({ host, port }: Pick<ConnectionTarget, 'host' | 'port'>): string {
  if (host.startsWith('/')) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function parseMariadbSecrets(secrets: unknown): MariadbSecrets {
  // The form the secrets take (`url`, or host and the rest) picks the variant, so a problem names its own field.
  const [byUrl, byParts] = mariadbSecretsSchema.options;
  const parsed = (typeof secrets === 'object' && secrets !== null && 'url' in secrets ? byUrl : byParts).safeParse(secrets);
  if (!parsed.success) throw new ConnectorError('authentication', `The connection's secrets are incomplete: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'secrets'} ${issue.message}`).join('; ')}`);
  return parsed.data;
}

export interface MariadbConnectorOptions {
  /** Connections in the pool (default 4). */
  max?: number;
  /** Operations that may wait for a connection; one more fails as `rate_limited` (default 100). */
  queueLimit?: number;
  /** Bounds TCP, TLS and the handshake (default 10 s). */
  connectTimeoutMs?: number;
  /** Bounds each statement, on the client and on the server (default 60 s). */
  queryTimeoutMs?: number;
  applicationName?: string;
  /** DSRFLOW_CONNECTION_ALLOW; undefined: any target. */
  allow?: AllowList | undefined;
  /** How long the catalog's answer about a table's columns is kept (default 60 s). */
  catalogTtlMs?: number;
}

/** A backtick-quoted identifier: the whole name, dots included. */
export const quoteIdentifier = (name: string) => `\`${name.replace(/`/g, '``')}\``;

type Kind = 'boolean' | 'signed' | 'unsigned' | 'decimal' | 'date' | 'datetime' | 'timestamp' | 'binary' | 'json' | 'other';
interface Column {
  kind: Kind;
  /** Precision and scale, for decimals. */
  precision?: number;
  scale?: number;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit']);

function columnOf(dataType: string, columnType: string, precision: number | null, scale: number | null, json: boolean): Column {
  const type = dataType.toLowerCase();
  const full = columnType.toLowerCase();
  if (json || type === 'json') return { kind: 'json' };
  if (type === 'tinyint' && /^tinyint\(1\)/.test(full)) return { kind: 'boolean' };
  if (INTEGER_TYPES.has(type)) return { kind: full.includes('unsigned') ? 'unsigned' : 'signed' };
  if (type === 'decimal' || type === 'numeric') return { kind: 'decimal', precision: precision ?? 65, scale: scale ?? 0 };
  if (type === 'date') return { kind: 'date' };
  if (type === 'datetime') return { kind: 'datetime' };
  if (type === 'timestamp') return { kind: 'timestamp' };
  if (BINARY_TYPES.has(type)) return { kind: 'binary' };
  return { kind: 'other' };
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d*)(?:\.(\d*))?$/;

/**
 * `DECIMAL(p,s)` wide enough for both the column and the value, so the cast never rounds a value
 * into one the column holds (`10.005` is not `10.01`); undefined when no DECIMAL is (more than 65
 * digits): such a value cannot be in the column.
 */
function decimalCast(text: string, column: Column): string | undefined {
  const match = DECIMAL_TEXT.exec(text);
  if (!match || (!match[1] && !match[2])) return undefined;
  const integerDigits = match[1]!.replace(/^0+/, '').length;
  const fractionDigits = (match[2] ?? '').replace(/0+$/, '').length;
  const scale = Math.max(column.scale ?? 0, fractionDigits);
  const precision = Math.max(column.precision ?? 0, integerDigits + scale, 1);
  if (scale > 38 || precision > 65) return undefined;
  return `DECIMAL(${precision},${scale})`;
}
const UNMATCHABLE = Symbol('unmatchable');

/** `2024-03-10 01:59:59.500000` (as mysql2 reads it) → its parts. */
function parseStoredDatetime(text: string): Timestamp | undefined {
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, f] = match;
  return { year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi), second: Number(s), fraction: f ?? '' };
}

/** A timestamp to bind: `YYYY-MM-DD HH:MM:SS[.ffffff]`; an offset moves it to UTC (the session's zone) for TIMESTAMP, and is dropped for DATETIME. */
function toDatetimeLiteral(value: string, kind: 'datetime' | 'timestamp'): string {
  const parsed = parseIsoTimestamp(value);
  if (!parsed) return value;
  const time = kind === 'timestamp' && parsed.offsetSeconds ? shiftSeconds(parsed.time, -parsed.offsetSeconds) : parsed.time;
  return formatTimestamp(time).replace('T', ' ');
}

export class MariadbConnector implements Connector {
  private readonly pool: mysql.Pool;
  private readonly sockets = new Set<Socket>();
  private readonly initialized = new WeakSet<object>();
  private readonly catalog = new Map<string, { at: number; columns: Promise<Map<string, Column>> }>();
  private readonly queryTimeoutMs: number;
  private readonly catalogTtlMs: number;
  private closed = false;

  /** Throws ConnectorError('permission') for a target dsrflow must not connect to: nothing is dialled. */
  constructor(secrets: MariadbSecrets, options: MariadbConnectorOptions = {}) {
    const refused = refuseMariadbTarget(secrets, options.allow);
    if (refused) throw new ConnectorError('permission', `The connection may not be used: ${refused.field} ${refused.message}`);
    const target = mariadbTarget(secrets);
    this.queryTimeoutMs = options.queryTimeoutMs ?? 60_000;
    this.catalogTtlMs = options.catalogTtlMs ?? 60_000;
    this.pool = mysql.createPool({
      // The socket is this connector's own: destroy() closes every one, connecting ones included.
      stream: () => this.openSocket(target),
      ...(target.host.startsWith('/') ? {} : { host: target.host, port: target.port }),
      user: target.user,
      ...(target.password !== undefined ? { password: target.password } : {}),
      database: target.database,
      connectionLimit: options.max ?? 4,
      maxIdle: options.max ?? 4,
      idleTimeout: 60_000,
      queueLimit: options.queueLimit ?? 100,
      waitForConnections: true,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      charset: 'utf8mb4_unicode_ci',
      // Values as stored: dates as the server's text, BIGINT and DECIMAL as text.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      multipleStatements: false,
      // Each IN list of a new length is a statement: keep few per connection (the server's total is bounded).
      maxPreparedStatements: 64,
      connectAttributes: { program_name: options.applicationName ?? 'dsrflow-connector' },
      ...(target.ssl === 'disable' ? {} : { ssl: { rejectUnauthorized: target.ssl === 'verify-full' } }),
    });
    const core = this.pool.pool;
    // A pool connection keeps one `once('error')` listener of its own: a second error (a reset
    // after a lost connection, a write after close) would otherwise end the process.
    core.on('connection', (connection) => connection.on('error', () => undefined));
    (core as unknown as NodeJS.EventEmitter).on('error', () => undefined);
  }

  private openSocket(target: MariadbTarget): Socket {
    const socket = target.host.startsWith('/') ? net.connect({ path: target.host }) : net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.closed) socket.destroy(new ConnectorError('server', 'The connection to the data store was closed'));
    // The server speaks first: its first packet (sequence 0) is a handshake (protocol 10) or an
    // error. Anything else (an SSH banner, NATS, HTTP) fails at once, rather than leaving mysql2
    // waiting for the rest of a "packet" the first bytes announce, until the connect deadline.
    socket.once('data', (chunk: Buffer) => {
      if (chunk.length < 5 || (chunk[3] === 0 && (chunk[4] === 0x0a || chunk[4] === 0xff))) return; // too short to judge, or as expected
      socket.destroy(new ConnectorError('not_found', `The server at the configured address ${describeMariadbAddress(target)} does not speak the MariaDB/MySQL protocol`));
    });
    return socket;
  }

  /** A pooled connection whose session is set up: UTC, and a server-side statement deadline. */
  private async connection(): Promise<mysql.PoolConnection> {
    if (this.closed) throw new ConnectorError('server', 'The connection to the data store was closed');
    const connection = await this.pool.getConnection();
    if (this.initialized.has(connection.connection)) return connection;
    try {
      // One round trip: the zone and MariaDB's statement deadline (seconds); MySQL names its own differently (milliseconds, SELECTs only).
      try {
        await connection.query({ sql: `SET time_zone = '+00:00', SESSION max_statement_time = ${this.queryTimeoutMs / 1000}`, timeout: this.queryTimeoutMs });
      } catch (error) {
        if ((error as { errno?: number }).errno !== 1193) throw error; // unknown variable: MySQL
        await connection.query({ sql: `SET time_zone = '+00:00', SESSION max_execution_time = ${Math.round(this.queryTimeoutMs)}`, timeout: this.queryTimeoutMs });
      }
      this.initialized.add(connection.connection);
      return connection;
    } catch (error) {
      connection.destroy();
      throw error;
    }
  }

  /** Runs with a connection, releasing it after; a connection that failed at the protocol level is closed instead. */
  private async using<T>(work: (connection: mysql.PoolConnection) => Promise<T>): Promise<T> {
    let connection: mysql.PoolConnection | undefined;
    try {
      connection = await this.connection();
      const result = await work(connection);
      connection.release();
      return result;
    } catch (error) {
      if (connection) {
        const { fatal, code, sqlState } = error as { fatal?: boolean; code?: string; sqlState?: string };
        // After a client-side timeout the statement may still be running: the connection is not reusable.
        if (!(error instanceof ConnectorError) && (fatal || code === 'PROTOCOL_SEQUENCE_TIMEOUT' || sqlState === undefined)) connection.destroy();
        else connection.release();
      }
      throw classifyMariadbError(error);
    }
  }

  private run(connection: mysql.PoolConnection, sql: string, values: unknown[]) {
    return connection.execute({ sql, values: values as never, timeout: this.queryTimeoutMs });
  }

  /** The columns of a table by lower-case name, from the catalog; kept for a while. An unknown table is not kept. */
  private columns(connection: mysql.PoolConnection, table: string): Promise<Map<string, Column>> {
    const cached = this.catalog.get(table);
    if (cached && Date.now() - cached.at < this.catalogTtlMs) return cached.columns;
    const columns = (async () => {
      const [rows] = await connection.query({
        sql: 'select COLUMN_NAME as name, DATA_TYPE as dataType, COLUMN_TYPE as columnType, NUMERIC_PRECISION as `precision`, NUMERIC_SCALE as scale from information_schema.COLUMNS where TABLE_SCHEMA = database() and TABLE_NAME = ?',
        values: [table],
        timeout: this.queryTimeoutMs,
      });
      const jsonColumns = new Set<string>();
      try {
        // MariaDB's JSON is LONGTEXT with a json_valid() check; MySQL has a JSON type (and no TABLE_NAME here).
        const [checks] = await connection.query({
          sql: 'select CHECK_CLAUSE as clause from information_schema.CHECK_CONSTRAINTS where CONSTRAINT_SCHEMA = database() and TABLE_NAME = ?',
          values: [table],
          timeout: this.queryTimeoutMs,
        });
        for (const { clause } of checks as { clause: string }[]) {
          const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(clause.trim());
          if (match) jsonColumns.add(match[1]!.replace(/``/g, '`').toLowerCase());
        }
      } catch (error) {
        if ((error as { errno?: number }).errno !== 1054) throw error;
      }
      const found = new Map<string, Column>();
      for (const row of rows as { name: string; dataType: string; columnType: string; precision: string | number | null; scale: string | number | null }[]) {
        const name = row.name.toLowerCase();
        found.set(name, columnOf(row.dataType, row.columnType, row.precision === null ? null : Number(row.precision), row.scale === null ? null : Number(row.scale), jsonColumns.has(name)));
      }
      if (found.size === 0) this.catalog.delete(table);
      return found;
    })();
    this.catalog.set(table, { at: Date.now(), columns });
    columns.catch(() => this.catalog.delete(table));
    return columns;
  }

  /** The placeholder and the value to bind for a column; UNMATCHABLE for a value the column cannot hold (an `abc` id). */
  private bind(column: Column | undefined, value: unknown): { sql: string; value: unknown } | typeof UNMATCHABLE {
    if (value === null || value === undefined) return { sql: '?', value: null };
    switch (column?.kind) {
      case 'signed':
      case 'unsigned': {
        const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
        if (!INTEGER_TEXT.test(text)) return UNMATCHABLE;
        return { sql: `CAST(? AS ${column.kind === 'signed' ? 'SIGNED' : 'UNSIGNED'})`, value: text };
      }
      case 'decimal': {
        const text = String(value);
        const cast = decimalCast(text, column);
        if (!cast) return UNMATCHABLE;
        return { sql: `CAST(? AS ${cast})`, value: text };
      }
      case 'boolean':
        return { sql: '?', value: value === true ? 1 : value === false ? 0 : value };
      case 'binary':
        return { sql: '?', value: bytesOf(value) };
      case 'datetime':
      case 'timestamp':
        return { sql: '?', value: typeof value === 'string' ? toDatetimeLiteral(value, column.kind) : value };
      case 'json':
        return { sql: '?', value: typeof value === 'string' ? value : JSON.stringify(value) };
      default:
        if (typeof value === 'bigint') return { sql: '?', value: String(value) };
        if (typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) return { sql: '?', value: JSON.stringify(value) };
        return { sql: '?', value };
    }
  }

  /** A row as stored: see the file's comment. */
  private convert(row: Row, columns: Map<string, Column>): Row {
    const out: Row = {};
    for (const [name, value] of Object.entries(row)) {
      out[name] = this.convertValue(value, columns.get(name.toLowerCase()));
    }
    return out;
  }

  private convertValue(value: unknown, column: Column | undefined): unknown {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return base64(value);
    switch (column?.kind) {
      case 'boolean':
        return typeof value === 'number' && (value === 0 || value === 1) ? value === 1 : value;
      case 'datetime':
      case 'timestamp': {
        const parsed = typeof value === 'string' ? parseStoredDatetime(value) : undefined;
        if (!parsed) return value; // a zero date, kept as the server wrote it
        return column.kind === 'timestamp' ? formatUtc(parsed) : formatTimestamp(parsed);
      }
      case 'json':
        if (typeof value !== 'string') return value;
        try {
          return JSON.parse(value);
        } catch {
          return value;
        }
      default:
        return value;
    }
  }

  async retrieve(query: CollectionQuery): Promise<Row[]> {
    const filters = query.filters.filter((filter) => filter.values.length > 0);
    if (filters.length === 0) return []; // nothing to look for: never read a whole table
    return this.using(async (connection) => {
      const columns = await this.columns(connection, query.collection);
      const conditions: string[] = [];
      const values: unknown[] = [];
      for (const filter of filters) {
        const bound = filter.values.map((value) => this.bind(columns.get(filter.field.toLowerCase()), value)).filter((entry) => entry !== UNMATCHABLE);
        const present = bound.filter((entry) => entry.value !== null);
        if (present.length === 0) continue;
        conditions.push(`${quoteIdentifier(filter.field)} IN (${present.map((entry) => entry.sql).join(', ')})`);
        values.push(...present.map((entry) => entry.value));
      }
      if (conditions.length === 0) return [];
      const sql = `SELECT ${query.fields.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(query.collection)} WHERE ${conditions.join(' OR ')}`;
      const [rows] = await this.run(connection, sql, values);
      return (rows as Row[]).map((row) => this.convert(row, columns));
    });
  }

  /** `a = ? AND b IS NULL` for a primary key; undefined when a key value cannot be in its column. */
  private matchKey(columns: Map<string, Column>, key: Row): { sql: string; values: unknown[] } | undefined {
    const entries = Object.entries(key);
    if (entries.length === 0) throw new ConnectorError('bad_data', 'A row cannot be addressed without its primary key');
    const parts: string[] = [];
    const values: unknown[] = [];
    for (const [field, value] of entries) {
      if (value === null || value === undefined) {
        parts.push(`${quoteIdentifier(field)} IS NULL`);
        continue;
      }
      const bound = this.bind(columns.get(field.toLowerCase()), value);
      if (bound === UNMATCHABLE) return undefined;
      parts.push(`${quoteIdentifier(field)} = ${bound.sql}`);
      values.push(bound.value);
    }
    return { sql: parts.join(' AND '), values };
  }

  /** Runs the statements in one transaction; returns the rows they affected. */
  private transaction(collection: string, statements: (columns: Map<string, Column>) => { sql: string; values: unknown[] }[]): Promise<number> {
    return this.using(async (connection) => {
      const columns = await this.columns(connection, collection);
      const planned = statements(columns);
      if (planned.length === 0) return 0;
      await connection.beginTransaction();
      try {
        let affected = 0;
        for (const statement of planned) {
          const [result] = await this.run(connection, statement.sql, statement.values);
          affected += (result as mysql.ResultSetHeader).affectedRows;
        }
        await connection.commit();
        return affected;
      } catch (error) {
        await connection.rollback().catch(() => undefined);
        throw error;
      }
    });
  }

  async mask({ collection, rows }: CollectionUpdate): Promise<number> {
    if (rows.length === 0) return 0;
    return this.transaction(collection, (columns) =>
      rows.flatMap(({ key, values }) => {
        const entries = Object.entries(values);
        if (entries.length === 0) return []; // nothing to write in this row
        const where = this.matchKey(columns, key);
        if (!where) return [];
        const assignments = entries.map(([column, value]) => {
          const bound = this.bind(columns.get(column.toLowerCase()), value);
          // A value the column cannot hold is the server's to refuse (strict mode), as written.
          return bound === UNMATCHABLE ? { sql: `${quoteIdentifier(column)} = ?`, value } : { sql: `${quoteIdentifier(column)} = ${bound.sql}`, value: bound.value };
        });
        return [{ sql: `UPDATE ${quoteIdentifier(collection)} SET ${assignments.map((entry) => entry.sql).join(', ')} WHERE ${where.sql}`, values: [...assignments.map((entry) => entry.value), ...where.values] }];
      }),
    );
  }

  async deleteRows({ collection, keys }: CollectionDelete): Promise<number> {
    if (keys.length === 0) return 0;
    return this.transaction(collection, (columns) =>
      keys.flatMap((key) => {
        const where = this.matchKey(columns, key);
        return where ? [{ sql: `DELETE FROM ${quoteIdentifier(collection)} WHERE ${where.sql}`, values: where.values }] : [];
      }),
    );
  }

  async test(): Promise<void> {
    await this.using((connection) => this.run(connection, 'SELECT 1', []));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pool.end().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    this.destroySockets();
  }

  private destroySockets(): void {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  destroy(): void {
    this.destroySockets();
    // Fails the operations still waiting for a connection; nothing waits for this.
    this.pool.end().catch(() => undefined);
  }

  /** Sockets open now: for tests that check a connector leaves none behind. */
  get openSockets(): number {
    return this.sockets.size;
  }
}
