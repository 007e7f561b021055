/**
 * /console/policies, read-only: every policy with its settings (regulation, review, erasure
 * confirmation, identity verification) and its rules, each rule with its action type, its masking
 * strategy (erasure rules) or consent preference, and its targets' data categories. Policies are
 * changed through the API (PATCH /api/v1/dsr/policy…).
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { ConsoleContext, ConsoleEnv } from '../index.js';
import { page, type Html, scrollable, cell } from '../layout.js';
import { listAll, listingFailed, none, refuseWithout, truncatedNote, yesNo } from './shared.js';

interface Rule {
  key: string;
  name: string;
  action_type: string;
  masking_strategy: { strategy: string; configuration?: Record<string, unknown> | null } | null;
  consent_preference?: string;
  targets: { key: string; name: string | null; data_category: string }[];
}

interface Policy {
  key: string;
  name: string;
  requires_approval: boolean;
  requires_erasure_confirmation: boolean;
  regulation: string;
  custom_days: number | null;
  requires_identity_verification: boolean;
  rules: Rule[];
}

const TITLE = 'Policies';
const CURRENT = '/console/policies';

export function policyPages() {
  const app = new Hono<ConsoleEnv>();
  app.get('/policies', (c) => refuseWithout(c, 'policy:read', 'policies') ?? render(c));
  return app;
}

async function render(c: ConsoleContext) {
  const listing = await listAll<Policy>(c.var.api, '/dsr/policy');
  if (!listing.ok) return listingFailed(c, { title: TITLE, current: CURRENT, answer: listing.answer });
  const body = html`<h1>${TITLE}</h1>
<p class="muted">What each policy does with a request. Read-only here: policies, rules and targets are changed through the API.</p>
${listing.items.length ? listing.items.map(policySection) : html`<p>No policy yet.</p>`}
${truncatedNote(listing.items.length, listing.total, 'policies')}`;
  return c.html(page({ title: TITLE, viewer: c.var.viewer, current: CURRENT, body }));
}

function policySection(policy: Policy): Html {
  return html`<section class="policy" id="policy-${policy.key}" aria-labelledby="policy-${policy.key}-title">
<h2 id="policy-${policy.key}-title">${policy.name} <span class="muted">(${policy.key})</span></h2>
<dl class="facts">
  <dt>Regulation</dt><dd>${policy.regulation.toUpperCase()}${policy.regulation === 'custom' && policy.custom_days ? ` (${policy.custom_days} days)` : ''}</dd>
  <dt>Needs approval</dt><dd>${yesNo(policy.requires_approval)}</dd>
  <dt>Erasure confirmation</dt><dd>${yesNo(policy.requires_erasure_confirmation)}</dd>
  <dt>Identity verification</dt><dd>${yesNo(policy.requires_identity_verification)}</dd>
</dl>
${policy.rules.length ? ruleTable(policy) : html`<p class="muted">No rule: requests under this policy do nothing.</p>`}
</section>`;
}

function ruleTable(policy: Policy): Html {
  return html`<h3>Rules</h3>
${scrollable(
  `Rules of ${policy.key}`,
  html`<table class="responsive">
<thead><tr><th scope="col">Rule</th><th scope="col">Action</th><th scope="col">Masking strategy</th><th scope="col">Targets (data categories)</th></tr></thead>
<tbody>
${policy.rules.map(
  (rule) => html`<tr>
  ${cell('Rule', html`${rule.name} <span class="muted">(${rule.key})</span>`)}
  ${cell('Action', html`<span class="badge">${rule.action_type}</span>${rule.consent_preference ? html`<br><span class="muted">${rule.consent_preference.replaceAll('_', ' ')}</span>` : ''}`)}
  ${cell('Masking strategy', maskingText(rule))}
  ${cell('Targets (data categories)', targetList(rule))}
</tr>`,
)}
</tbody>
</table>`,
)}`;
}

/** The targets' data categories, each with its target's name when it has one. */
function targetList(rule: Rule): Html {
  if (!rule.targets.length) return none;
  return html`${rule.targets.map((target, index) => html`${index ? ', ' : ''}<code>${target.data_category}</code>${target.name ? html` <span class="muted">(${target.name})</span>` : ''}`)}`;
}

function maskingText(rule: Rule): Html {
  if (!rule.masking_strategy) return none;
  const configuration = rule.masking_strategy.configuration;
  return html`<code>${rule.masking_strategy.strategy}</code>${configuration && Object.keys(configuration).length ? html`<br><span class="muted">${JSON.stringify(configuration)}</span>` : ''}`;
}
