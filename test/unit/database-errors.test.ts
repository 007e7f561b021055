/** Which errors mean that dsrflow's own Postgres is unreachable for now (a step then waits for it). */
import { expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/client.js';

const error = (code: string, message = 'x') => Object.assign(new Error(message), { code });

it('recognises lost connections, refused connections and a server that is shutting down or starting', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', '08006', '08001', '57P01', '57P03', '53300']) {
    expect(isDatabaseUnavailable(error(code)), code).toBe(true);
  }
  expect(isDatabaseUnavailable(error('55000', 'database "dsrflow" is not currently accepting connections'))).toBe(true);
});

it('leaves every other failure to the step: wrong statements, constraints, timeouts of a statement, non-errors', () => {
  for (const code of ['42P01', '23505', '57014', '40001', '22P02']) expect(isDatabaseUnavailable(error(code)), code).toBe(false);
  expect(isDatabaseUnavailable(error('55000', 'object not in prerequisite state'))).toBe(false);
  expect(isDatabaseUnavailable(new Error('no code'))).toBe(false);
  expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  expect(isDatabaseUnavailable(null)).toBe(false);
});
