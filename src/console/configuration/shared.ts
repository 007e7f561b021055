/**
 * What the configuration pages share: reading every page of an API listing, refusing a viewer
 * without the read scope, and the small pieces of markup (yes/no badges, scrollable tables).
 */
import { html } from 'hono/html';
import type { Scope } from '../../auth/scopes.js';
import { refusal, type ApiAnswer, type CallApi } from '../api-client.js';
import type { ConsoleContext } from '../index.js';
import { can, errorPage, page, type Html } from '../layout.js';

/** The configuration listings answer at most 50 items a page (src/api/schemas.ts, pageQuery). */
export const API_PAGE_SIZE = 50;
/** How many items a configuration page lists at most; it says so when there are more. */
export const LIST_LIMIT = 500;

/** Keys and ids as the API makes them (fides keys, `whk_…`): anything else is not looked up. */
export const KEY = /^[A-Za-z0-9_.:<>-]{1,200}$/;

export type Listing<T> = { ok: true; items: T[]; total: number } | { ok: false; answer: ApiAnswer };

interface PageBody<T> {
  items: T[];
  total: number;
  pages: number;
}

/** Every item of a paged API listing, up to `limit`: the first page, then the others together. */
export async function listAll<T>(api: CallApi, path: string, limit = LIST_LIMIT): Promise<Listing<T>> {
  const first = await api<PageBody<T>>('GET', path, { query: { page: 1, size: API_PAGE_SIZE } });
  if (!first.ok) return { ok: false, answer: first };
  const last = Math.min(first.body.pages, Math.ceil(limit / API_PAGE_SIZE));
  const rest = await Promise.all(Array.from({ length: Math.max(0, last - 1) }, (_, index) => api<PageBody<T>>('GET', path, { query: { page: index + 2, size: API_PAGE_SIZE } })));
  const failed = rest.find((answer) => !answer.ok);
  if (failed) return { ok: false, answer: failed };
  const items = [first, ...rest].flatMap((answer) => answer.body.items).slice(0, limit);
  return { ok: true, items, total: first.body.total };
}

/** Runs `task` over the items, at most `width` at a time, keeping their order. */
export async function mapLimit<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}

/** The 403 page for a viewer whose roles do not grant the page's read scope; undefined when they do. */
export function refuseWithout(c: ConsoleContext, scope: Scope, what: string): Response | Promise<Response> | undefined {
  if (can(c.var.viewer, scope)) return undefined;
  return c.html(errorPage(c.var.viewer, 403, `Your role does not allow reading ${what} (it needs the ${scope} scope).`), 403);
}

/** The page when the API refused the listing itself: its reason, with the API's 403 or 404 kept. */
export function listingFailed(c: ConsoleContext, options: { title: string; current: string; answer: ApiAnswer }) {
  const status = options.answer.status === 403 ? 403 : options.answer.status === 404 ? 404 : 502;
  const body = html`<h1>${options.title}</h1>`;
  return c.html(page({ title: options.title, viewer: c.var.viewer, current: options.current, flash: { kind: 'error', text: refusal(options.answer) }, body }), status);
}

/** "The first 500 of 812" when a listing was cut at the limit. */
export const truncatedNote = (shown: number, total: number, noun: string): Html | string =>
  total > shown ? html`<p class="muted">The first ${shown} of ${total.toLocaleString('en')} ${noun}.</p>` : '';

export const yesNo = (value: boolean, tones: { yes?: string; no?: string } = {}) =>
  html`<span class="badge ${value ? (tones.yes ?? '') : (tones.no ?? '')}">${value ? 'yes' : 'no'}</span>`;

/**
 * A table that scrolls sideways when it is wider than the screen; the region can take the focus so
 * that it scrolls from the keyboard too, and is named for screen readers.
 */
export const scrollingTable = (label: string, table: Html) => html`<div class="table-wrap" role="region" aria-label="${label}" tabindex="0">${table}</div>`;

/** An empty value, as the other console pages show it. */
export const none = html`<span class="muted">—</span>`;

