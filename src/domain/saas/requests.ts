/**
 * From a saas_config request template to concrete HTTP requests, and from responses back to
 * records. Pure: the connector (src/connectors/saas.ts) sends what this builds.
 *
 * - Which requests a read makes: identities (and connector params) go into every request; each
 *   value of each reference param makes a request of its own (a record found by any of them is
 *   the person's), unless the request groups its inputs (`grouped_inputs`), when the values are
 *   combined. A query param or header whose placeholder nothing fills is left out; a path that
 *   cannot be filled is not requested.
 * - Records: `data_path`, then the postprocessors (`unwrap`, `filter`) in order.
 * - Pagination: `offset`, `link` (header or body) and `cursor`, each deciding the next request
 *   from the last response.
 */
import {
  fillJsonTemplate,
  placeholdersIn,
  referenceOf,
  requestList,
  ROW_PLACEHOLDERS,
  type ConnectorParam,
  type JsonFill,
  type SaasConfig,
  type SaasRequest,
} from './config.js';

export type Row = Record<string, unknown>;

/** Values by placeholder name. */
export type Values = Record<string, unknown>;

export interface BuiltRequest {
  method: string;
  /** Path with its query string, relative to the client's base. */
  path: string;
  query: [string, string][];
  headers: [string, string][];
  body?: string | undefined;
}

/** Connector param values: the secrets given, else the defaults; null when neither. */
export function connectorParamValues(params: ConnectorParam[], secrets: Record<string, unknown>): Values {
  const values: Values = {};
  for (const param of params) {
    const given = secrets[param.name];
    values[param.name] = given !== undefined && given !== null && given !== '' ? given : (param.default_value ?? null);
  }
  return values;
}

/**
 * The connector params without a value. A param that declares `default_value`, even an empty
 * one (Mailchimp's transactional_api_key), or `required: false`, may stay unset.
 */
export function missingConnectorParams(params: ConnectorParam[], secrets: Record<string, unknown>): string[] {
  const values = connectorParamValues(params, secrets);
  return params
    .filter((param) => param.required !== false && param.default_value === undefined && (values[param.name] === null || values[param.name] === undefined))
    .map((param) => param.name);
}

const scalarText = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : JSON.stringify(value));

/** Fills a plain-text template; undefined when a placeholder has no value. `encode` is applied to each value. */
export function fillText(template: string, values: Values, encode: (text: string) => string = (text) => text): string | undefined {
  let missing = false;
  const filled = template.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined || value === null) {
      missing = true;
      return whole;
    }
    return encode(scalarText(value));
  });
  return missing ? undefined : filled;
}

