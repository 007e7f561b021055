/**
 * A privacy request's page: status, due date, the timeline (its audit log), the identity hidden
 * until revealed (an audited API call), the tasks per phase and collection, the access package,
 * and the actions its status allows, each shown only to users whose roles grant its scope. Every
 * action is the API's own call with the user's token; its audit row names the user.
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { z } from 'zod';
import type { AccessPackageSchema } from '../api/access-packages.js';
import type { AuditLogEntrySchema, TaskSchema } from '../api/reporting-schemas.js';
import type { PrivacyRequestSchema } from '../api/schemas.js';
import type { Scope } from '../auth/scopes.js';
import { refusal, type ApiAnswer } from './api-client.js';
import type { ConsoleContext, ConsoleEnv } from './index.js';
import { can, cell, daysLeftBadge, errorPage, page, postForm, scrollable, statusBadge, when, type Flash, type Html, type Viewer } from './layout.js';

/** What the console reads is what the API answers: the API's own schemas give the shapes. */
type PrivacyRequest = z.output<typeof PrivacyRequestSchema>;
type Task = z.output<typeof TaskSchema>;
type AccessPackage = z.output<typeof AccessPackageSchema>;
type AuditEntry = z.output<typeof AuditLogEntrySchema>;

const FINAL = new Set(['complete', 'denied', 'canceled', 'duplicate']);
const ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** What each console action sends to the API, from the form's fields. */
const ACTIONS: Record<string, { scope: Scope; done: string; call: (id: string, form: Record<string, string>) => { method: string; path: string; json: unknown } }> = {
  approve: { scope: 'privacy-request:review', done: 'Approved.', call: (id, form) => ({ method: 'PATCH', path: '/privacy-request/administrate/approve', json: { request_ids: [id], ...(form.reason ? { reason: form.reason } : {}) } }) },
  deny: { scope: 'privacy-request:review', done: 'Denied.', call: (id, form) => ({ method: 'PATCH', path: '/privacy-request/administrate/deny', json: { request_ids: [id], reason: form.reason ?? '' } }) },
  cancel: { scope: 'privacy-request:resume', done: 'Canceled.', call: (id, form) => ({ method: 'PATCH', path: '/privacy-request/administrate/cancel', json: { request_ids: [id], reason: form.reason ?? '' } }) },
  retry: { scope: 'privacy-request:resume', done: 'Retry started: the failed collections run again.', call: (id) => ({ method: 'POST', path: `/privacy-request/${id}/retry`, json: {} }) },
  'confirm-erasure': { scope: 'privacy-request:resume', done: 'Erasure confirmed: masking has started.', call: (id) => ({ method: 'POST', path: `/privacy-request/${id}/confirm_erasure`, json: {} }) },
  extend: { scope: 'privacy-request:review', done: 'Due date extended.', call: (id, form) => ({ method: 'POST', path: `/privacy-request/${id}/extend`, json: { reason: form.reason ?? '' } }) },
  'legal-hold': { scope: 'privacy-request:review', done: 'Legal hold placed: erasure waits.', call: (id, form) => ({ method: 'POST', path: `/privacy-request/${id}/legal_hold`, json: { reason: form.reason ?? '' } }) },
  'lift-legal-hold': { scope: 'privacy-request:review', done: 'Legal hold lifted.', call: (id, form) => ({ method: 'DELETE', path: `/privacy-request/${id}/legal_hold`, json: form.reason ? { reason: form.reason } : {} }) },
  'manual-input': { scope: 'privacy-request:manual-input', done: 'Rows received: the request goes on.', call: (id, form) => ({ method: 'POST', path: `/privacy-request/${id}/manual_input`, json: manualRows(form) }) },
  'erasure-confirm': {
    scope: 'privacy-request:manual-input',
    done: 'Masking confirmed: the request goes on.',
    call: (id, form) => ({ method: 'POST', path: `/privacy-request/${id}/erasure_confirm`, json: { ...(form.collection ? { collection: form.collection } : {}), row_count: /^\d{1,9}$/.test(form.row_count ?? '') ? Number(form.row_count) : form.row_count } }),
  },
};

