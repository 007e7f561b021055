/**
 * The inbox: privacy requests newest first, filtered by status, policy, action type, regulation,
 * due date and external id, a page at a time, with days-left badges, and the CSV export of the
 * same filter. It reads the API's listing (the reporting queries, indexed for a million requests).
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { z } from 'zod';
import type { PrivacyRequestSchema } from '../api/schemas.js';
import { REGULATIONS } from '../domain/deadlines.js';
import { ACTION_TYPES } from '../domain/policies.js';
import { PRIVACY_REQUEST_STATUSES } from '../domain/privacy-requests.js';
import { refusal } from './api-client.js';
import type { ConsoleEnv } from './index.js';
import { can, cell, daysLeftBadge, page, scrollable, statusBadge, when } from './layout.js';

export const INBOX_PAGE_SIZE = 25;
export const INBOX_COUNT_LIMIT = 10_000;
const DUE_CHOICES = { overdue: 'Overdue', week: 'Due within 7 days' } as const;

interface Filters {
  status?: string;
  policy_key?: string;
  action_type?: string;
  regulation?: string;
  due?: string;
  external_id?: string;
}

const pick = (value: string | undefined, allowed: readonly string[]) => (value && allowed.includes(value) ? value : undefined);

function filtersOf(query: Record<string, string>): Filters {
  const text = (value: string | undefined) => (value && value.trim() && value.length <= 200 && !value.includes('\0') ? value.trim() : undefined);
  const filters: Filters = {};
  const status = pick(query.status, PRIVACY_REQUEST_STATUSES);
  if (status) filters.status = status;
  const policy = text(query.policy_key);
  if (policy) filters.policy_key = policy;
  const actionType = pick(query.action_type, ACTION_TYPES);
  if (actionType) filters.action_type = actionType;
  const regulation = pick(query.regulation, REGULATIONS);
  if (regulation) filters.regulation = regulation;
  const due = pick(query.due, Object.keys(DUE_CHOICES));
  if (due) filters.due = due;
  const externalId = text(query.external_id);
  if (externalId) filters.external_id = externalId;
  return filters;
}

/** The API listing's query for the console's filters. */
function listingQuery(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  for (const name of ['policy_key', 'action_type', 'regulation', 'external_id'] as const) if (filters[name]) query.set(name, filters[name]!);
  if (filters.status) query.append('status', filters.status);
  if (filters.due === 'overdue') query.set('overdue', 'true');
  if (filters.due === 'week') {
    const now = Date.now();
    query.set('open', 'true');
    query.set('due_after', new Date(now).toISOString());
    query.set('due_before', new Date(now + 7 * 86_400_000).toISOString());
  }
  return query;
}

const linkWith = (base: string, filters: Filters, extra: Record<string, string> = {}) => {
  const query = new URLSearchParams({ ...(filters as Record<string, string>), ...extra }).toString();
  return query ? `${base}?${query}` : base;
};

/** An item of the API's listing, as its schema says. */
type ListedRequest = z.output<typeof PrivacyRequestSchema>;

function option(value: string, label: string, selected: string | undefined) {
  return html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
}

