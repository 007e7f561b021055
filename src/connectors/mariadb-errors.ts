/**
 * MariaDB/MySQL failures in the categories of src/domain/errors.ts, as classifyPostgresError does
 * for Postgres, and the connection test's reason for them in dsrflow's own words.
 *
 * The server's error number decides (mysql2 puts it in `errno`, its symbolic name in `code`);
 * network and driver failures carry only a `code`.
 */
import type { ErrorCategory } from '../domain/errors.js';
import { ConnectorError } from './errors.js';

/** Error numbers of the server (https://mariadb.com/kb/en/mariadb-error-codes/). */
const AUTHENTICATION = new Set([1045, 1698, 1251, 1275, 2049, 1524]); // bad password, no password, auth protocol, old passwords, plugin not loaded
const PERMISSION = new Set([1044, 1142, 1143, 1227, 1370, 1036, 1290]); // database, table, column, privilege, routine, read-only table, --read-only
const NOT_FOUND = new Set([1049, 1146, 1054, 1109, 1051]); // database, table, column, unknown table, unknown table (drop)
const TIMEOUT = new Set([1969, 3024, 1205, 1317, 1159, 1161]); // max_statement_time, max_execution_time, lock wait, interrupted, net read/write timeouts
const RATE_LIMITED = new Set([1040, 1203, 1226, 1135]); // too many connections, user connections, user resource limit, can't create thread
const BAD_DATA = new Set([1062, 1048, 1406, 1264, 1265, 1292, 1366, 1367, 1411, 1452, 1451, 1216, 1217, 1064, 1149, 1690, 3819, 4025, 1221, 1241, 1136]);

/** mysql2's own codes for what happens around the protocol. */
const TIMEOUT_CODES = new Set(['PROTOCOL_SEQUENCE_TIMEOUT', 'ETIMEDOUT']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
  fatal?: unknown;
}

function categoryOf(error: DriverError): ErrorCategory {
  const errno = typeof error.errno === 'number' ? error.errno : undefined;
  const code = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  if (errno !== undefined && typeof error.sqlState === 'string') {
    if (AUTHENTICATION.has(errno)) return 'authentication';
    if (PERMISSION.has(errno)) return 'permission';
    if (NOT_FOUND.has(errno)) return 'not_found';
    if (TIMEOUT.has(errno)) return 'timeout';
    if (RATE_LIMITED.has(errno)) return 'rate_limited';
    if (BAD_DATA.has(errno) || error.sqlState.startsWith('22') || error.sqlState.startsWith('23')) return 'bad_data';
    return 'server'; // deadlocks, shutdowns, resources: retried
  }
  if (code && TIMEOUT_CODES.has(code)) return 'timeout';
  if (message === 'Queue limit reached.') return 'rate_limited';
  if (code && /CERT|SSL|TLS|HANDSHAKE/.test(code)) return 'authentication';
  return 'server'; // refused, reset, lost, pool closed
}

/**
 * The server's message without the values it quotes (`Duplicate entry 'jane@…' for key`,
 * `Incorrect integer value: '…' for column`): those may be personal data, and stay out of logs
 * and workflow history. No control characters, and no novel.
 */
export function sanitizeMariadbMessage(text: string): string {
  return text
    .replace(/(entry|value:?|value for|string value:?) '(?:[^'\\]|\\.)*'/gi, "$1 '…'")
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .slice(0, 500);
}

export function classifyMariadbError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const driver = (typeof error === 'object' && error !== null ? error : {}) as DriverError;
  const text = typeof driver.message === 'string' ? driver.message : String(error);
  return new ConnectorError(categoryOf(driver), sanitizeMariadbMessage(text), { cause: error });
}

/** The category and dsrflow's own words for a failed connection test (never the server's text). */
export function explainMariadbFailure(error: unknown, address: string, database: string | undefined): { category: ErrorCategory; msg: string } {
  const classified = classifyMariadbError(error);
  // Raised by dsrflow itself (the allow-list, incomplete secrets): its words already.
  if (classified.cause === undefined) return { category: classified.category, msg: classified.message };
  const { code, errno } = classified.cause as DriverError;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return { category: 'not_found', msg: `No database server answers at the configured address ${address} (${code})` };
  if (code === 'ETIMEDOUT') return { category: 'timeout', msg: `No answer from ${address} within the connect timeout` };
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'PROTOCOL_CONNECTION_LOST') return { category: classified.category, msg: `The server at ${address} closed the connection` };
  if (typeof errno === 'number') {
    const reason = (() => {
      if (errno === 1045 || errno === 1698) return `The server at ${address} refused the username or password`;
      if (errno === 1049) return database ? `The database "${database}" does not exist on the server at ${address}` : `The database does not exist on the server at ${address}`;
      if (errno === 1044) return `The user may not use the database on the server at ${address}`;
      if (PERMISSION.has(errno)) return `The user lacks a privilege the test needs on the server at ${address}`;
      if (RATE_LIMITED.has(errno)) return `The server at ${address} has too many connections`;
      if (TIMEOUT.has(errno)) return `The server at ${address} interrupted the query (a statement timeout)`;
      if (AUTHENTICATION.has(errno)) return `The server at ${address} refused the login`;
      return `The server at ${address} refused the test`;
    })();
    return { category: classified.category, msg: `${reason} (error ${errno})` };
  }
  if (classified.category === 'authentication' && typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) return { category: 'authentication', msg: `TLS with ${address} failed (${code})` };
  return { category: classified.category, msg: `The connection to ${address} failed (${classified.category})` };
}