/** `row0.email=…&row0.name=…&row1.email=…` → rows, leaving out empty fields and empty rows; "nothing found" sends none. */
function manualRows(form: Record<string, string>) {
  const rows = new Map<number, Record<string, string>>();
  if (form.nothing !== '1') {
    for (const [name, value] of Object.entries(form)) {
      const match = /^row(\d{1,3})\.(.+)$/.exec(name);
      if (!match || value.trim() === '') continue;
      const index = Number(match[1]);
      if (!rows.has(index)) rows.set(index, {});
      rows.get(index)![match[2]!] = value.trim();
    }
  }
  return { ...(form.collection ? { collection: form.collection } : {}), rows: [...rows.entries()].sort(([a], [b]) => a - b).map(([, row]) => row) };
}

const OK_MESSAGES = Object.fromEntries(Object.entries(ACTIONS).map(([name, action]) => [name, action.done]));

export function requestPages(options: { temporalUiUrl?: string | undefined; namespace: string }) {
  const app = new Hono<ConsoleEnv>();

  async function render(c: ConsoleContext, id: string, extra: { flash?: Flash | undefined; identity?: Record<string, string> | undefined; status?: 200 | 403 | 404 | 409 | 422 } = {}) {
    const viewer = c.var.viewer;
    const api = c.var.api;
    const [listed, tasks, audit] = await Promise.all([
      api<{ items: PrivacyRequest[] }>('GET', '/privacy-request', { query: { request_id: id } }),
      api<{ planned: boolean; items: Task[] }>('GET', `/privacy-request/${encodeURIComponent(id)}/tasks`),
      api<{ items: AuditEntry[]; total: number }>('GET', `/privacy-request/${encodeURIComponent(id)}/audit-log`, { query: { size: 50 } }),
    ]);
    if (!listed.ok) return c.html(errorPage(viewer, listed.status, refusal(listed)), listed.status === 403 ? 403 : 502);
    const request = listed.body.items[0];
    if (!request) return c.html(errorPage(viewer, 404, `No privacy request with id ${id}.`), 404);
    const accessPackage = request.action_types.includes('access') ? await api<AccessPackage>('GET', `/privacy-request/${encodeURIComponent(id)}/access-package`) : undefined;

    const body = html`<p><a href="/console">← Inbox</a></p>
<h1>Privacy request <span class="id">${request.id}</span></h1>
<div class="grid">
  ${summaryCard(request, options)}
  ${identityCard(viewer, request, extra.identity)}
  ${actionsCard(viewer, request)}
</div>
${request.erasure_preview && request.status === 'awaiting_erasure_confirmation' ? previewSection(request.erasure_preview) : ''}
${tasksSection(tasks)}
${accessPackage ? packageSection(accessPackage) : ''}
${timelineSection(audit)}`;
    return c.html(page({ title: `Request ${request.id}`, viewer, current: '/console', flash: extra.flash, body }), extra.status ?? 200);
  }

  app.get('/requests/:id', async (c) => {
    const id = c.req.param('id');
    if (!ID.test(id)) return c.html(errorPage(c.var.viewer, 404, 'No privacy request with that id.'), 404);
    const done = c.req.query('done');
    return render(c, id, { flash: done && Object.hasOwn(OK_MESSAGES, done) ? { kind: 'ok', text: OK_MESSAGES[done]! } : undefined });
  });

  /** The identity, shown in this answer only; the API writes the audit row naming the user. */
  app.post('/requests/:id/reveal', async (c) => {
    const id = c.req.param('id');
    if (!ID.test(id)) return c.html(errorPage(c.var.viewer, 404, 'No privacy request with that id.'), 404);
    const answer = await c.var.api<{ identity: Record<string, string> }>('GET', `/privacy-request/${encodeURIComponent(id)}/identity`);
    if (!answer.ok) return render(c, id, { flash: { kind: 'error', text: refusal(answer) }, status: answer.status === 404 ? 404 : 403 });
    return render(c, id, { identity: answer.body.identity });
  });

  app.post('/requests/:id/:action', async (c) => {
    const id = c.req.param('id');
    const name = c.req.param('action');
    const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
    if (!ID.test(id) || !action) return c.html(errorPage(c.var.viewer, 404, 'No such action.'), 404);
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    const call = action.call(encodeURIComponent(id), form);
    const answer: ApiAnswer<{ failed?: { message: string }[] }> = await c.var.api(call.method, call.path, { json: call.json });
    // The bulk routes answer 200 with the refusal in `failed`.
    const failed = answer.ok ? answer.body.failed?.[0]?.message : refusal(answer);
    if (failed !== undefined) {
      const status = answer.status === 403 ? 403 : answer.status === 404 ? 404 : answer.status === 422 ? 422 : 409;
      return render(c, id, { flash: { kind: 'error', text: `Not done: ${failed}` }, status });
    }
    return c.redirect(`/console/requests/${encodeURIComponent(id)}?done=${name}`, 303);
  });

  return app;
}