export function inboxPages() {
  const app = new Hono<ConsoleEnv>();

  app.get('/', async (c) => {
    const viewer = c.var.viewer;
    if (!can(viewer, 'privacy-request:read')) return c.redirect('/console/connections', 303);
    const query = c.req.query();
    const filters = filtersOf(query);
    const pageNumber = Math.min(Math.max(1, Number.parseInt(query.page ?? '1', 10) || 1), 1_000_000);
    const listing = listingQuery(filters);
    listing.set('page', String(pageNumber));
    listing.set('size', String(INBOX_PAGE_SIZE));
    // Beyond this many, the inbox says "10,000+": an exact count over a million requests costs more than the page.
    listing.set('count_limit', String(INBOX_COUNT_LIMIT));
    const [answer, policies] = await Promise.all([
      c.var.api<{ items: ListedRequest[]; total: number; pages: number; total_capped?: boolean }>('GET', '/privacy-request', { query: listing }),
      can(viewer, 'policy:read') ? c.var.api<{ items: { key: string; name: string }[] }>('GET', '/dsr/policy', { query: { size: 50 } }) : undefined,
    ]);
    if (!answer.ok) return c.html(page({ title: 'Inbox', viewer, current: '/console', flash: { kind: 'error', text: refusal(answer) }, body: html`<h1>Inbox</h1>` }), 502);
    const { items, total, pages, total_capped: capped = false } = answer.body;
    const policyField = policies?.ok
      ? html`<select id="f-policy" name="policy_key"><option value="">Any</option>${policies.body.items.map((policy) => option(policy.key, policy.name || policy.key, filters.policy_key))}</select>`
      : html`<input id="f-policy" name="policy_key" value="${filters.policy_key ?? ''}" maxlength="200">`;

    const body = html`<h1>Inbox</h1>
<form class="filters" method="get" action="/console" role="search" aria-label="Filter requests">
  <div class="field"><label for="f-status">Status</label><select id="f-status" name="status"><option value="">Any</option>${PRIVACY_REQUEST_STATUSES.map((status) => option(status, status.replaceAll('_', ' '), filters.status))}</select></div>
  <div class="field"><label for="f-policy">Policy</label>${policyField}</div>
  <div class="field"><label for="f-action">Action type</label><select id="f-action" name="action_type"><option value="">Any</option>${ACTION_TYPES.map((type) => option(type, type, filters.action_type))}</select></div>
  <div class="field"><label for="f-regulation">Regulation</label><select id="f-regulation" name="regulation"><option value="">Any</option>${REGULATIONS.map((regulation) => option(regulation, regulation.toUpperCase(), filters.regulation))}</select></div>
  <div class="field"><label for="f-due">Due</label><select id="f-due" name="due"><option value="">Any</option>${Object.entries(DUE_CHOICES).map(([value, label]) => option(value, label, filters.due))}</select></div>
  <div class="field"><label for="f-external">External id starts with</label><input id="f-external" name="external_id" value="${filters.external_id ?? ''}" maxlength="200"></div>
  <button type="submit">Filter</button>
  <a class="button secondary" href="/console">Clear</a>
</form>
<div class="pager">
  <span role="status">${total.toLocaleString('en')}${capped ? '+' : ''} ${total === 1 && !capped ? 'request' : 'requests'}</span>
  <a href="${linkWith('/console/requests.csv', filters)}" download>Export CSV</a>
</div>
${scrollable('Requests', html`<table class="responsive">
  <caption>Newest first${pages > 1 || capped ? html`, page ${pageNumber}${capped ? '' : html` of ${pages.toLocaleString('en')}`}` : ''}</caption>
  <thead><tr><th scope="col">Request</th><th scope="col">External id</th><th scope="col">Status</th><th scope="col">Policy</th><th scope="col">Type</th><th scope="col">Regulation</th><th scope="col">Received</th><th scope="col">Due</th><th scope="col">Days left</th></tr></thead>
  <tbody>
  ${items.length
    ? items.map(
        (item) => html`<tr>
    ${cell('Request', html`<a href="/console/requests/${encodeURIComponent(item.id)}">${item.id}</a>`, 'id')}
    ${cell('External id', item.external_id ?? html`<span class="muted">—</span>`)}
    ${cell('Status', statusBadge(item.status))}
    ${cell('Policy', item.policy_key)}
    ${cell('Type', item.action_types.join(', '))}
    ${cell('Regulation', item.regulation.toUpperCase())}
    ${cell('Received', when(item.created_at))}
    ${cell('Due', when(item.extended_due_at ?? item.due_at))}
    ${cell('Days left', daysLeftBadge(item.days_left))}
  </tr>`,
      )
    : html`<tr><td colspan="9">No request matches these filters.</td></tr>`}
  </tbody>
</table>`)}
<nav class="pager" aria-label="Pages">
  ${pageNumber > 1 ? html`<a href="${linkWith('/console', filters, { page: String(pageNumber - 1) })}" rel="prev">← Newer</a>` : ''}
  ${pageNumber < pages || (capped && items.length === INBOX_PAGE_SIZE) ? html`<a href="${linkWith('/console', filters, { page: String(pageNumber + 1) })}" rel="next">Older →</a>` : ''}
</nav>`;
    return c.html(page({ title: 'Inbox', viewer, current: '/console', body }));
  });

  /** The CSV of every request the filters select, streamed from the API's export. */
  app.get('/requests.csv', async (c) => {
    const listing = listingQuery(filtersOf(c.req.query()));
    listing.set('download_csv', 'true');
    const answer = await c.var.api('GET', '/privacy-request', { query: listing, stream: true });
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    for (const name of ['content-type', 'content-disposition']) {
      const value = answer.response.headers.get(name);
      if (value) headers[name] = value;
    }
    return new Response(answer.response.body, { status: answer.status, headers });
  });

  return app;
}
