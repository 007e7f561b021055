/**
 * Helpers for the reporting tests: requests and log rows written straight into the service
 * database (a listing fixture needs many, in states a workflow would take minutes to reach),
 * the listing over HTTP, and a CSV parser written independently of the API's CSV writer.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../src/db/client.js';
import type { Harness } from './harness.js';

export interface SeededRequest {
  id: string;
  external_id: string | null;
  policy_key: string;
  action_types: ('access' | 'erasure')[];
  status: string;
  created_at: Date;
  requested_at?: Date | null;
  reviewed_at?: Date | null;
  reviewed_by?: string | null;
  started_processing_at?: Date | null;
  finished_processing_at?: Date | null;
  errored_at?: Date | null;
  canceled_at?: Date | null;
  paused_at?: Date | null;
  denial_reason?: string | null;
}

/** `pri_` and a UUID whose last digits are n: ids sort like n. */
export const requestId = (n: number, prefix = '00000000') => `pri_${prefix}-0000-4000-8000-${String(n).padStart(12, '0')}`;

export async function seedRequests(sql: Sql, requests: SeededRequest[]): Promise<void> {
  const rows = requests.map((request) => ({
    requested_at: null,
    reviewed_at: null,
    reviewed_by: null,
    started_processing_at: null,
    finished_processing_at: null,
    errored_at: null,
    canceled_at: null,
    paused_at: null,
    denial_reason: null,
    ...request,
    updated_at: request.created_at,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500) as Record<string, unknown>[];
    await sql`insert into privacy_request ${sql(batch as never, ...(Object.keys(batch[0]!) as never[]))}`;
  }
}

export interface SeededLog {
  dataset_name: string;
  collection_name: string;
  action_type?: 'access' | 'erasure';
  status: string;
  message?: string | null;
  row_count?: number | null;
  error_category?: string | null;
  created_at: Date;
}

export async function seedLogs(sql: Sql, privacyRequestId: string, logs: SeededLog[]): Promise<void> {
  const rows = logs.map((log) => ({
    privacy_request_id: privacyRequestId,
    event_key: `seeded:${randomUUID()}`,
    connection_key: 'postgres_example',
    dataset_name: log.dataset_name,
    collection_name: log.collection_name,
    action_type: log.action_type ?? 'access',
    status: log.status,
    message: log.message ?? null,
    fields_affected: sql.json([]),
    row_count: log.row_count ?? null,
    error_category: log.error_category ?? null,
    created_at: log.created_at,
  }));
  for (let i = 0; i < rows.length; i += 500) await sql`insert into execution_log ${sql(rows.slice(i, i + 500) as never[])}`;
}

export async function seedAudit(sql: Sql, privacyRequestId: string, entries: { action: string; user_id: string | null; message: string | null; created_at: Date }[]): Promise<void> {
  const rows = entries.map((entry) => ({ privacy_request_id: privacyRequestId, event_key: `seeded:${randomUUID()}`, ...entry }));
  if (rows.length) await sql`insert into audit_log ${sql(rows as never[])}`;
}

export interface Page<T = Record<string, unknown>> {
  items: (T & { id: string })[];
  total: number;
  page: number;
  size: number;
  pages: number;
}

/** GET /api/v1/privacy-request with the query; fails the test when the answer is not 200. */
export async function listPage<T = Record<string, unknown>>(harness: Pick<Harness, 'fetch'>, query: string): Promise<Page<T>> {
  const response = await harness.fetch(`/api/v1/privacy-request${query ? `?${query}` : ''}`);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ?${query}: ${response.status} ${body}`);
  return JSON.parse(body) as Page<T>;
}

/** Every page of the listing, followed until it ends. */
export async function allPages(harness: Pick<Harness, 'fetch'>, query: string, size: number): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let page = 1; ; page += 1) {
    const body = await listPage(harness, `${query}${query ? '&' : ''}size=${size}&page=${page}`);
    items.push(...body.items);
    if (page >= body.pages) return items;
  }
}

/**
 * RFC 4180, read character by character: quoted fields may hold commas, doubled quotes and line
 * breaks; records end with CRLF (or LF).
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else field += char;
      i += 1;
      continue;
    }
    if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n' || (char === '\r' && text[i + 1] === '\n')) {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      if (char === '\r') i += 1;
    } else field += char;
    i += 1;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || record.length) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** The CSV's records as objects keyed by the header, with empty fields as null. */
export function csvObjects(text: string): Record<string, string | null>[] {
  const [header, ...records] = parseCsv(text);
  return records.map((record) => {
    if (record.length !== header!.length) throw new Error(`CSV record with ${record.length} fields, header has ${header!.length}: ${JSON.stringify(record)}`);
    return Object.fromEntries(header!.map((name, i) => [name, record[i] === '' ? null : record[i]!]));
  });
}