function summaryCard(request: PrivacyRequest, options: { temporalUiUrl?: string | undefined; namespace: string }): Html {
  const due = request.extended_due_at ?? request.due_at;
  return html`<section class="card" aria-labelledby="summary-title">
  <h2 id="summary-title">Status</h2>
  <dl class="facts">
    <dt>Status</dt><dd>${statusBadge(request.status)}${request.legal_hold ? html` <span class="badge red">legal hold</span>` : ''}</dd>
    <dt>Policy</dt><dd>${request.policy_key} (${request.action_types.join(', ')})</dd>
    <dt>Regulation</dt><dd>${request.regulation.toUpperCase()}</dd>
    <dt>External id</dt><dd>${request.external_id ?? '—'}</dd>
    <dt>Received</dt><dd>${when(request.created_at)}${request.created_by ? html` by ${request.created_by}` : ''}</dd>
    <dt>Due</dt><dd>${when(due)} ${daysLeftBadge(request.days_left)}${request.extended_due_at ? html`<br><span class="muted">extended: ${request.extension_reason ?? ''}</span>` : ''}</dd>
    ${request.acknowledge_by ? html`<dt>Acknowledge by</dt><dd>${when(request.acknowledge_by)}</dd>` : ''}
    ${request.reviewed_by ? html`<dt>Reviewed</dt><dd>${when(request.reviewed_at)} by ${request.reviewed_by}</dd>` : ''}
    ${request.denial_reason ? html`<dt>Reason</dt><dd>${request.denial_reason}</dd>` : ''}
    ${request.legal_hold_reason ? html`<dt>Legal hold</dt><dd>${request.legal_hold_reason}</dd>` : ''}
    ${request.duplicate_of ? html`<dt>Duplicate of</dt><dd><a href="/console/requests/${encodeURIComponent(request.duplicate_of)}">${request.duplicate_of}</a></dd>` : ''}
    ${request.finished_processing_at ? html`<dt>Finished</dt><dd>${when(request.finished_processing_at)}</dd>` : ''}
  </dl>
  ${request.warnings.length ? html`<h3>Warnings</h3><ul>${request.warnings.map((warning) => html`<li>${warning.phase} · ${warning.collection}: ${warning.reason}</li>`)}</ul>` : ''}
  ${options.temporalUiUrl
    ? html`<p><a href="${options.temporalUiUrl}/namespaces/${encodeURIComponent(options.namespace)}/workflows/${encodeURIComponent(request.id)}" rel="noopener" target="_blank">Workflow in the Temporal UI</a></p>`
    : ''}
</section>`;
}

function identityCard(viewer: Viewer, request: PrivacyRequest, identity: Record<string, string> | undefined): Html {
  const shown = identity
    ? Object.keys(identity).length
      ? html`<dl class="facts" id="identity">${Object.entries(identity).map(([name, value]) => html`<dt>${name}</dt><dd>${value}</dd>`)}</dl><p class="muted">Your view was recorded in the audit log.</p>`
      : html`<p id="identity">The identity is no longer kept (its time to live passed).</p>`
    : can(viewer, 'privacy-request:read-identity')
      ? postForm(viewer, `/console/requests/${encodeURIComponent(request.id)}/reveal`, html`<p class="muted">Hidden. Revealing it is recorded in the audit log with your name.</p><button type="submit" class="secondary">Reveal identity</button>`)
      : html`<p class="muted">Hidden: your role does not allow reading identities.</p>`;
  return html`<section class="card" aria-labelledby="identity-title"><h2 id="identity-title">Data subject</h2>${shown}</section>`;
}

const reasonField = (id: string, label: string, required: boolean) =>
  html`<div class="field"><label for="${id}">${label}</label><input id="${id}" name="reason" maxlength="2000"${required ? html` required` : ''}></div>`;

