/**
 * Signed download links for access packages: HMAC-SHA256 over the request id and the link's
 * expiry, with a key derived from DSRFLOW_ENCRYPTION_KEY (never the same bytes as the at-rest or
 * payload keys). A link made for one request does not open another's package, and changing the
 * expiry breaks the signature. Signatures are compared in constant time.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export function linkKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'dsrflow access package links', 32));
}

const mac = (key: Buffer, privacyRequestId: string, expires: number) => createHmac('sha256', key).update(`access-package\n${privacyRequestId}\n${expires}`, 'utf8').digest();

/** `expires` is a Unix time in seconds. The signature is base64url. */
export function signDownload(key: Buffer, privacyRequestId: string, expires: number): string {
  return mac(key, privacyRequestId, expires).toString('base64url');
}

export function verifyDownload(key: Buffer, privacyRequestId: string, expires: number, signature: string): boolean {
  // Compared as text: base64url has several spellings of the same last bits, and only one is ours.
  const expected = Buffer.from(signDownload(key, privacyRequestId, expires), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
