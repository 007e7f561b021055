/**
 * What must hold after the chaos run, checked with SQL against dsrflow's database and the target
 * database, and against what the SMTP server and the webhook receiver counted. Each check answers
 * a line for the report and the violations it found (empty: it holds).
 */
import type postgres from 'postgres';
import type { Sql } from '../../src/db/client.js';
import { expectedAccessCounts, expectedErasureCounts, type PlannedRequest } from './fixtures.js';
import type { CountingSmtpServer, CountingWebhookReceiver } from './receivers.js';

export interface CheckResult {
  check: string;
  expected: string;
  observed: string;
  violations: string[];
}

export interface CheckInputs {
  sql: Sql;
  target: postgres.Sql;
  requests: (PlannedRequest & { id: string })[];
  smtp: CountingSmtpServer;
  receiver: CountingWebhookReceiver;
  /** Open workflows by type, from Temporal's visibility. */
  openWorkflows: Record<string, number>;
}

const MAX_LISTED = 10;
const listed = (items: string[]) => (items.length > MAX_LISTED ? [...items.slice(0, MAX_LISTED), `… and ${items.length - MAX_LISTED} more`] : items);
const key = (...parts: (string | number)[]) => parts.join('|');

export async function runChecks(inputs: CheckInputs): Promise<CheckResult[]> {
  const { sql, target, requests } = inputs;
  const ids = requests.map((request) => request.id);
  const byId = new Map(requests.map((request) => [request.id, request]));
  const results: CheckResult[] = [];

  // 1. Every request finished as expected, and none is stuck.
  {
    const rows = await sql<{ id: string; status: string }[]>`select id, status from privacy_request where id = any(${ids})`;
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    const wrong = rows.filter((row) => row.status !== 'complete').map((row) => `${row.id} (${byId.get(row.id)!.kind}) is ${row.status}`);
    const missing = ids.filter((id) => !rows.some((row) => row.id === id)).map((id) => `${id} has no row`);
    results.push({
      check: 'requests complete',
      expected: `${requests.length} complete`,
      observed: Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(', ') || 'none',
      violations: listed([...wrong, ...missing]),
    });
  }

  // 2. Each collection: exactly one completed execution log row per phase, and one task row.
  {
    const logs = await sql<{ privacy_request_id: string; action_type: string; collection_name: string; complete: number; skipped: number }[]>`
      select privacy_request_id, action_type, collection_name,
        count(*) filter (where status = 'complete')::int as complete,
        count(*) filter (where status = 'skipped')::int as skipped
      from execution_log where privacy_request_id = any(${ids}) group by 1, 2, 3`;
    const tasks = await sql<{ privacy_request_id: string; action_type: string; collection: string; status: string }[]>`
      select privacy_request_id, action_type, collection, status from request_task where privacy_request_id = any(${ids})`;
    const logBy = new Map(logs.map((row) => [key(row.privacy_request_id, row.action_type, row.collection_name), row]));
    const taskBy = new Map<string, string[]>();
    for (const task of tasks) {
      const name = task.collection.split(':').pop()!;
      const k = key(task.privacy_request_id, task.action_type, name);
      taskBy.set(k, [...(taskBy.get(k) ?? []), task.status]);
    }
    const logProblems: string[] = [];
    const taskProblems: string[] = [];
    let expectedRows = 0;
    for (const request of requests) {
      const collections = Object.keys(expectedAccessCounts(request));
      const phases = request.kind.startsWith('erasure') ? ['access', 'erasure'] : ['access'];
      for (const phase of phases) {
        for (const collection of collections) {
          expectedRows += 1;
          const log = logBy.get(key(request.id, phase, collection));
          const terminal = (log?.complete ?? 0) + (log?.skipped ?? 0);
          // Access completes every collection; erasure completes or skips (not targeted) each once.
          if (phase === 'access' ? log?.complete !== 1 || log.skipped !== 0 : terminal !== 1) {
            logProblems.push(`${request.id} ${phase} ${collection}: ${log?.complete ?? 0} complete, ${log?.skipped ?? 0} skipped`);
          }
          const statuses = taskBy.get(key(request.id, phase, collection)) ?? [];
          if (statuses.length !== 1 || !['complete', 'skipped'].includes(statuses[0]!)) {
            taskProblems.push(`${request.id} ${phase} ${collection}: task rows ${JSON.stringify(statuses)}`);
          }
        }
      }
      const extraPhases = [...logBy.values()].filter((row) => row.privacy_request_id === request.id && !phases.includes(row.action_type));
      if (extraPhases.length) logProblems.push(`${request.id}: log rows for phase ${extraPhases[0]!.action_type}, which its policy does not have`);
    }
    results.push({
      check: 'one completed log row per collection and phase',
      expected: `${expectedRows} collection-phases, each once`,
      observed: `${expectedRows - logProblems.length} once, ${logProblems.length} otherwise`,
      violations: listed(logProblems),
    });
    results.push({
      check: 'one task row per collection and phase',
      expected: `${expectedRows} task rows, complete or skipped`,
      observed: `${tasks.length} task rows, ${taskProblems.length} wrong or missing`,
      violations: listed(taskProblems),
    });
  }

  // 3. Access results: the expected rows per collection, none stored twice, and the log agrees.
  {
    const stored = await sql<{ privacy_request_id: string; collection_name: string; rows: number; distinct_rows: number }[]>`
      select privacy_request_id, collection_name, count(*)::int as rows, count(distinct row)::int as distinct_rows
      from access_result where privacy_request_id = any(${ids}) group by 1, 2`;
    const logged = await sql<{ privacy_request_id: string; collection_name: string; row_count: number | null }[]>`
      select privacy_request_id, collection_name, row_count from execution_log
      where privacy_request_id = any(${ids}) and action_type = 'access' and status = 'complete'`;
    const storedBy = new Map(stored.map((row) => [key(row.privacy_request_id, row.collection_name), row]));
    const loggedBy = new Map(logged.map((row) => [key(row.privacy_request_id, row.collection_name), row.row_count]));
    const countProblems: string[] = [];
    const duplicates: string[] = [];
    let total = 0;
    for (const request of requests) {
      for (const [collection, count] of Object.entries(expectedAccessCounts(request))) {
        const row = storedBy.get(key(request.id, collection));
        total += row?.rows ?? 0;
        if ((row?.rows ?? 0) !== count) countProblems.push(`${request.id} ${collection}: ${row?.rows ?? 0} rows stored, ${count} expected`);
        if (row && row.rows !== row.distinct_rows) duplicates.push(`${request.id} ${collection}: ${row.rows - row.distinct_rows} duplicated rows`);
        const inLog = loggedBy.get(key(request.id, collection));
        if (inLog !== undefined && inLog !== count) countProblems.push(`${request.id} ${collection}: the log says ${inLog} rows, ${count} expected`);
      }
    }
    const expectedTotal = requests.reduce((sum, request) => sum + Object.values(expectedAccessCounts(request)).reduce((a, b) => a + b, 0), 0);
    results.push({ check: 'access rows per collection', expected: `${expectedTotal} rows`, observed: `${total} rows, ${countProblems.length} collections off`, violations: listed(countProblems) });
    results.push({ check: 'no duplicated access_result rows', expected: '0', observed: String(duplicates.length), violations: listed(duplicates) });
  }

  // 4. Erasure: the masked counts exact in the log, and the target rows as they must be.
  {
    const logged = await sql<{ privacy_request_id: string; collection_name: string; row_count: number | null }[]>`
      select privacy_request_id, collection_name, row_count from execution_log
      where privacy_request_id = any(${ids}) and action_type = 'erasure' and status = 'complete'`;
    const loggedBy = new Map(logged.map((row) => [key(row.privacy_request_id, row.collection_name), row.row_count ?? 0]));
    const customers = await target<{ id: number; name: string | null; house: number | null; street: string | null; card_name: string | null; email: string }[]>`
      select c.id, c.name, a.house, a.street, p.name as card_name, c.email
      from customer c join address a on a.id = c.address_id join payment_card p on p.customer_id = c.id
      where c.id = any(${requests.map((request) => request.customerId)})`;
    const customerBy = new Map(customers.map((row) => [row.id, row]));
    const problems: string[] = [];
    let masked = 0;
    let expectedMasked = 0;
    for (const request of requests) {
      const erased = request.kind.startsWith('erasure');
      if (erased) {
        for (const [collection, count] of Object.entries(expectedErasureCounts(request))) {
          expectedMasked += count;
          const inLog = loggedBy.get(key(request.id, collection));
          masked += inLog ?? 0;
          if (inLog !== count) problems.push(`${request.id} erasure ${collection}: the log says ${inLog ?? 'nothing'}, ${count} expected`);
        }
        const others = [...loggedBy.entries()].filter(([k, count]) => k.startsWith(`${request.id}|`) && count > 0 && !(k.split('|')[1]! in expectedErasureCounts(request)));
        for (const [k, count] of others) problems.push(`${request.id} erasure ${k.split('|')[1]}: ${count} rows masked, none expected`);
      }
      const row = customerBy.get(request.customerId);
      if (!row) {
        problems.push(`customer ${request.customerId} is gone`);
        continue;
      }
      const expected = erased
        ? { name: null, house: null, street: null }
        : { name: `Chaos Customer ${request.index}`, house: 100 + request.index, street: `Chaos Street ${request.index}` };
      if (row.name !== expected.name || row.house !== expected.house || row.street !== expected.street) {
        problems.push(`customer ${request.customerId} (${request.kind}): name ${JSON.stringify(row.name)}, house ${row.house}, street ${JSON.stringify(row.street)}; expected ${JSON.stringify(expected)}`);
      }
      // Not targeted: must be as seeded, erased or not.
      if (row.card_name !== `Chaos Customer ${request.index}` || row.email !== request.email) problems.push(`customer ${request.customerId}: an untargeted value changed`);
    }
    results.push({
      check: 'erasure counts exact',
      expected: `${expectedMasked} rows masked (log), target rows masked exactly for erasure requests`,
      observed: `${masked} rows masked (log), ${problems.length} problems`,
      violations: listed(problems),
    });
  }

  // 5. Failing once, then retried: the flaky requests went to error on chaos_flaky, the others never failed.
  {
    const errors = await sql<{ privacy_request_id: string; collection_name: string; message: string | null }[]>`
      select privacy_request_id, collection_name, message from execution_log where privacy_request_id = any(${ids}) and status = 'error'`;
    const retried = await sql<{ privacy_request_id: string; count: number }[]>`
      select privacy_request_id, count(*)::int as count from audit_log where privacy_request_id = any(${ids}) and action = 'retried' group by 1`;
    const retriedBy = new Map(retried.map((row) => [row.privacy_request_id, row.count]));
    const sequences = await target<{ name: string; value: number }[]>`
      select sequencename as name, coalesce(last_value, 0)::int as value from pg_sequences where sequencename like 'chaos_attempt_%'`;
    const reads = new Map(sequences.map((row) => [row.name, row.value]));
    const problems: string[] = [];
    let flakyErrored = 0;
    let flakyRetried = 0;
    const flaky = requests.filter((request) => request.flaky);
    for (const request of requests) {
      const own = errors.filter((row) => row.privacy_request_id === request.id);
      const unexpected = own.filter((row) => !(request.flaky && row.collection_name === 'chaos_flaky'));
      for (const row of unexpected) problems.push(`${request.id}: unexpected error in ${row.collection_name}: ${row.message}`);
      if (!request.flaky) continue;
      if (own.some((row) => row.collection_name === 'chaos_flaky')) flakyErrored += 1;
      if (retriedBy.get(request.id)) flakyRetried += 1;
      // Its row was refused once (the gate drew 1) and read again: at least two draws.
      const draws = reads.get(`chaos_attempt_${request.index}`) ?? 0;
      if (draws < 2) problems.push(`${request.id}: chaos_flaky read ${draws} times, at least 2 expected`);
    }
    results.push({
      check: 'failing once, then retried',
      expected: `${flaky.length} flaky requests refused once and completed; no other errors`,
      observed:
        `${flakyErrored} went to error and ${flakyRetried} were retried through the API; ${errors.length} error log rows in all` +
        // A refusal whose attempt a fault cut short is never
        // recorded (the failure lost with the worker or the server): Temporal runs the attempt again,
        // which reads the row a second time and passes.
        (flakyErrored < flaky.length ? `; ${flaky.length - flakyErrored} refused on an attempt a fault cut short, whose retry passed` : ''),
      violations: listed(problems),
    });
  }

  // 6. The audit log: finished once per request.
  {
    const finished = await sql<{ privacy_request_id: string; count: number }[]>`
      select privacy_request_id, count(*)::int as count from audit_log where privacy_request_id = any(${ids}) and action = 'finished' group by 1`;
    const by = new Map(finished.map((row) => [row.privacy_request_id, row.count]));
    const problems = ids.filter((id) => by.get(id) !== 1).map((id) => `${id}: ${by.get(id) ?? 0} finished audit rows`);
    results.push({ check: 'finished once in the audit log', expected: `${ids.length}`, observed: `${finished.filter((row) => row.count === 1).length}`, violations: listed(problems) });
  }

  // 7. Messages: none accepted twice by the SMTP server; each one recorded sent arrived once.
  {
    const messages = await sql<{ privacy_request_id: string; message_type: string; status: string; provider_message_id: string | null }[]>`
      select privacy_request_id, message_type, status, provider_message_id from message where privacy_request_id = any(${ids})`;
    const problems: string[] = [];
    const twice = [...inputs.smtp.byMessageId.entries()].filter(([, count]) => count > 1);
    for (const [id, count] of twice) problems.push(`Message-ID ${id} accepted ${count} times`);
    const statuses: Record<string, number> = {};
    for (const message of messages) {
      statuses[message.status] = (statuses[message.status] ?? 0) + 1;
      const arrived = message.provider_message_id ? (inputs.smtp.byMessageId.get(message.provider_message_id) ?? 0) : 0;
      if (message.status === 'sent' && arrived !== 1) problems.push(`${message.privacy_request_id} ${message.message_type}: recorded sent, arrived ${arrived} times`);
      if (!['sent', 'uncertain'].includes(message.status)) problems.push(`${message.privacy_request_id} ${message.message_type}: ${message.status}`);
    }
    const known = new Set(messages.map((message) => message.provider_message_id));
    for (const id of inputs.smtp.byMessageId.keys()) if (!known.has(id)) problems.push(`Message-ID ${id} arrived but no message row has it`);
    for (const request of requests) {
      const types = messages.filter((message) => message.privacy_request_id === request.id).map((message) => message.message_type).sort();
      if (!types.includes('receipt') || !types.includes('completion')) problems.push(`${request.id}: messages ${JSON.stringify(types)}, expected a receipt and a completion`);
    }
    results.push({
      check: 'no message sent twice',
      expected: 'each idempotency key at most once at the SMTP server; a receipt and a completion per request',
      observed: `${messages.length} message rows (${Object.entries(statuses).map(([status, count]) => `${count} ${status}`).join(', ')}), ${inputs.smtp.accepted} accepted by the server, ${twice.length} twice`,
      violations: listed(problems),
    });
  }

  // 8. Webhooks: every event delivered, none delivered twice under two ids; redeliveries of one id counted.
  {
    const deliveries = await sql<{ id: string; event_id: string; event_type: string; privacy_request_id: string; status: string; ok_attempts: number }[]>`
      select d.id, d.event_id, d.event_type, d.privacy_request_id, d.status,
        (select count(*)::int from webhook_delivery_attempt a where a.delivery_id = d.id and a.status_code between 200 and 299) as ok_attempts
      from webhook_delivery d where d.privacy_request_id = any(${ids})`;
    const problems: string[] = [];
    let redelivered = 0;
    for (const delivery of deliveries) {
      const arrived = inputs.receiver.byDeliveryId.get(delivery.id) ?? 0;
      if (delivery.status !== 'delivered') problems.push(`${delivery.id} (${delivery.event_type} of ${delivery.privacy_request_id}) is ${delivery.status}`);
      else if (arrived === 0) problems.push(`${delivery.id} recorded delivered, never arrived`);
      if (arrived > 1) {
        // At least once by design (docs/decisions.md, "What notices cost"): an attempt whose answer
        // was lost with its worker is sent again under the same webhook-id. Sending again one that
        // was recorded delivered is not.
        if (delivery.ok_attempts > 1) problems.push(`${delivery.id} (${delivery.event_type}) sent again after it was recorded delivered (${delivery.ok_attempts} recorded 2xx attempts)`);
        redelivered += 1;
      }
    }
    const known = new Set(deliveries.map((delivery) => delivery.id));
    for (const id of inputs.receiver.byDeliveryId.keys()) if (!known.has(id)) problems.push(`webhook-id ${id} arrived but no delivery row has it`);
    for (const request of requests) {
      const own = deliveries.filter((delivery) => delivery.privacy_request_id === request.id);
      for (const type of ['request.received', 'request.completed']) {
        const count = own.filter((delivery) => delivery.event_type === type).length;
        if (count !== 1) problems.push(`${request.id}: ${count} ${type} events`);
      }
    }
    if (inputs.receiver.unverified) problems.push(`${inputs.receiver.unverified} webhook requests with a bad signature`);
    results.push({
      check: 'no webhook event delivered twice',
      expected: 'one delivery per event, each accepted once (a webhook-id repeated only where its first answer was lost)',
      observed: `${deliveries.length} deliveries, ${inputs.receiver.accepted} accepted by the receiver, ${redelivered} webhook-ids accepted more than once`,
      violations: listed(problems),
    });
  }

  // 9. No workflow left running (access package expiry timers run for days by design).
  {
    const open = Object.entries(inputs.openWorkflows).filter(([type]) => type !== 'accessPackageExpiryWorkflow');
    const problems = open.filter(([, count]) => count > 0).map(([type, count]) => `${count} ${type} workflows still running`);
    results.push({
      check: 'no workflow stuck',
      expected: '0 privacy request or delivery workflows running',
      observed: Object.entries(inputs.openWorkflows).map(([type, count]) => `${count} ${type}`).join(', ') || '0 running',
      violations: problems,
    });
  }
  return results;
}
