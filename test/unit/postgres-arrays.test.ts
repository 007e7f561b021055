/**
 * A target's list of array types cut short by a tiny statement_timeout arrives with rows missing
 * as holes in the result: the connector reports the timeout instead of reading past the end (a
 * fresh CI machine, with its catalogs cold, met exactly this).
 */
import type postgres from 'postgres';
import { expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/errors.js';
import { registerArrayTypes } from '../../src/connectors/postgres-arrays.js';

/** Answers the array-types query with these rows, as postgres.js would hand them over. */
function answering(rows: unknown[]): postgres.Sql<Record<string, unknown>> {
  const sql = (() => Promise.resolve(rows)) as unknown as postgres.Sql<Record<string, unknown>>;
  Object.assign(sql, { options: { parsers: {}, serializers: {} } });
  return sql;
}

it('reports a list with holes as the timeout it is', async () => {
  const rows: unknown[] = [];
  rows.length = 3;
  rows[0] = { oid: 25, typarray: 1009 };
  const failure = await registerArrayTypes(answering(rows)).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConnectorError);
  expect((failure as ConnectorError).category).toBe('timeout');
});

it('registers a parser and a serializer for each array type of a whole list', async () => {
  const sql = answering([{ oid: 25, typarray: 1009 }, { oid: null, typarray: 0 }]);
  await registerArrayTypes(sql);
  const { parsers, serializers } = sql.options as unknown as { parsers: Record<number, (text: string) => unknown>; serializers: Record<number, (value: unknown) => unknown> };
  expect(parsers[1009]!('{a,"b c",NULL}')).toEqual(['a', 'b c', null]);
  expect(serializers[1009]!(['a', 'b'])).toBe('{"a","b"}');
});
