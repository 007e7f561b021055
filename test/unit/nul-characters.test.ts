/** Rows Postgres cannot keep in jsonb: where a NUL character is, in a value or a key, however deep. */
import { expect, it } from 'vitest';
import { nulCharacterPath } from '../../src/connectors/values.js';

it('names the first place a NUL character stands, and nothing for a row without one', () => {
  expect(nulCharacterPath({ id: '1', name: 'Jane Doe', tags: ['a', 'b'], address: { city: 'Lyon' }, seen: new Date(0), blob: Buffer.from([0]) })).toBeUndefined();
  expect(nulCharacterPath({ id: '1', name: 'Jane\u0000Doe' })).toBe('name');
  expect(nulCharacterPath({ tags: ['a', 'b\u0000'] })).toBe('tags[1]');
  expect(nulCharacterPath({ address: { city: 'Ly\u0000on' } })).toBe('address.city');
  expect(nulCharacterPath({ address: { ['ci\u0000ty']: 'Lyon' } })).toBe('address.ci\u0000ty');
  expect(nulCharacterPath([{ a: 1 }, { b: '\u0000' }])).toBe('[1].b');
  expect(nulCharacterPath('\u0000')).toBe('(value)');
  expect(nulCharacterPath(null)).toBeUndefined();
});
