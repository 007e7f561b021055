/**
 * A status transition and its audit row (src/db/transitions.ts) against a real Postgres: one
 * statement, both or neither, and idempotent.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { connect, type Sql } from '../../src/db/client.js';
import { recordStatusChange } from '../../src/db/transitions.js';
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
