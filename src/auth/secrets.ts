/**
 * Hashing and comparing credentials.
 *
 * - Client secrets and passwords: scrypt with a per-secret random salt, stored as
 *   `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url), so the cost can rise later and old
 *   hashes still verify. Verification compares in constant time.
 * - Bearer tokens: 256 random bits, stored as their SHA-256 (a slow hash adds nothing to a value
 *   that cannot be guessed, and the lookup stays an index probe).
 */
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (secret: string, salt: Buffer, length: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCallback(secret, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));

/** 2^15 × 8 × 128 bytes = 32 MiB and some 60 ms per hash on one core: slow for a guesser, fine for a login. */
const DEFAULT_COST = { log2N: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

export async function hashSecret(secret: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, KEY_LENGTH, { N: 2 ** cost.log2N, r: cost.r, p: cost.p, maxmem: 256 * 2 ** cost.log2N * cost.r });
  return ['scrypt', cost.log2N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** A hash of nothing in particular, verified against when there is no stored hash, so both paths cost the same. */
let decoy: Promise<string> | undefined;
export const decoyHash = () => (decoy ??= hashSecret(randomBytes(16).toString('hex')));

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every(Number.isSafeInteger) || log2N < 10 || log2N > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await scrypt(secret, salt, KEY_LENGTH, { N: 2 ** log2N, r, p, maxmem: 256 * 2 ** log2N * r });
  return timingSafeEqual(actual, expected);
}

/** A random credential: `<prefix>_<43 base64url characters>` (256 bits). */
export const randomCredential = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;

export const tokenHash = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Compares two strings in time that depends only on their lengths' hash, not their contents. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}