function actionsCard(viewer: Viewer, request: PrivacyRequest): Html {
  const id = encodeURIComponent(request.id);
  const to = (action: string) => `/console/requests/${id}/${action}`;
  const has = (action: keyof typeof ACTIONS) => can(viewer, ACTIONS[action]!.scope);
  const forms: Html[] = [];
  const open = !FINAL.has(request.status);

  if (request.status === 'pending' && has('approve')) {
    forms.push(postForm(viewer, to('approve'), html`<div class="row">${reasonField('approve-reason', 'Note (optional)', false)}<button type="submit">Approve</button></div>`));
    forms.push(postForm(viewer, to('deny'), html`<div class="row">${reasonField('deny-reason', 'Reason for denial', true)}<button type="submit" class="danger">Deny</button></div>`));
  }
  if (request.status === 'awaiting_erasure_confirmation' && has('confirm-erasure')) {
    forms.push(postForm(viewer, to('confirm-erasure'), html`<p>Check the preview below: confirming masks those rows.</p><button type="submit" class="danger">Confirm erasure</button>`));
  }
  const stopped = request.stopped_collection_details;
  if (stopped && stopped.action_needed && request.status === 'paused' && has('manual-input')) forms.push(manualForm(viewer, request, stopped));
  if (request.status === 'error' && has('retry')) forms.push(postForm(viewer, to('retry'), html`<button type="submit">Retry failed collections</button>`));
  if (open && has('extend') && !request.extended_due_at && request.due_at && (request.days_left ?? -1) >= 0) {
    forms.push(postForm(viewer, to('extend'), html`<div class="row">${reasonField('extend-reason', 'Reason for the extension (told to the data subject)', true)}<button type="submit" class="secondary">Extend due date</button></div>`));
  }
  if (open && request.action_types.includes('erasure') && has('legal-hold')) {
    forms.push(
      request.legal_hold
        ? postForm(viewer, to('lift-legal-hold'), html`<div class="row">${reasonField('lift-reason', 'Note (optional)', false)}<button type="submit" class="secondary">Lift legal hold</button></div>`)
        : postForm(viewer, to('legal-hold'), html`<div class="row">${reasonField('hold-reason', 'Reason for the legal hold', true)}<button type="submit" class="secondary">Place legal hold</button></div>`),
    );
  }
  if (open && has('cancel')) forms.push(postForm(viewer, to('cancel'), html`<div class="row">${reasonField('cancel-reason', 'Reason for cancelling', true)}<button type="submit" class="danger">Cancel request</button></div>`));

  return html`<section class="card actions" aria-labelledby="actions-title"><h2 id="actions-title">Actions</h2>${forms.length ? forms : html`<p class="muted">Nothing to do here${open ? ' for your role' : ''}.</p>`}</section>`;
}

/** The manual step's form, generated from what the task asks: the fields to get (access) or a count of rows masked (erasure). */
function manualForm(viewer: Viewer, request: PrivacyRequest, stopped: NonNullable<PrivacyRequest['stopped_collection_details']>): Html {
  const id = encodeURIComponent(request.id);
  const needed = stopped.action_needed as { locators?: Record<string, unknown>; get?: string[] | null; update?: Record<string, unknown> | null; delete?: boolean }[];
  const locators = html`<ul>${needed.slice(0, 20).map((item) => html`<li><code>${JSON.stringify(item.locators ?? {})}</code>${item.update ? html` → set <code>${JSON.stringify(item.update)}</code>` : ''}${item.delete ? ' → delete' : ''}</li>`)}</ul>`;
  const collection = html`<input type="hidden" name="collection" value="${stopped.collection}">`;
  if (stopped.step === 'erasure') {
    return postForm(
      viewer,
      `/console/requests/${id}/erasure-confirm`,
      html`<h3>Manual erasure: ${stopped.collection}</h3><p>Mask these rows in the system, then say how many you masked:</p>${locators}${collection}
<div class="row"><div class="field"><label for="row-count">Rows masked</label><input id="row-count" name="row_count" type="number" min="0" step="1" required inputmode="numeric"></div><button type="submit">Confirm masking</button></div>`,
    );
  }
  const fields = [...new Set(needed.flatMap((item) => item.get ?? []))];
  return postForm(
    viewer,
    `/console/requests/${id}/manual-input`,
    html`<h3>Manual step: ${stopped.collection}</h3><p>Look up the data subject with:</p>${locators}${collection}
<fieldset data-row><legend>Row 1</legend>${fields.map((field) => html`<div class="field"><label for="manual-${field}-0">${field}</label><input id="manual-${field}-0" name="row0.${field}" maxlength="2000"></div>`)}</fieldset>
<div class="row"><button type="button" class="secondary" data-add-row>Add another row</button><button type="submit">Send rows</button><button type="submit" name="nothing" value="1" class="secondary">Nothing found</button></div>`,
  );
}

