/**
 * Values as stored: the one representation both SQL connectors return (docs/decisions.md,
 * "Values as stored"), whatever the time zone of the worker or of the database session.
 *
 * - DATE: `YYYY-MM-DD`
 * - timestamp without time zone (Postgres `timestamp`, MariaDB `DATETIME`):
 *   `YYYY-MM-DDTHH:MM:SS[.ffffff]`, no zone added
 * - timestamp with time zone (Postgres `timestamptz`, MariaDB `TIMESTAMP`): the instant, in UTC,
 *   with its offset: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`
 * - fractional seconds: the digits stored, trailing zeros removed (none when zero)
 * - years outside 0000–9999 (Postgres): ISO 8601's expanded form, `+10000-01-01`, `-0001-01-01`
 *   (1 BC is year 0000, 2 BC is -0001)
 *
 * Everything here is plain string arithmetic: no `Date`, so neither `TZ` nor the range of a
 * JavaScript date can change a value.
 */

const two = (n: number) => String(n).padStart(2, '0');

/** ISO 8601's year: four digits from 0000 to 9999, else a sign and at least four digits. */
export function isoYear(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return (year < 0 ? '-' : '+') + String(Math.abs(year)).padStart(4, '0');
}

/** `.5` for `500000`, nothing for `000000` or no digits. */
export function fraction(digits: string | undefined): string {
  const trimmed = (digits ?? '').replace(/0+$/, '');
  return trimmed ? `.${trimmed}` : '';
}

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical years: 0 is 1 BC). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date of a day count from {@link daysFromCivil}. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export interface Timestamp {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The fractional digits as written (possibly empty). */
  fraction: string;
}

/** The same wall-clock moment moved by a number of seconds (for offsets: whole seconds only). */
export function shiftSeconds(time: Timestamp, seconds: number): Timestamp {
  const total = time.hour * 3600 + time.minute * 60 + time.second + seconds;
  const dayShift = Math.floor(total / 86400);
  const rest = total - dayShift * 86400;
  const date = civilFromDays(daysFromCivil(time.year, time.month, time.day) + dayShift);
  return { ...date, hour: Math.floor(rest / 3600), minute: Math.floor((rest % 3600) / 60), second: rest % 60, fraction: time.fraction };
}

export function formatDate({ year, month, day }: Pick<Timestamp, 'year' | 'month' | 'day'>): string {
  return `${isoYear(year)}-${two(month)}-${two(day)}`;
}

/** `YYYY-MM-DDTHH:MM:SS[.f]`, without a zone. */
export function formatTimestamp(time: Timestamp): string {
  return `${formatDate(time)}T${two(time.hour)}:${two(time.minute)}:${two(time.second)}${fraction(time.fraction)}`;
}

/** `YYYY-MM-DDTHH:MM:SS[.f]+00:00`: an instant given as a UTC wall clock. */
export function formatUtc(time: Timestamp): string {
  return `${formatTimestamp(time)}+00:00`;
}

/**
 * A timestamp as dsrflow returns it (or as a person writes one: `T` or a space, an optional
 * offset `Z`, `±HH`, `±HH:MM`, `±HHMM`, `±HH:MM:SS`), for binding it back. Undefined for any
 * other text.
 */
export function parseIsoTimestamp(text: string): { time: Timestamp; offsetSeconds: number | undefined } | undefined {
  const match = /^([+-]?\d{4,})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?$/.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, f, zulu, sign, oh, om, os] = match;
  const time = { year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi), second: Number(s), fraction: f ?? '' };
  const offsetSeconds = zulu ? 0 : sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) : undefined;
  return { time, offsetSeconds };
}

/** Buffer (or any bytes) as base64. */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** What a value written to a binary column means: bytes as they are, text as base64 (the form access returns). */
export function bytesOf(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(String(value), 'base64');
}

/**
 * Where a row holds a NUL character (U+0000), in a string or a key, as a path (`name`,
 * `tags[2]`, `address.city`): Postgres cannot store one in jsonb, so such a row cannot be kept
 * as found. Undefined when it holds none.
 */
export function nulCharacterPath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '(value)' : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulCharacterPath(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    for (const [key, item] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return here;
      const found = nulCharacterPath(item, here);
      if (found) return found;
    }
  }
  return undefined;
}