/** A dotted path into a value (`exact_matches.members`); arrays are walked by index. */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || current === undefined) return undefined;
    if (typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * One map of placeholder values per request a read makes. `inputs` are the values the graph
 * gathered for this collection, by param_value name.
 */
export function readCombinations(request: SaasRequest, inputs: Map<string, unknown[]>, params: Values, groups: Values[] = []): Values[] {
  const fixed: Values = { ...params };
  const alternatives: { name: string; values: unknown[] }[] = [];
  const grouped = new Set(request.grouped_inputs ?? []);
  const groupedValues: { name: string; values: unknown[] }[] = [];
  for (const param of request.param_values ?? []) {
    if (param.connector_param !== undefined) {
      fixed[param.name] = params[param.connector_param];
      continue;
    }
    const values = inputs.get(param.name) ?? [];
    if (grouped.has(param.name)) groupedValues.push({ name: param.name, values });
    else if (param.identity !== undefined) {
      if (values.length) fixed[param.name] = values[0];
    } else if (values.length) alternatives.push({ name: param.name, values });
  }
  if (groupedValues.length) {
    if (groupedValues.some((group) => group.values.length === 0)) return [];
    // Values that came from one upstream record stay together (an organization with its own
    // projects, not with every project found); identities join each of them.
    const references = groupedValues.filter(({ name }) => (request.param_values ?? []).some((param) => param.name === name && param.references !== undefined));
    const together = groups.filter((group) => references.length > 0 && references.every(({ name }) => group[name] !== undefined && group[name] !== null));
    if (together.length) {
      const others = groupedValues.filter((group) => !references.includes(group));
      const seen = new Set<string>();
      return together.flatMap((group) => {
        const picked = Object.fromEntries(references.map(({ name }) => [name, group[name]]));
        let combos: Values[] = [picked];
        for (const other of others) combos = combos.flatMap((combo) => other.values.map((value) => ({ ...combo, [other.name]: value })));
        return combos.filter((combo) => {
          const key = JSON.stringify(combo);
          return !seen.has(key) && (seen.add(key), true);
        }).map((combo) => ({ ...fixed, ...combo }));
      });
    }
    let combos: Values[] = [{}];
    for (const group of groupedValues) combos = combos.flatMap((combo) => group.values.map((value) => ({ ...combo, [group.name]: value })));
    return combos.map((combo) => ({ ...fixed, ...combo }));
  }
  const referenceParams = (request.param_values ?? []).filter((param) => param.references !== undefined);
  if (referenceParams.length === 0) return [fixed];
  return alternatives.flatMap(({ name, values }) => values.map((value) => ({ ...fixed, [name]: value })));
}

const isForm = (headers: [string, string][]) => headers.some(([name, value]) => name.toLowerCase() === 'content-type' && value.toLowerCase().startsWith('application/x-www-form-urlencoded'));

/** Stripe-style form encoding of nested values: `address[city]=…`, `items[0]=…`; null is sent empty. */
export function formEncode(value: Row): string {
  const pairs: string[] = [];
  const walk = (prefix: string, item: unknown) => {
    if (item !== null && typeof item === 'object') {
      const entries = Array.isArray(item) ? item.map((v, i) => [String(i), v] as const) : Object.entries(item as Row);
      for (const [key, child] of entries) walk(prefix ? `${prefix}[${key}]` : key, child);
    } else pairs.push(`${encodeURIComponent(prefix)}=${encodeURIComponent(item === null || item === undefined ? '' : scalarText(item))}`);
  };
  walk('', value);
  return pairs.join('&');
}

/**
 * Builds one request from a template and placeholder values; undefined when its path cannot be
 * filled. `row` supplies `<masked_object_fields>` and `<all_object_fields>` to a body.
 */
export function buildRequest(request: SaasRequest, values: Values, row?: { masked: Row; all: Row }): BuiltRequest | undefined {
  const path = fillText(request.path, values, encodeURIComponent);
  if (path === undefined) return undefined;
  const query: [string, string][] = [];
  for (const param of request.query_params ?? []) {
    const value = fillText(param.value, values);
    if (value !== undefined) query.push([param.name, value]);
  }
  const headers: [string, string][] = [];
  for (const header of request.headers ?? []) {
    const value = fillText(header.value, values);
    if (value !== undefined) headers.push([header.name, value]);
  }
  let body: string | undefined;
  if (request.body !== undefined) {
    const fill = (name: string): JsonFill => {
      if (name === 'masked_object_fields') return { members: row?.masked ?? {} };
      if (name === 'all_object_fields') return { members: row?.all ?? {} };
      return { value: values[name] ?? null };
    };
    const json = fillJsonTemplate(request.body, fill);
    body = isForm(headers) ? formEncode(JSON.parse(json) as Row) : json;
    if (!headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/json']);
  }
  return { method: request.method, path, query, headers, ...(body !== undefined ? { body } : {}) };
}

/** The records of a response body: at `data_path`, as a list. */
export function recordsAt(body: unknown, dataPath: string | undefined): Row[] {
  const value = dataPath ? getPath(body, dataPath) : body;
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((item): item is Row => typeof item === 'object' && item !== null && !Array.isArray(item));
}

/** Applies the request's postprocessors in order. */
export function postprocess(records: Row[], request: SaasRequest, identities: Record<string, unknown>): Row[] {
  let current: Row[] = records;
  for (const processor of request.postprocessors ?? []) {
    const configuration = (processor.configuration ?? {}) as Record<string, unknown>;
    if (processor.strategy === 'unwrap') {
      current = current.flatMap((record) => recordsAt(record, configuration.data_path as string));
    } else if (processor.strategy === 'filter') {
      current = filterRecords(current, configuration as unknown as FilterConfiguration, identities);
    }
  }
  return current;
}

export interface FilterConfiguration {
  field: string;
  value: string | number | boolean | { identity: string };
  exact?: boolean;
  case_sensitive?: boolean;
}

/** Keeps the records whose field (or one of its elements) equals the value, or contains it when not exact. */
export function filterRecords(records: Row[], configuration: FilterConfiguration, identities: Record<string, unknown>): Row[] {
  const raw = typeof configuration.value === 'object' ? identities[configuration.value.identity] : configuration.value;
  if (raw === undefined || raw === null) return [];
  const exact = configuration.exact ?? true;
  const caseSensitive = configuration.case_sensitive ?? true;
  const normalize = (value: unknown) => (caseSensitive ? scalarText(value) : scalarText(value).toLowerCase());
  const wanted = normalize(raw);
  const matches = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.some(matches);
    if (value === null || value === undefined) return false;
    const text = normalize(value);
    return exact ? text === wanted : text.includes(wanted);
  };
  return records.filter((record) => matches(getPath(record, configuration.field)));
}

export interface PageResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** Records at data_path (before postprocessors). */
  records: Row[];
}

