import { describe, expect, it } from 'vitest';
import { classifyPostgresError, ConnectorError } from '../../src/connectors/errors.js';

describe('connector error classification', () => {
  it.each([
    ['28P01', 'password authentication failed for user "shop"', 'authentication', false],
    ['42501', 'permission denied for table customer', 'permission', false],
    ['42P01', 'relation "public.login" does not exist', 'not_found', false],
    ['3D000', 'database "shop" does not exist', 'not_found', false],
    ['57014', 'canceling statement due to statement timeout', 'timeout', true],
    ['53300', 'sorry, too many clients already', 'rate_limited', true],
    ['23502', 'null value in column "name" of relation "customer" violates not-null constraint', 'bad_data', false],
    ['57P01', 'terminating connection due to administrator command', 'server', true],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5499', 'server', true],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'authentication', false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number', 'authentication', false],
  ])('%s is %s (retried: %s)', (code, message, category, retryable) => {
    const error = classifyPostgresError(Object.assign(new Error(message), { code }));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.category).toBe(category);
    expect(error.retryable).toBe(retryable);
  });

  it('keeps the offending value, which may be personal data, out of the message', () => {
    const error = classifyPostgresError(Object.assign(new Error('invalid input syntax for type integer: "jane@example.com"'), { code: '22P02' }));
    expect(error.message).toBe('invalid input syntax for type integer');
    expect(error.category).toBe('bad_data');
  });

  it('keeps control characters and novels that a server may send out of the message', () => {
    const error = classifyPostgresError(Object.assign(new Error(`bad\u001b[31m\r\nnews ${'x'.repeat(2000)}`), { code: '08P01' }));
    expect(error.message).toMatch(/^bad \[31m news x+$/);
    expect(error.message).toHaveLength(500);
  });
});