function previewSection(preview: Record<string, number>): Html {
  const total = Object.values(preview).reduce((sum, count) => sum + count, 0);
  return html`<h2 id="preview">Erasure preview</h2>
<p id="preview-total">Confirming changes ${total} ${total === 1 ? 'row' : 'rows'}:</p>
${scrollable('Erasure preview', html`<table><thead><tr><th scope="col">Collection</th><th scope="col">Rows to mask</th></tr></thead><tbody>
${Object.entries(preview).map(([collection, count]) => html`<tr><td>${collection}</td><td>${count}</td></tr>`)}
</tbody></table>`)}`;
}

function tasksSection(tasks: ApiAnswer<{ planned: boolean; items: Task[] }>): Html {
  if (!tasks.ok) return html`<h2>Tasks</h2><p class="flash error">${refusal(tasks)}</p>`;
  if (!tasks.body.planned) return html`<h2>Tasks</h2><p class="muted">Not planned yet.</p>`;
  const phases = [...new Set(tasks.body.items.map((task) => task.phase))];
  return html`<h2>Tasks</h2>${phases.map(
    (phase) => html`<h3>${phase === 'access' ? 'Access' : phase === 'erasure' ? 'Erasure' : phase}</h3>
${scrollable(`${phase} tasks`, html`<table class="responsive"><thead><tr><th scope="col">Collection</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Rows</th><th scope="col">Last error</th></tr></thead><tbody>
${tasks.body.items
  .filter((task) => task.phase === phase)
  .map(
    (task) => html`<tr>
  ${cell('Collection', html`${task.collection}${task.manual ? html` <span class="badge">manual</span>` : ''}`)}
  ${cell('Status', html`${statusBadge(task.status)}${task.skipped_reason ? html`<br><span class="muted">${task.skipped_reason}</span>` : ''}${task.deadline_at && task.status === 'awaiting_input' ? html`<br><span class="muted">answer by ${when(task.deadline_at)}</span>` : ''}`)}
  ${cell('Attempts', task.attempts)}
  ${cell('Rows', task.row_count ?? '—')}
  ${cell('Last error', task.last_error ? html`${task.last_error.category ? html`<span class="badge red">${task.last_error.category}</span> ` : ''}${task.last_error.message}` : '—')}
</tr>`,
  )}
</tbody></table>`)}`,
  )}`;
}

function packageSection(answer: ApiAnswer<AccessPackage>): Html {
  if (answer.status === 404) return html`<h2>Access package</h2><p class="muted">No package: access has not produced one.</p>`;
  if (!answer.ok) return html`<h2>Access package</h2><p class="flash error">${refusal(answer)}</p>`;
  const pack = answer.body;
  return html`<h2>Access package</h2>
<dl class="facts">
  <dt>Status</dt><dd>${statusBadge(pack.status)}</dd>
  <dt>Expires</dt><dd>${when(pack.expires_at)}</dd>
  ${pack.size_bytes !== null ? html`<dt>Size</dt><dd>${pack.size_bytes.toLocaleString('en')} bytes</dd>` : ''}
  <dt>Downloads</dt><dd>${pack.download_count}${pack.downloads.length ? html` (last ${when(pack.downloads[pack.downloads.length - 1]!.downloaded_at)})` : ''}</dd>
  <dt>Link</dt><dd>${pack.download_url ? html`<a href="${pack.download_url}" id="package-link">Download the package</a>` : html`<span class="muted">${pack.status === 'preparing' ? 'not ready yet' : 'no link (your role cannot download, or the package is gone)'}</span>`}</dd>
</dl>`;
}

function timelineSection(audit: ApiAnswer<{ items: AuditEntry[]; total: number }>): Html {
  if (!audit.ok) return html`<h2>Timeline</h2><p class="flash error">${refusal(audit)}</p>`;
  return html`<h2>Timeline</h2>
${audit.body.items.length
  ? html`<ol class="timeline">${audit.body.items.map(
      (entry) => html`<li>${when(entry.created_at)} · <strong>${entry.action.replaceAll('_', ' ')}</strong>${entry.user_id ? html` by ${entry.user_id}` : ''}${entry.message ? html`<br><span class="muted">${entry.message}</span>` : ''}</li>`,
    )}</ol>${audit.body.total > audit.body.items.length ? html`<p class="muted">The first ${audit.body.items.length} of ${audit.body.total} entries.</p>` : ''}`
  : html`<p class="muted">Nothing recorded yet.</p>`}`;
}
