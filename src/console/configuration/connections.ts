/**
 * /console/connections: every connection (key, name, type, access, disabled, whether secrets are
 * stored) and, for users who may change connections, a Test button per connection. The test is the
 * API's `GET /connection/{key}/test` with the user's token (it needs connection:write, so a viewer
 * who forges the form gets the API's 403); the page comes back with the outcome in that
 * connection's row: succeeded, skipped, or failed with its category and reason.
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import { refusal } from '../api-client.js';
import type { ConsoleContext, ConsoleEnv } from '../index.js';
import { can, errorPage, page, postForm, type Flash, type Html, type Viewer, scrollable, cell } from '../layout.js';
import { KEY, listAll, listingFailed, none, refuseWithout, truncatedNote, yesNo } from './shared.js';

interface Connection {
  key: string;
  name: string | null;
  connection_type: string;
  access: 'read' | 'write';
  disabled: boolean;
  secrets_configured: boolean;
}

/** The API's ConnectionTestResult (src/connectors/connection-test.ts). */
interface TestOutcome {
  connection_key: string;
  test_status: 'succeeded' | 'failed' | 'skipped';
  category: string | null;
  msg: string;
}

const TITLE = 'Connections';
const CURRENT = '/console/connections';

export function connectionPages() {
  const app = new Hono<ConsoleEnv>();

  app.get('/connections', (c) => refuseWithout(c, 'connection:read', 'connections') ?? render(c));

  app.post('/connections/:key/test', async (c) => {
    const key = c.req.param('key');
    if (!KEY.test(key)) return c.html(errorPage(c.var.viewer, 404, 'No connection with that key.'), 404);
    const answer = await c.var.api<TestOutcome>('GET', `/connection/${encodeURIComponent(key)}/test`);
    if (!answer.ok) {
      const status = answer.status === 403 ? 403 : answer.status === 404 ? 404 : 502;
      return render(c, { flash: { kind: 'error', text: `Not tested: ${refusal(answer)}` }, status });
    }
    return render(c, { outcome: answer.body, flash: outcomeFlash(answer.body) });
  });

  return app;
}

async function render(c: ConsoleContext, extra: { outcome?: TestOutcome; flash?: Flash; status?: 200 | 403 | 404 | 502 } = {}) {
  const viewer = c.var.viewer;
  const listing = await listAll<Connection>(c.var.api, '/connection');
  if (!listing.ok) return listingFailed(c, { title: TITLE, current: CURRENT, answer: listing.answer });
  const body = html`<h1>${TITLE}</h1>
<p class="muted">The data stores dsrflow reads and erases. Secrets are never shown; ${can(viewer, 'connection:write') ? 'Test connects with the stored secrets and runs a trivial query.' : 'testing a connection needs the connection:write scope.'}</p>
${listing.items.length ? connectionTable(viewer, listing.items, extra.outcome) : html`<p>No connection yet (PATCH /api/v1/connection).</p>`}
${truncatedNote(listing.items.length, listing.total, 'connections')}`;
  return c.html(page({ title: TITLE, viewer, current: CURRENT, flash: extra.flash, body }), extra.status ?? 200);
}

function connectionTable(viewer: Viewer, connections: Connection[], outcome: TestOutcome | undefined): Html {
  const testing = can(viewer, 'connection:write');
  return scrollable(
    'Connections',
    html`<table class="responsive">
<thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Access</th><th scope="col">Disabled</th><th scope="col">Secrets</th>${testing ? html`<th scope="col">Test</th>` : ''}</tr></thead>
<tbody>
${connections.map(
  (connection) => html`<tr id="connection-${connection.key}">
  ${cell('Key', connection.key, 'id')}
  ${cell('Name', connection.name ?? none)}
  ${cell('Type', connection.connection_type)}
  ${cell('Access', connection.access)}
  ${cell('Disabled', yesNo(connection.disabled, { yes: 'amber' }))}
  ${cell('Secrets', connection.secrets_configured ? 'stored' : html`<span class="muted">none</span>`)}
  ${testing ? cell('Test', testCell(viewer, connection, outcome?.connection_key === connection.key ? outcome : undefined)) : ''}
</tr>`,
)}
</tbody>
</table>`,
  );
}

function testCell(viewer: Viewer, connection: Connection, outcome: TestOutcome | undefined): Html {
  const button = postForm(viewer, `/console/connections/${encodeURIComponent(connection.key)}/test`, html`<button type="submit" class="secondary" aria-label="Test ${connection.key}">Test</button>`);
  return html`${button}${outcome ? html`<p class="test-outcome" data-status="${outcome.test_status}">${outcomeText(outcome)}</p>` : ''}`;
}

function outcomeText(outcome: TestOutcome): Html {
  if (outcome.test_status === 'succeeded') return html`<span class="badge green">succeeded</span> ${outcome.msg}`;
  if (outcome.test_status === 'skipped') return html`<span class="badge amber">skipped</span> ${outcome.msg}`;
  return html`<span class="badge red">failed</span> ${outcome.category ? html`<span class="badge red">${outcome.category.replaceAll('_', ' ')}</span> ` : ''}${outcome.msg}`;
}

function outcomeFlash(outcome: TestOutcome): Flash {
  if (outcome.test_status === 'failed') {
    return { kind: 'error', text: `${outcome.connection_key}: the test failed${outcome.category ? ` (${outcome.category.replaceAll('_', ' ')})` : ''}: ${outcome.msg}` };
  }
  return { kind: 'ok', text: `${outcome.connection_key}: ${outcome.test_status === 'succeeded' ? 'the test succeeded' : 'not tested'}: ${outcome.msg}` };
}
