/**
 * /console/webhooks: the webhook subscriptions (URL, events, enabled, description; never their
 * secrets), each linking to /console/webhooks/:id, its delivery log newest first and paged
 * (?page=): event, request, status, attempts, the receiver's last status code or error, when it
 * was created and delivered, and every attempt in a disclosure.
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { ConsoleContext, ConsoleEnv } from '../index.js';
import { errorPage, page, when, type Html, scrollable, cell } from '../layout.js';
import { API_PAGE_SIZE, KEY, listAll, listingFailed, none, refuseWithout, truncatedNote, yesNo } from './shared.js';

interface Subscription {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  enabled: boolean;
  created_at: string;
}

interface Attempt {
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: string;
}

interface Delivery {
  id: string;
  event_type: string;
  privacy_request_id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  attempt_log: Attempt[];
}

interface DeliveryPage {
  items: Delivery[];
  total: number;
  page: number;
  pages: number;
}

const TITLE = 'Webhooks';
const CURRENT = '/console/webhooks';
const DELIVERY_TONE: Record<Delivery['status'], string> = { delivered: 'green', pending: 'amber', failed: 'red' };

export function webhookPages() {
  const app = new Hono<ConsoleEnv>();
  app.get('/webhooks', (c) => refuseWithout(c, 'webhook:read', 'webhook subscriptions') ?? renderList(c));
  app.get('/webhooks/:id', (c) => refuseWithout(c, 'webhook:read', 'webhook deliveries') ?? renderDeliveries(c, c.req.param('id')));
  return app;
}

async function renderList(c: ConsoleContext) {
  const listing = await listAll<Subscription>(c.var.api, '/webhook');
  if (!listing.ok) return listingFailed(c, { title: TITLE, current: CURRENT, answer: listing.answer });
  const body = html`<h1>${TITLE}</h1>
<p class="muted">Endpoints that receive request events as signed Standard Webhooks. Signing secrets are never shown; subscriptions are changed through the API (/api/v1/webhook).</p>
${listing.items.length ? subscriptionTable(listing.items) : html`<p>No subscription yet.</p>`}
${truncatedNote(listing.items.length, listing.total, 'subscriptions')}`;
  return c.html(page({ title: TITLE, viewer: c.var.viewer, current: CURRENT, body }));
}

function subscriptionTable(subscriptions: Subscription[]): Html {
  return scrollable(
    'Webhook subscriptions',
    html`<table class="responsive">
<thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Enabled</th><th scope="col">Description</th><th scope="col">Deliveries</th></tr></thead>
<tbody>
${subscriptions.map(
  (subscription) => html`<tr id="webhook-${subscription.id}">
  ${cell('URL', subscription.url, 'id')}
  ${cell('Events', subscription.event_types.join(', '))}
  ${cell('Enabled', yesNo(subscription.enabled, { no: 'amber' }))}
  ${cell('Description', subscription.description || none)}
  ${cell('Deliveries', html`<a href="/console/webhooks/${encodeURIComponent(subscription.id)}" aria-label="Deliveries to ${subscription.url}">Deliveries</a>`)}
</tr>`,
)}
</tbody>
</table>`,
  );
}

async function renderDeliveries(c: ConsoleContext, id: string) {
  const viewer = c.var.viewer;
  if (!KEY.test(id)) return c.html(errorPage(viewer, 404, 'No webhook subscription with that id.'), 404);
  const pageNumber = /^[1-9]\d{0,8}$/.test(c.req.query('page') ?? '') ? Number(c.req.query('page')) : 1;
  const path = `/webhook/${encodeURIComponent(id)}`;
  const [subscription, deliveries] = await Promise.all([
    c.var.api<Subscription>('GET', path),
    c.var.api<DeliveryPage>('GET', `${path}/delivery`, { query: { page: pageNumber, size: API_PAGE_SIZE } }),
  ]);
  if (subscription.status === 404) return c.html(errorPage(viewer, 404, `No webhook subscription with id ${id}.`), 404);
  if (!subscription.ok) return listingFailed(c, { title: 'Webhook deliveries', current: CURRENT, answer: subscription });
  if (!deliveries.ok) return listingFailed(c, { title: 'Webhook deliveries', current: CURRENT, answer: deliveries });
  const { items, total, pages } = deliveries.body;
  const body = html`<p><a href="/console/webhooks">← Webhooks</a></p>
<h1>Webhook deliveries</h1>
<dl class="facts">
  <dt>URL</dt><dd>${subscription.body.url}</dd>
  <dt>Events</dt><dd>${subscription.body.event_types.join(', ')}</dd>
  <dt>Enabled</dt><dd>${yesNo(subscription.body.enabled, { no: 'amber' })}</dd>
  <dt>Subscription</dt><dd class="id">${subscription.body.id}</dd>
</dl>
<h2>Delivery log</h2>
<p role="status">${total.toLocaleString('en')} ${total === 1 ? 'delivery' : 'deliveries'}, newest first${pages > 1 ? `; page ${pageNumber} of ${pages.toLocaleString('en')}` : ''}.</p>
${items.length ? deliveryTable(items) : html`<p class="muted">${pageNumber > 1 ? 'No delivery on this page.' : 'Nothing sent yet.'}</p>`}
${pager(id, pageNumber, pages)}`;
  return c.html(page({ title: 'Webhook deliveries', viewer, current: CURRENT, body }));
}

function deliveryTable(deliveries: Delivery[]): Html {
  return scrollable(
    'Deliveries',
    html`<table class="responsive">
<thead><tr><th scope="col">Event</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last response</th><th scope="col">Created</th><th scope="col">Delivered</th></tr></thead>
<tbody>
${deliveries.map(
  (delivery) => html`<tr>
  ${cell('Event', delivery.event_type)}
  ${cell('Request', html`<a href="/console/requests/${encodeURIComponent(delivery.privacy_request_id)}">${delivery.privacy_request_id}</a>`, 'id')}
  ${cell('Status', html`<span class="badge ${DELIVERY_TONE[delivery.status] ?? ''}">${delivery.status}</span>`)}
  ${cell('Attempts', attemptsCell(delivery))}
  ${cell('Last response', lastResponse(delivery.last_status_code, delivery.last_error))}
  ${cell('Created', when(delivery.created_at))}
  ${cell('Delivered', when(delivery.delivered_at))}
</tr>`,
)}
</tbody>
</table>`,
  );
}

function lastResponse(code: number | null, error: string | null): Html {
  if (code === null && !error) return none;
  return html`${code !== null ? html`<span class="badge ${code >= 200 && code < 300 ? 'green' : 'red'}">${code}</span> ` : ''}${error ?? ''}`;
}

/** The count, and each attempt (when, its answer, how long) behind a disclosure. */
function attemptsCell(delivery: Delivery): Html {
  if (!delivery.attempt_log.length) return html`${delivery.attempts}`;
  return html`<details><summary>${delivery.attempts}</summary><ol class="attempts">${delivery.attempt_log.map(
    (attempt) => html`<li>${when(attempt.at)}: ${lastResponse(attempt.status_code, attempt.error)} <span class="muted">(${attempt.duration_ms} ms)</span></li>`,
  )}</ol></details>`;
}

function pager(id: string, pageNumber: number, pages: number): Html | string {
  if (pages <= 1) return '';
  const link = (number: number) => `/console/webhooks/${encodeURIComponent(id)}?page=${number}`;
  return html`<nav class="pager" aria-label="Pages">
  ${pageNumber > 1 ? html`<a href="${link(pageNumber - 1)}" rel="prev">← Newer</a>` : ''}
  ${pageNumber < pages ? html`<a href="${link(pageNumber + 1)}" rel="next">Older →</a>` : ''}
</nav>`;
}
