/**
 * Postgres values as stored (src/connectors/values.ts): parsers from the server's text format,
 * and serializers that bind those representations back (keys of an erasure, masked values).
 *
 * postgres.js's defaults turn `date`, `timestamp` and `timestamptz` into JavaScript dates: a
 * `date` becomes midnight UTC, a `timestamp` is read in the worker's own zone (`TZ` moves it),
 * microseconds are lost; `int8` and `bytea` come back as numbers and Buffers, which JSON cannot
 * carry exactly. These replace them. Arrays of these types use the same parsers
 * (postgres-arrays.ts registers arrays from the element's parser).
 *
 * The connection asks for `DateStyle=ISO` (a database or role may default to another style,
 * which would change the text parsed here); the session's `TimeZone` changes nothing, since
 * `timestamptz` is read with the offset the server prints and given in UTC.
 */
import { base64, bytesOf, formatDate, formatTimestamp, formatUtc, isoYear, parseIsoTimestamp, shiftSeconds, type Timestamp } from './values.js';

export const OID = { bool: 16, bytea: 17, int8: 20, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;

const DATE = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/;
const TIMESTAMP = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** Postgres prints 1 BC as `0001 … BC`; ISO 8601 counts it as year 0. */
const astronomical = (year: string, bc: string | undefined) => (bc ? 1 - Number(year) : Number(year));

/** `2024-01-02`, `0044-03-15 BC` → `-0043-03-15`; `infinity` and anything unexpected as the server wrote it. */
export function parseDate(text: string): string {
  const match = DATE.exec(text);
  if (!match) return text;
  const [, year, month, day, bc] = match;
  return formatDate({ year: astronomical(year!, bc), month: Number(month), day: Number(day) });
}

function parseTimestampText(text: string): { time: Timestamp; offsetSeconds: number | undefined } | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, digits, sign, oh, om, os, bc] = match;
  const time = { year: astronomical(year!, bc), month: Number(month), day: Number(day), hour: Number(hour), minute: Number(minute), second: Number(second), fraction: digits ?? '' };
  const offsetSeconds = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) : undefined;
  return { time, offsetSeconds };
}

/** `timestamp`: the wall clock as stored, `T` between date and time, no zone. */
export function parseTimestamp(text: string): string {
  const parsed = parseTimestampText(text);
  return parsed ? formatTimestamp(parsed.time) : text;
}

/** `timestamptz`: the instant in UTC with its offset, whatever the session's TimeZone printed. */
export function parseTimestamptz(text: string): string {
  const parsed = parseTimestampText(text);
  if (!parsed) return text;
  return formatUtc(shiftSeconds(parsed.time, -(parsed.offsetSeconds ?? 0)));
}

/** `\x0102…` → base64. */
export const parseBytea = (text: string): string => base64(Buffer.from(text.slice(2), 'hex'));

/** ISO 8601 years 0 and below back into Postgres's `… BC`. */
function toPostgresDateText(text: string): string {
  const match = /^([+-]?\d{4,})(-.*)$/.exec(text);
  if (!match) return text;
  const year = Number(match[1]);
  if (year > 0) return match[1]!.startsWith('+') ? match[1]!.slice(1) + match[2] : text;
  return `${isoYear(1 - year)}${match[2]} BC`;
}

/** A date to bind: the text access returned (or a person wrote), or a JavaScript date. */
export function serializeDate(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return toPostgresDateText(String(value).trim());
}

/** A timestamp (with or without zone) to bind: ISO text as is (`T`, offsets and all), BC years rewritten. */
export function serializeTimestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  const text = String(value).trim();
  const parsed = parseIsoTimestamp(text);
  if (!parsed || parsed.time.year > 0) return text.replace(/^\+/, '');
  return toPostgresDateText(text);
}

export const serializeBytea = (value: unknown): string => `\\x${bytesOf(value).toString('hex')}`;

/** For postgres.js's `types` option (names are only labels; user types replace its defaults for these OIDs). */
export const postgresValueTypes = {
  int8: { to: OID.int8, from: [OID.int8], serialize: (value: unknown) => String(value), parse: (text: string) => text },
  storedDate: { to: OID.date, from: [OID.date], serialize: serializeDate, parse: parseDate },
  storedTimestamp: { to: OID.timestamp, from: [OID.timestamp], serialize: serializeTimestamp, parse: parseTimestamp },
  storedTimestamptz: { to: OID.timestamptz, from: [OID.timestamptz], serialize: serializeTimestamp, parse: parseTimestamptz },
  storedBytea: { to: OID.bytea, from: [OID.bytea], serialize: serializeBytea, parse: parseBytea },
};
