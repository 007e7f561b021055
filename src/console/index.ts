/**
 * The privacy operations console at /console: server-rendered pages over the API
 * (docs/decisions.md, "The console"). This module holds the frame every page shares: the
 * headers, the assets, signing in and out, the session and CSRF checks; the pages are in
 * inbox.ts, request-page.ts and configuration.ts.
 */
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AuthenticationFailure, Principal } from '../auth/service.js';
import { apiCaller, refusal, type CallApi, type FetchApi } from './api-client.js';
import { ASSETS } from './assets.js';
import { configurationPages } from './configuration.js';
import { inboxPages } from './inbox.js';
import { errorPage, page, type Viewer } from './layout.js';
import { requestPages } from './request-page.js';
import { CSRF_FIELD, csrfMatches, csrfTokenOf, endSession, sameOrigin, sessionToken, startSession } from './session.js';

export interface ConsoleOptions {
  fetchApi: FetchApi;
  authenticate: (token: string) => Promise<Principal | AuthenticationFailure>;
  /** Revokes a session's token (signing out ends it on the server, not only in the browser). */
  revoke: (token: string) => Promise<void>;
  /** The Temporal Web UI, for links to a request's workflow (DSRFLOW_TEMPORAL_UI_URL). */
  temporalUiUrl?: string | undefined;
  namespace: string;
  /** The API's body limit (DSRFLOW_MAX_BODY_SIZE): dataset uploads are checked against it before they are sent. */
  maxBodyBytes?: number | undefined;
}

export type ConsoleEnv = { Variables: { viewer: Viewer; api: CallApi; token: string } };
export type ConsoleContext = Context<ConsoleEnv>;

const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A path inside the console to go back to after signing in; anything else goes to the inbox. */
const safeNext = (next: string | undefined) => (next && /^\/console(\/[A-Za-z0-9_\-./]*)?(\?[^#\s]*)?$/.test(next) && !next.includes('//') ? next : '/console');

function loginPage(c: Context, options: { next: string; error?: string; username?: string }, status: 200 | 400 | 403 | 429 = 200) {
  const body = html`<div class="login">
  <h1>Sign in to dsrflow</h1>
  <form method="post" action="/console/login">
    <input type="hidden" name="next" value="${options.next}">
    <div class="field"><label for="username">Username</label><input id="username" name="username" autocomplete="username" required maxlength="128" value="${options.username ?? ''}"></div>
    <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"></div>
    <button type="submit">Sign in</button>
  </form>
  <p class="muted">Accounts are the API's users (POST /api/v1/user). After <code>npm start</code>, the first owner's password is in the data directory (the start-up output names the file).</p>
</div>`;
  return c.html(page({ title: 'Sign in', flash: options.error ? { kind: 'error', text: options.error } : undefined, body }), status);
}

export function consoleRoutes(options: ConsoleOptions) {
  const app = new Hono<ConsoleEnv>();

  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('content-security-policy', CONSOLE_CSP);
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
    c.res.headers.set('referrer-policy', 'same-origin');
  });

  for (const asset of Object.values(ASSETS)) {
    app.get(asset.path.slice('/console'.length), (c) => c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' }));
  }

  app.get('/login', (c) =>
    loginPage(c, { next: safeNext(c.req.query('next')), ...(c.req.query('expired') ? { error: 'Your session ended: sign in again.' } : {}) }),
  );

  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return c.html(errorPage(undefined, 403, 'This form was sent from another site; sign in from the console itself.'), 403);
    const form = await c.req.parseBody();
    const username = typeof form.username === 'string' ? form.username : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    if (!username || !password) return loginPage(c, { next, username, error: 'Give a username and a password.' }, 400);
    const answer = await apiCaller(c, options.fetchApi, undefined)<{ access_token: string; expires_in: number }>('POST', '/login', { json: { username, password } });
    if (answer.status === 429) return loginPage(c, { next, username, error: 'Too many attempts: wait a minute and try again.' }, 429);
    if (!answer.ok) {
      const reason = (answer.body as { error_description?: string }).error_description ?? refusal(answer);
      return loginPage(c, { next, username, error: /locked|disabled/.test(reason) ? `Sign-in refused: ${reason}.` : 'Unknown user or wrong password.' }, 400);
    }
    startSession(c, answer.body.access_token, answer.body.expires_in);
    return c.redirect(next, 303);
  });

  // Everything below needs a session.
  app.use('*', async (c, next) => {
    const token = sessionToken(c);
    const principal = token ? await options.authenticate(token) : 'missing';
    if (typeof principal === 'string' || principal.kind !== 'user') {
      if (token) endSession(c);
      if (c.req.method !== 'GET') return c.html(errorPage(undefined, 403, 'Your session ended: sign in again.'), 403);
      const wanted = new URL(c.req.url);
      const notice = token ? '&expired=1' : '';
      return c.redirect(`/console/login?next=${encodeURIComponent(wanted.pathname + wanted.search)}${notice}`, 303);
    }
    const viewer: Viewer = { principal, csrf: csrfTokenOf(token!) };
    c.set('viewer', viewer);
    c.set('token', token!);
    c.set('api', apiCaller(c, options.fetchApi, token));
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !csrfMatches(token!, form[CSRF_FIELD])) {
        return c.html(errorPage(viewer, 403, 'This form did not come from this console (its CSRF token is missing or wrong, or it was sent from another site); nothing was changed.'), 403);
      }
    }
    await next();
  });

  app.post('/logout', async (c) => {
    await options.revoke(c.var.token);
    endSession(c);
    return c.redirect('/console/login', 303);
  });

  app.route('/', inboxPages());
  app.route('/', requestPages({ temporalUiUrl: options.temporalUiUrl, namespace: options.namespace }));
  app.route('/', configurationPages({ maxBodyBytes: options.maxBodyBytes }));

  app.notFound((c) => c.html(errorPage(c.get('viewer'), 404, `Nothing at ${c.req.path}.`), 404));
  return app;
}
