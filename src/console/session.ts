/**
 * Console sessions and CSRF (docs/decisions.md, "The console").
 *
 * A session is a user's access token, the same opaque token `POST /api/v1/login` gives, kept in a
 * cookie the page's scripts cannot read (HttpOnly), that no other site's page sends
 * (SameSite=Strict), sent only over https when the console is served over https (Secure), and only
 * to /console. It ends when the token expires (DSRFLOW_TOKEN_TTL), when the user signs out (the
 * token is revoked) or when the user is disabled, changes password or loses the role: every page
 * checks the token in Postgres as every API call does.
 *
 * Every form that changes something carries a CSRF token derived from the session token; a POST
 * without it, or from a page of another origin (Origin, Sec-Fetch-Site), is refused with 403 before
 * its body is acted on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { isHttps } from '../api/https.js';

export const SESSION_COOKIE = 'dsrflow_session';
export const CSRF_FIELD = '_csrf';


export function sessionToken(c: Context): string | undefined {
  const value = getCookie(c, SESSION_COOKIE);
  return value && /^dsr_at_[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

export function startSession(c: Context, token: string, expiresInSeconds: number) {
  setCookie(c, SESSION_COOKIE, token, { path: '/console', httpOnly: true, sameSite: 'Strict', secure: isHttps(c), maxAge: expiresInSeconds });
}

export function endSession(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: '/console', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
}

/** The CSRF token of a session: knowing it means knowing the session token, which only the cookie holds. */
export const csrfTokenOf = (token: string) => createHash('sha256').update('dsrflow console csrf\0').update(token).digest('base64url');

export function csrfMatches(token: string, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const expected = Buffer.from(csrfTokenOf(token));
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Whether a POST comes from a page of this console: a browser names the page's origin in `Origin`
 * (and `Sec-Fetch-Site`) on every POST; a request from another site's page is refused even when
 * the browser sent the cookie.
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true; // not a browser's form post (curl, tests): the CSRF token still decides
  const host = c.req.header('host');
  if (!host || origin === 'null') return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
