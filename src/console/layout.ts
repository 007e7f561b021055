/**
 * The console's page frame and the small pieces every page uses. Pages are server-rendered with
 * Hono's `html` tagged template: every interpolated value is escaped unless it is itself a
 * template, so text from requests, datasets or errors cannot become markup.
 */
import { html } from 'hono/html';
import type { Scope } from '../auth/scopes.js';
import type { Principal } from '../auth/service.js';
import { ASSETS } from './assets.js';
import { CSRF_FIELD } from './session.js';

export type Html = ReturnType<typeof html>;

export interface Viewer {
  principal: Principal;
  csrf: string;
}

export const can = (viewer: Viewer, scope: Scope) => viewer.principal.scopes.has(scope);

const NAV: { href: string; label: string; scope: Scope }[] = [
  { href: '/console', label: 'Inbox', scope: 'privacy-request:read' },
  { href: '/console/connections', label: 'Connections', scope: 'connection:read' },
  { href: '/console/datasets', label: 'Datasets', scope: 'dataset:read' },
  { href: '/console/policies', label: 'Policies', scope: 'policy:read' },
  { href: '/console/webhooks', label: 'Webhooks', scope: 'webhook:read' },
];

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export function page(options: { title: string; viewer?: Viewer; current?: string; flash?: Flash | undefined; body: Html }): Html {
  const { title, viewer, current, flash, body } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · dsrflow</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS.css.path}">
<script src="${ASSETS.js.path}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/console">dsrflow</a>
  ${viewer
    ? html`<nav aria-label="Main"><ul>${NAV.filter((item) => can(viewer, item.scope)).map(
        (item) => html`<li><a href="${item.href}"${current === item.href ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
      )}</ul></nav>
  <div class="who"><span>Signed in as <strong>${viewer.principal.id}</strong></span>
    <form method="post" action="/console/logout">${csrfField(viewer)}<button type="submit">Sign out</button></form></div>`
    : ''}
</header>
<main id="main" tabindex="-1">
${flash ? html`<p class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}">${flash.text}</p>` : ''}
${body}
</main>
</body>
</html>`;
}

export const csrfField = (viewer: Viewer) => html`<input type="hidden" name="${CSRF_FIELD}" value="${viewer.csrf}">`;

/** A form that posts to the console with the session's CSRF token. */
export const postForm = (viewer: Viewer, action: string, inner: Html, attributes: Html | string = '') =>
  html`<form method="post" action="${action}" ${attributes}>${csrfField(viewer)}${inner}</form>`;

const STATUS_TONE: Record<string, string> = {
  complete: 'green',
  error: 'red',
  denied: 'red',
  canceled: '',
  pending: 'amber',
  requires_input: 'amber',
  awaiting_erasure_confirmation: 'amber',
  identity_unverified: 'amber',
  paused: 'amber',
};

export const statusBadge = (status: string) => html`<span class="badge ${STATUS_TONE[status] ?? ''}">${status.replaceAll('_', ' ')}</span>`;

/** Days left until the due date: red when overdue, amber within a week. */
export function daysLeftBadge(daysLeft: number | null | undefined): Html | string {
  if (daysLeft === null || daysLeft === undefined) return html`<span class="muted">—</span>`;
  if (daysLeft < 0) return html`<span class="badge red">${-daysLeft} ${-daysLeft === 1 ? 'day' : 'days'} overdue</span>`;
  if (daysLeft === 0) return html`<span class="badge red">due today</span>`;
  return html`<span class="badge ${daysLeft <= 7 ? 'amber' : ''}">${daysLeft} ${daysLeft === 1 ? 'day' : 'days'} left</span>`;
}

/** A timestamp as UTC, to the minute, in a <time> element with the exact value. */
export function when(value: string | null | undefined): Html | string {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<time datetime="${value}">${value.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

export const errorPage = (viewer: Viewer | undefined, status: number, text: string) =>
  page({ title: `Error ${status}`, ...(viewer ? { viewer } : {}), body: html`<h1>${status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status === 413 ? 'Too large' : 'Something went wrong'}</h1><p>${text}</p><p><a href="/console">Back to the inbox</a></p>` });

/** A table that may scroll sideways on a narrow screen: a named region keyboard users can focus and scroll. */
export const scrollable = (label: string, table: Html) => html`<div class="table-wrap" tabindex="0" role="region" aria-label="${label}">${table}</div>`;

/**
 * A cell of a `table.responsive`, its content in one block: below 640 px the cell is a grid of its
 * label and one item, so badges, links and notes stay together in the second column.
 */
export const cell = (label: string, content: Html | string | number, className?: string) =>
  html`<td${className ? html` class="${className}"` : ''} data-label="${label}"><div>${content}</div></td>`;
