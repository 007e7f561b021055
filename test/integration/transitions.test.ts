/**
 * A status transition, its audit row and its webhook events (src/db/transitions.ts) against a real
 * Postgres: one statement, all or nothing, and idempotent.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/db/client.js';
import { recordStatusChange, recordTransitionAndEvents } from '../../src/db/transitions.js';
import { cloneDatabase } from '../support/databases.js';

let sql: Sql;
const statements: string[] = [];
const REQUEST = 'pri_transitions';
const at = new Date('2026-12-02T10:00:00Z');
const audit = (message: string) => ({ privacy_request_id: REQUEST, event_key: 'transition:in_processing', action: 'approved' as const, user_id: 'reviewer', message });

beforeAll(async () => {
  sql = connect(await cloneDatabase(inject('serviceTemplate'), `${inject('runId')}_transitions`), { max: 2 });
  await sql`insert into privacy_request (id, status, policy_key, action_types) values (${REQUEST}, 'pending', 'none', '{access}')`;
  Object.assign(sql.options, { debug: (_connection: number, query: string) => statements.push(query.trim().split(/\s+/)[0]!.toLowerCase()) });
});
afterAll(async () => {
  await sql?.end();
});

const request = async () => (await sql<{ status: string; started_processing_at: Date | null; reviewed_by: string | null }[]>`select status, started_processing_at, reviewed_by from privacy_request where id = ${REQUEST}`)[0]!;
const auditRows = () => sql<{ message: string; created_at: Date }[]>`select message, created_at from audit_log where privacy_request_id = ${REQUEST}`;

it('refuses an audit row Postgres cannot store and leaves the status as it was: both or neither', async () => {
  await expect(recordStatusChange(sql, REQUEST, { status: 'in_processing', at, reviewedBy: 'reviewer' }, audit('bad \u0000 byte'))).rejects.toThrow();
  expect(await request()).toMatchObject({ status: 'pending', started_processing_at: null, reviewed_by: null });
  expect(await auditRows()).toEqual([]);
});

it('writes the status and its audit row in one statement, once', async () => {
  statements.length = 0;
  await recordStatusChange(sql, REQUEST, { status: 'in_processing', at, reviewedBy: 'reviewer' }, audit('approved'));
  expect(statements).toEqual(['with']); // no begin, no commit: one round trip
  await recordStatusChange(sql, REQUEST, { status: 'in_processing', at: new Date(at.getTime() + 1000), reviewedBy: 'reviewer' }, audit('approved again'));
  expect(await request()).toEqual({ status: 'in_processing', started_processing_at: at, reviewed_by: 'reviewer' });
  expect(await auditRows()).toEqual([{ message: 'approved', created_at: at }]);
});

it('writes a status without an audit row in one statement', async () => {
  statements.length = 0;
  await recordStatusChange(sql, REQUEST, { status: 'complete', at });
  expect(statements).toEqual(['update']);
  expect((await request()).status).toBe('complete');
});

it('writes a transition, its audit row and its webhook events in one statement, all or nothing, and answers pending deliveries again', async () => {
  const EVENTS = 'pri_transition_events';
  await sql`insert into privacy_request (id, status, policy_key, action_types) values (${EVENTS}, 'pending', 'none', '{access}')`;
  await sql`insert into webhook_subscription (id, url, secret_encrypted, event_types) values ('whk_transitions', 'http://127.0.0.1:9/hook', '\\x00', '{request.approved,request.completed}')`;
  const event = (type: 'request.approved' | 'request.completed' | 'request.denied') => ({ id: `${EVENTS}:${type}`, type, privacyRequestId: EVENTS, occurredAt: at.toISOString(), data: { status: 'in_processing' } });
  const write = (message: string) =>
    recordTransitionAndEvents(
      sql,
      EVENTS,
      { change: { status: 'in_processing', at }, audit: { ...audit(message), privacy_request_id: EVENTS }, at },
      [event('request.approved'), event('request.denied'), event('request.completed')],
    );
  // A row Postgres refuses (the audit message) takes the status and the deliveries with it.
  await expect(write('bad \u0000 byte')).rejects.toThrow();
  expect(await sql`select 1 from webhook_delivery where privacy_request_id = ${EVENTS}`).toHaveLength(0);
  expect((await sql`select status from privacy_request where id = ${EVENTS}`)[0]).toEqual({ status: 'pending' });

  statements.length = 0;
  const created = await write('approved');
  expect(statements).toEqual(['with']);
  const stored = await sql<{ id: string; event_type: string }[]>`select id, event_type from webhook_delivery where privacy_request_id = ${EVENTS} order by event_type`;
  expect(stored.map((row) => row.event_type)).toEqual(['request.approved', 'request.completed']); // nobody subscribed to denials
  expect(created).toEqual([stored[0]!.id, stored[1]!.id]); // in the events' order
  expect((await sql`select status from privacy_request where id = ${EVENTS}`)[0]).toEqual({ status: 'in_processing' });
  expect(await sql`select 1 from audit_log where privacy_request_id = ${EVENTS}`).toHaveLength(1);
  // A batch run again (its answer lost): the same deliveries, still pending, and nothing new.
  expect(await write('approved')).toEqual(created);
  expect(await sql`select 1 from webhook_delivery where privacy_request_id = ${EVENTS}`).toHaveLength(2);
  await expect(recordTransitionAndEvents(sql, EVENTS, { at }, [event('request.approved'), event('request.approved')])).rejects.toThrow(/twice/);
});