/** The next request of a paginated read, or undefined when the last page was reached. */
export function nextPage(request: SaasRequest, current: BuiltRequest, response: PageResponse, values: Values): BuiltRequest | { url: string } | undefined {
  const pagination = request.pagination;
  if (!pagination) return undefined;
  const configuration = (pagination.configuration ?? {}) as Record<string, unknown>;
  switch (pagination.strategy) {
    case 'offset': {
      if (response.records.length === 0) return undefined;
      const param = configuration.incremental_param as string;
      const currentValue = Number(current.query.find(([name]) => name === param)?.[1] ?? 0);
      const next = currentValue + Number(configuration.increment_by);
      const limitSetting = configuration.limit;
      const limit = typeof limitSetting === 'number' ? limitSetting : Number(fillText(String(limitSetting), values) ?? Infinity);
      if (Number.isFinite(limit) && next > limit) return undefined;
      return { ...current, query: [...current.query.filter(([name]) => name !== param), [param, String(next)]] };
    }
    case 'cursor': {
      const last = response.records[response.records.length - 1];
      const cursor = last === undefined ? undefined : getPath(last, configuration.field as string);
      if (cursor === undefined || cursor === null) return undefined;
      const param = configuration.cursor_param as string;
      return { ...current, query: [...current.query.filter(([name]) => name !== param), [param, scalarText(cursor)]] };
    }
    case 'link': {
      if (configuration.source === 'headers') {
        const url = linkHeaderTarget(response.headers.get('link'), (configuration.rel as string | undefined) ?? 'next');
        return url ? { url } : undefined;
      }
      const url = getPath(response.body, (configuration.path as string | undefined) ?? 'next');
      return typeof url === 'string' && url !== '' ? { url } : undefined;
    }
    default:
      return undefined;
  }
}

/** The target of `rel` in an RFC 8288 Link header. */
export function linkHeaderTarget(header: string | null, rel: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2]!)?.[1]?.split(/\s+/) ?? [];
    if (rels.includes(rel)) return match[1];
  }
  return undefined;
}

/** Sets a dotted path in a nested object, creating objects on the way. */
export function setPath(target: Row, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Row;
  }
  node[parts[parts.length - 1]!] = value;
}

/**
 * Placeholder values for an update or delete of one record: param_values that reference the
 * collection's own fields take them from the record; identities and connector params as for reads.
 */
export function writeValues(request: SaasRequest, record: Row, identities: Record<string, unknown>, params: Values): Values {
  const values: Values = { ...params };
  for (const [name, value] of Object.entries(identities)) values[name] ??= value;
  for (const param of request.param_values ?? []) {
    if (param.connector_param !== undefined) values[param.name] = params[param.connector_param];
    else if (param.identity !== undefined) values[param.name] = identities[param.identity];
    else {
      for (const raw of param.references ?? []) {
        const reference = referenceOf(raw);
        const fieldPath = reference.field.split('.').slice(1).join('.');
        const value = getPath(record, fieldPath);
        if (value !== undefined && value !== null) {
          values[param.name] = value;
          break;
        }
      }
    }
  }
  return values;
}

/** Whether a request template needs the record to be sent at all (it has row placeholders). */
export const usesRowFields = (request: SaasRequest) => request.body !== undefined && placeholdersIn(request.body).some((name) => (ROW_PLACEHOLDERS as readonly string[]).includes(name));

/** The read request of an endpoint (the first, when a list is given). */
export function readRequestOf(config: SaasConfig, collection: string): SaasRequest | undefined {
  return requestList(config.endpoints.find((endpoint) => endpoint.name === collection)?.requests.read)[0];
}

/** Query params as a string, for a path relative to the base. */
export function withQuery(path: string, query: [string, string][]): string {
  if (!query.length) return path;
  const search = new URLSearchParams(query).toString();
  return `${path}${path.includes('?') ? '&' : '?'}${search}`;
}
