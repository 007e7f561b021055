import { describe, expect, it } from 'vitest';
import { identitySchema } from '../../src/domain/privacy-requests.js';

describe('identities', () => {
  it('normalizes email and phone number and keeps custom identities as text', () => {
    expect(identitySchema.parse({ email: ' Customer-1@Example.com ', phone_number: '+1 (212) 555-0100', loyalty_id: 'CH-1', account: 42, user: { label: 'User', value: 'u-1' } })).toEqual({
      email: 'customer-1@example.com',
      phone_number: '+12125550100',
      loyalty_id: 'CH-1',
      account: '42',
      user: 'u-1',
    });
  });

  it.each([
    [{}, 'give at least one identity'],
    [{ email: 'nope' }, 'must be an email address'],
    [{ phone_number: '555' }, 'international format'],
    [{ loyalty_id: '' }, 'must not be empty'],
    [{ 'bad key': 'x' }, 'identity names'],
  ])('refuses %j', (identity, message) => {
    const result = identitySchema.safeParse(identity);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error!.issues)).toContain(message);
  });
});
