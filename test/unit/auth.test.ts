/** Credentials without servers: hashes, comparisons, scopes and roles. */
import { describe, expect, it } from 'vitest';
import { ALL_ROLES, ALL_SCOPES, isScope, missingScopes, ROLES, scopesOfRoles } from '../../src/auth/scopes.js';
import { constantTimeEqual, hashSecret, randomCredential, tokenHash, verifySecret } from '../../src/auth/secrets.js';

describe('secret hashes', () => {
  it('verify the secret they were made from and nothing else, with a salt of their own', async () => {
    const stored = await hashSecret('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifySecret('correct horse battery staple', stored)).toBe(true);
    expect(await verifySecret('correct horse battery staplf', stored)).toBe(false);
    expect(await verifySecret('', stored)).toBe(false);
    expect(await hashSecret('correct horse battery staple')).not.toBe(stored);
  });

  it('refuse malformed or tampered stored hashes instead of throwing', async () => {
    const stored = await hashSecret('secret');
    const parts = stored.split('$');
    for (const bad of ['', 'plain', 'scrypt$1$2$3', parts.with(1, '40').join('$'), parts.with(2, '0').join('$'), parts.with(5, 'AAAA').join('$'), `bcrypt$${parts.slice(1).join('$')}`]) {
      expect(await verifySecret('secret', bad), bad).toBe(false);
    }
  });
});

describe('credentials and comparisons', () => {
  it('are random, 256 bits, and hashed for storage', () => {
    const a = randomCredential('dsr_at');
    expect(a).toMatch(/^dsr_at_[A-Za-z0-9_-]{43}$/);
    expect(randomCredential('dsr_at')).not.toBe(a);
    expect(tokenHash(a)).toHaveLength(32);
    expect(tokenHash(a).equals(tokenHash(a))).toBe(true);
  });

  it('compare equal strings as equal, whatever their lengths otherwise', () => {
    expect(constantTimeEqual('key', 'key')).toBe(true);
    expect(constantTimeEqual('key', 'kez')).toBe(false);
    expect(constantTimeEqual('key', 'key-longer')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('scopes and roles', () => {
  it('give the owner everything, and every other role less', () => {
    expect(scopesOfRoles(['owner'])).toEqual(ALL_SCOPES);
    for (const role of ALL_ROLES.filter((name) => name !== 'owner')) {
      expect(scopesOfRoles([role]).length, role).toBeLessThan(ALL_SCOPES.length);
      for (const scope of ROLES[role]) expect(isScope(scope), `${role}: ${scope}`).toBe(true);
    }
  });

  it('keep personal data and administration away from viewers and respondents', () => {
    for (const role of ['viewer', 'respondent'] as const) {
      const scopes = scopesOfRoles([role]);
      for (const scope of ['privacy-request:read-identity', 'privacy-request:download', 'codec:decode', 'user:write', 'client:write', 'connection:write'] as const) {
        expect(scopes, role).not.toContain(scope);
      }
    }
    expect(scopesOfRoles(['respondent'])).toEqual(['privacy-request:read', 'privacy-request:manual-input']);
  });

  it('combine roles, ignore unknown ones, and say what a caller lacks', () => {
    expect(scopesOfRoles(['viewer', 'respondent'])).toEqual(expect.arrayContaining(['privacy-request:read', 'privacy-request:manual-input', 'policy:read']));
    expect(scopesOfRoles(['admin', '__proto__'])).toEqual([]);
    expect(isScope('__proto__')).toBe(false);
    expect(missingScopes(['client:write', 'user:read'], new Set(['user:read']))).toEqual(['client:write']);
  });
});
