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
import { METRIC_REQUEST_TYPES, periodMetrics, type MetricCounts, type MetricRequestType } from '../db/metrics.js';
import { listPrivacyRequests, readIdentitiesOf, type PrivacyRequestFilters } from '../db/privacy-requests.js';
import type { Identity } from '../domain/privacy-requests.js';
import { neutraliseFormula } from '../domain/access-package.js';
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
  verification_sent: 'Identity verification',
  verified: 'Identity verification',
  extended: 'Due date',
  due_soon: 'Due date',
  overdue: 'Due date',
  legal_hold_placed: 'Legal hold',
  legal_hold_lifted: 'Legal hold',
  consent_sent: 'Consent',
  consent_failed: 'Consent',
  duplicate: 'Duplicate',
  identity_revealed: 'Identity revealed',
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
  /** Count at most this many matching requests (the listing's `count_limit`). */
  countLimit?: number | undefined;
}

export type ListedPrivacyRequest = ReturnType<typeof toPrivacyRequestResponse> & {
  identity?: Identity;
  results?: Record<string, LogEntry[]>;
};

export async function listReport(deps: { sql: Sql; encryptionKey: Buffer }, filters: PrivacyRequestFilters, options: ListOptions) {
  const { page, size } = options;
  const { items, total, capped } = await listPrivacyRequests(deps.sql, filters, page, size, { countLimit: options.countLimit });
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
    ...(options.countLimit !== undefined ? { total_capped: capped } : {}),
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

// ---- Compliance metrics (CCPA §7102(a)) ----------------------------------------------------

/** What a regulation's (or all regulations') requests of each type came to. */
export type MetricsByType = Record<MetricRequestType, MetricCounts>;

export interface MetricsReport {
  year: number;
  /** The period of receipt: [from, to), UTC. */
  from: string;
  to: string;
  /** When `open` and `overdue_open` were measured (the database's clock). */
  as_of: string;
  access: MetricCounts;
  erasure: MetricCounts;
  /** The same per regulation, for the regulations of the requests received in the year. */
  by_regulation: Record<string, MetricsByType>;
}

const noRequests = (): MetricCounts => ({
  received: 0,
  duplicates: 0,
  complied_in_whole: 0,
  complied_in_part: 0,
  denied: 0,
  denied_by_reason: {},
  canceled: 0,
  open: 0,
  overdue_open: 0,
  completed_late: 0,
  median_days_to_respond: null,
  mean_days_to_respond: null,
});

/** The metrics of the requests received in the calendar year (UTC). */
export async function complianceMetrics(sql: Sql, year: number): Promise<MetricsReport> {
  const from = new Date(Date.UTC(year, 0, 1));
  const to = new Date(Date.UTC(year + 1, 0, 1));
  const { asOf, rows } = await periodMetrics(sql, from, to);
  const all: MetricsByType = { access: noRequests(), erasure: noRequests() };
  const byRegulation: Record<string, MetricsByType> = {};
  for (const { regulation, request_type, ...counts } of rows) {
    const target = regulation === null ? all : (byRegulation[regulation] ??= { access: noRequests(), erasure: noRequests() });
    target[request_type] = counts;
  }
  return { year, from: from.toISOString(), to: to.toISOString(), as_of: asOf.toISOString(), ...all, by_regulation: byRegulation };
}

export const METRICS_CSV_COLUMNS = [
  'regulation', 'request_type', 'received', 'duplicates', 'complied_in_whole', 'complied_in_part', 'denied', 'denied_by_reason',
  'canceled', 'open', 'overdue_open', 'completed_late', 'median_days_to_respond', 'mean_days_to_respond',
] as const;

/** RFC 4180, null as empty; text a spreadsheet would run as a formula gets a leading apostrophe, as in the request export. */
function metricsCsvField(value: string | number | null): string {
  if (value === null) return '';
  const text = neutraliseFormula(String(value));
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record per (regulation or `all`, request type): `all` first, then the regulations by name. CRLF line ends. */
export function metricsCsv(report: MetricsReport): string {
  const groups: [string, MetricsByType][] = [
    ['all', { access: report.access, erasure: report.erasure }],
    ...Object.entries(report.by_regulation).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ];
  const lines = [METRICS_CSV_COLUMNS.join(',')];
  for (const [regulation, byType] of groups) {
    for (const requestType of METRIC_REQUEST_TYPES) {
      const counts = byType[requestType];
      // `insuf_verification: 2; other: 1`, by code.
      const reasons = Object.entries(counts.denied_by_reason)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([code, count]) => `${code}: ${count}`)
        .join('; ');
      const record: Record<(typeof METRICS_CSV_COLUMNS)[number], string | number | null> = {
        ...counts,
        regulation,
        request_type: requestType,
        denied_by_reason: reasons || null,
      };
      lines.push(METRICS_CSV_COLUMNS.map((column) => metricsCsvField(record[column])).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
