/**
 * Array types for a target store, registered by the connector itself.
 *
 * postgres.js fetches the server's array types when each connection opens (`fetch_types`), in a
 * promise nobody handles: when that query fails (a `statement_timeout` in the connection URL, a
 * connection lost at that moment), the rejection ends the whole process. The connector turns
 * `fetch_types` off and runs the same query here, where a failure is the operation's error.
 *
 * What it registers: a parser for each array type (so `text[]` or `int8[]` columns come back as
 * arrays of their element's values) and a serializer (so `= any($1)` binds a JavaScript array
 * whatever the key column's type, enums and domains included).
 */
import type postgres from 'postgres';
import { ConnectorError } from './errors.js';

type Parse = (text: string) => unknown;
type Serialize = (value: unknown) => unknown;

export async function registerArrayTypes(sql: postgres.Sql<Record<string, unknown>>): Promise<void> {
  const types = await sql<{ oid: number | null; typarray: number }[]>`
    select b.oid, b.typarray
    from pg_catalog.pg_type a
    left join pg_catalog.pg_type b on b.oid = a.typelem
    where a.typcategory = 'A'
    group by b.oid, b.typarray
    order by b.oid`;
  // Under a tiny statement_timeout the answer can arrive cut short (rows missing, as holes in the
  // result, which `some` and `every` skip): treat it as the timeout it is, rather than reading past its end.
  if (Array.from(types).some((row) => row === undefined || row === null)) {
    throw new ConnectorError('timeout', "The data store's answer listing its array types was cut short (a statement timeout?)");
  }
  const parsers = sql.options.parsers as Record<number, Parse>;
  const serializers = sql.options.serializers as Record<number, Serialize>;
  for (const { oid, typarray } of types) {
    if (oid === null || (parsers[typarray] && serializers[typarray])) continue;
    // box is the one built-in type whose arrays separate elements with `;`.
    const delimiter = typarray === 1020 ? ';' : ',';
    const element = parsers[oid];
    parsers[typarray] = (text) => parseArray(text, element, delimiter);
    // A JSON array inside a json[] is one element, not a dimension of the Postgres array.
    const json = oid === 114 || oid === 3802;
    serializers[typarray] = (value) => (Array.isArray(value) ? serializeArray(value, serializers[oid], delimiter, !json) : value);
  }
}

/** `{1,2,NULL}`, `{"a \"b\"",c}`, `{{1,2},{3,4}}`, `[0:1]={1,2}` → nested arrays of parsed elements. */
export function parseArray(text: string, parse: Parse | undefined, delimiter = ','): unknown[] {
  let at = text.startsWith('[') ? text.indexOf('=') + 1 : 0; // explicit bounds carry no values
  const fail = (): never => {
    throw new Error(`Malformed array literal at character ${at}`);
  };
  const element = (raw: string, quoted: boolean) => (!quoted && raw.toUpperCase() === 'NULL' ? null : parse ? parse(raw) : raw);
  const list = (): unknown[] => {
    if (text[at] !== '{') fail();
    at++;
    const values: unknown[] = [];
    if (text[at] === '}') {
      at++;
      return values;
    }
    for (;;) {
      if (text[at] === '{') {
        values.push(list());
      } else if (text[at] === '"') {
        at++;
        let value = '';
        while (at < text.length && text[at] !== '"') {
          if (text[at] === '\\') at++;
          value += text[at++] ?? '';
        }
        if (text[at] !== '"') fail();
        at++;
        values.push(element(value, true));
      } else {
        const start = at;
        while (at < text.length && text[at] !== delimiter && text[at] !== '}') at++;
        values.push(element(text.slice(start, at).trim(), false));
      }
      if (text[at] === delimiter) at++;
      else if (text[at] === '}') {
        at++;
        return values;
      } else fail();
    }
  };
  const values = list();
  if (at !== text.length) fail();
  return values;
}

/**
 * The literal Postgres reads back as the same array: every element quoted, null as NULL. With
 * `nested` false (json[] and jsonb[]), an element that is a JavaScript array is one value.
 */
export function serializeArray(values: readonly unknown[], serialize: Serialize | undefined, delimiter = ',', nested = true): string {
  const item = (value: unknown): string => {
    if (value === null || value === undefined) return 'NULL';
    if (nested && Array.isArray(value)) return serializeArray(value, serialize, delimiter);
    const text = String(serialize ? serialize(value) : value);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  };
  return `{${values.map(item).join(delimiter)}}`;
}
