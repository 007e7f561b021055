/**
 * The privacy request listing as reference 000 describes it: a page of requests, with, when
 * asked, their identities (while their time to live lasts) and their logs (`verbose`): execution
 * log entries grouped by dataset name and audit entries under "Request approved", "Request
 * finished"…, at most 50 of each group.
 */
import { firstAuditLogsPerAction } from '../db/audit-log.js';
import type { AuditLogAction } from '../domain/lifecycle.js';
import type { Sql } from '../db/client.js';
import { firstExecutionLogsPerDataset } from '../db/execution-log.js';
import { listPrivacyRequests, readIdentitiesOf, type PrivacyRequestFilters } from '../db/privacy-requests.js';
import type { Identity } from '../domain/privacy-requests.js';
import { toPrivacyRequestResponse } from './privacy-requests.js';

/** Embedded logs stop at this many entries per group; the log endpoint has them all. */
export const EMBEDDED_LOG_LIMIT = 50;

/** The group an audit entry is shown under in `results`. */
export const AUDIT_GROUPS: Record<AuditLogAction, string> = {
  approved: 'Request approved',
  denied: 'Request denied',
  canceled: 'Request canceled',
  error: 'Request error',
  retried: 'Request retried',
  erasure_confirmed: 'Erasure confirmed',
  manual_input: 'Manual input received',
  action_rejected: 'Action rejected',
  finished: 'Request finished',
  warning: 'Request warnings',
};

export interface LogEntry {
  collection_name: string | null;
  fields_affected: unknown[] | null;
  message: string | null;
  action_type: string | null;
  status: string;
  updated_at: string;
  user_id: string | null;
}

export interface ListOptions {
  page: number;
  size: number;
  verbose: boolean;
  includeIdentities: boolean;
}

export type ListedPrivacyRequest = ReturnType<typeof toPrivacyRequestResponse> & {
  identity?: Identity;
  results?: Record<string, LogEntry[]>;
};

export async function listReport(deps: { sql: Sql; encryptionKey: Buffer }, filters: PrivacyRequestFilters, options: ListOptions) {
  const { page, size } = options;
  const { items, total } = await listPrivacyRequests(deps.sql, filters, page, size);
  const ids = items.map((item) => item.id);
  const [results, identities] = await Promise.all([
    options.verbose ? verboseResults(deps.sql, ids) : undefined,
    options.includeIdentities ? readIdentitiesOf(deps.sql, ids, deps.encryptionKey) : undefined,
  ]);
  return {
    items: items.map((row): ListedPrivacyRequest => ({
      ...toPrivacyRequestResponse(row),
      ...(identities ? { identity: identities.get(row.id) ?? {} } : {}),
      ...(results ? { results: results.get(row.id) ?? {} } : {}),
    })),
    total,
    page,
    size,
    pages: Math.ceil(total / size),
  };
}

/** Per request: its log entries grouped by dataset and audit group, each group in time order. */
export async function verboseResults(sql: Sql, privacyRequestIds: string[]): Promise<Map<string, Record<string, LogEntry[]>>> {
  const [executions, audits] = await Promise.all([
    firstExecutionLogsPerDataset(sql, privacyRequestIds, EMBEDDED_LOG_LIMIT),
    firstAuditLogsPerAction(sql, privacyRequestIds, EMBEDDED_LOG_LIMIT),
  ]);
  const entries = [
    ...executions.map((log) => ({
      requestId: log.privacy_request_id,
      group: log.dataset_name,
      at: log.created_at,
      entry: {
        collection_name: log.collection_name,
        fields_affected: log.fields_affected,
        message: log.message,
        action_type: log.action_type,
        status: log.status,
        updated_at: log.created_at.toISOString(),
        user_id: null,
      },
    })),
    ...audits.map((audit) => ({
      requestId: audit.privacy_request_id,
      group: AUDIT_GROUPS[audit.action] ?? audit.action,
      at: audit.created_at,
      entry: {
        collection_name: null,
        fields_affected: null,
        message: audit.message ?? '',
        action_type: null,
        status: audit.action,
        updated_at: audit.created_at.toISOString(),
        user_id: audit.user_id,
      },
    })),
  ];
  // Entries keep their log order (by id) within a group; groups appear in the order of their
  // earliest entry: "Request approved", the datasets, "Request finished".
  const groups = new Map<string, Map<string, { first: number; entries: LogEntry[] }>>();
  for (const { requestId, group, at, entry } of entries) {
    let byName = groups.get(requestId);
    if (!byName) groups.set(requestId, (byName = new Map()));
    let named = byName.get(group);
    if (!named) byName.set(group, (named = { first: at.getTime(), entries: [] }));
    named.first = Math.min(named.first, at.getTime());
    named.entries.push(entry);
  }
  const results = new Map<string, Record<string, LogEntry[]>>();
  for (const [requestId, byName] of groups) {
    const ordered = [...byName].sort(([, a], [, b]) => a.first - b.first);
    results.set(requestId, Object.fromEntries(ordered.map(([name, group]) => [name, group.entries])));
  }
  return results;
}
