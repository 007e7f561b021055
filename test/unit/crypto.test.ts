import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, resolveEncryptionKey } from '../../src/crypto.js';

describe('encryption at rest', () => {
  const key = randomBytes(32);

  it('round-trips and never shows the plaintext', () => {
    const sealed = encrypt(key, 'customer-1@example.com', 'identity:pri_1:email');
    expect(sealed.toString('latin1')).not.toContain('customer-1');
    expect(decrypt(key, sealed, 'identity:pri_1:email')).toBe('customer-1@example.com');
  });

  it('refuses a ciphertext moved to another row, or another key', () => {
    const sealed = encrypt(key, 'secret', 'identity:pri_1:email');
    expect(() => decrypt(key, sealed, 'identity:pri_2:email')).toThrow();
    expect(() => decrypt(randomBytes(32), sealed, 'identity:pri_1:email')).toThrow();
  });

  it('generates a development key once and reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dsrflow-key-'));
    const first = await resolveEncryptionKey(undefined, dir);
    const second = await resolveEncryptionKey(undefined, dir);
    expect(first.equals(second)).toBe(true);
    expect(Buffer.from((await readFile(join(dir, 'encryption.key'), 'utf8')).trim(), 'base64').equals(first)).toBe(true);
    expect((await resolveEncryptionKey(key, dir)).equals(key)).toBe(true);
  });
});
