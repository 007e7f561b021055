/**
 * Fides' `saas_config`: how to reach a SaaS vendor's API for the collections of one dataset.
 *
 * A config names its connector params (what the connection's secrets supply), the client
 * (protocol, host, authentication), and per endpoint (a collection of the dataset) the requests
 * that read, update and delete its records, with `<placeholders>` filled from the connector
 * params, the identities and `param_values` (references to fields of other collections). It may
 * add pagination, postprocessors, a rate limit and consent requests.
 *
 * Files written for Fides load unchanged: keys dsrflow does not use are accepted and ignored.
 * What dsrflow cannot run (an unknown strategy, a placeholder nothing fills, a reference to a
 * field that does not exist, a host that is not a host name, a body that is not JSON) is refused
 * with the YAML line. Pure: no I/O.
 */
import { z } from 'zod';
import { fidesKey, findField, referenceSchema, type Dataset } from '../datasets.js';
import { formatPath, issueMessage } from '../messages.js';
import { readYaml, type Path } from '../yaml.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A `<name>` in a template. */
export const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/g;

/** Placeholders the executor fills from the row being erased. */
export const ROW_PLACEHOLDERS = ['masked_object_fields', 'all_object_fields'] as const;

/** Fides puts the connection's key where a template says this (a config shared by several connections). */
export const INSTANCE_KEY_PLACEHOLDER = '<instance_fides_key>';

const nameValue = z.object({ name: z.string().min(1, 'must not be empty'), value: z.union([z.string(), z.number(), z.boolean()]).transform(String) });
export type NameValue = z.infer<typeof nameValue>;

export const paramValueSchema = z.object({
  name: z.string().min(1, 'must not be empty').regex(/^[A-Za-z0-9_.-]+$/, 'must contain only letters, digits, _ . -'),
  identity: z.string().min(1).optional(),
  references: z.array(z.union([z.string(), referenceSchema])).optional(),
  connector_param: z.string().min(1).optional(),
  unpack: z.boolean().optional(),
});
export type ParamValue = z.infer<typeof paramValueSchema>;

const strategyShape = z.object({ strategy: z.string().min(1, 'must not be empty'), configuration: z.unknown().optional() });

export const PAGINATION_STRATEGIES = {
  offset: z.strictObject({
    incremental_param: z.string().min(1),
    increment_by: z.number().int().positive(),
    limit: z.union([z.number().int().positive(), z.string().min(1)]),
  }),
  link: z.strictObject({
    source: z.enum(['headers', 'body'], { error: 'must be headers or body' }),
    rel: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
  }),
  cursor: z.strictObject({
    cursor_param: z.string().min(1),
    field: z.string().min(1),
  }),
} as const;

export const POSTPROCESSOR_STRATEGIES = {
  unwrap: z.strictObject({ data_path: z.string().min(1) }),
  filter: z.strictObject({
    field: z.string().min(1),
    value: z.union([z.string(), z.number(), z.boolean(), z.strictObject({ identity: z.string().min(1) })]),
    exact: z.boolean().optional(),
    case_sensitive: z.boolean().optional(),
  }),
} as const;

/** A request to get an OAuth2 token; itself a (small) request template. */
const tokenRequestSchema = z.lazy(() => requestSchema);

export const AUTH_STRATEGIES = {
  basic: z.strictObject({ username: z.string(), password: z.string().optional() }),
  bearer: z.strictObject({ token: z.string() }),
  api_key: z
    .strictObject({
      headers: z.array(nameValue).optional(),
      query_params: z.array(nameValue).optional(),
      body: z.string().optional(),
    })
    .refine((value) => value.headers?.length || value.query_params?.length || value.body, { message: 'must give headers, query_params or body' }),
  oauth2_client_credentials: z.strictObject({
    token_request: tokenRequestSchema,
    refresh_request: tokenRequestSchema.optional(),
    /** Seconds a token lives when the token response does not say. */
    expires_in: z.number().int().positive().optional(),
  }),
} as const;

export const RATE_LIMIT_PERIODS = { second: 1, minute: 60, hour: 3600, day: 86400 } as const;

export const rateLimitSchema = z.object({
  enabled: z.boolean().optional(),
  limits: z
    .array(
      z.object({
        rate: z.number().int().positive(),
        period: z.enum(Object.keys(RATE_LIMIT_PERIODS) as [keyof typeof RATE_LIMIT_PERIODS], { error: 'must be second, minute, hour or day' }),
        custom_key: z.string().optional(),
      }),
    )
    .optional(),
});
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;

export const clientConfigSchema = z.object({
  protocol: z.enum(['https', 'http'], { error: 'must be https or http' }),
  host: z.string().min(1, 'must not be empty'),
  authentication: strategyShape.optional(),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;

export interface SaasRequest {
  method: (typeof HTTP_METHODS)[number];
  path: string;
  query_params?: NameValue[] | undefined;
  headers?: NameValue[] | undefined;
  body?: string | undefined;
  param_values?: ParamValue[] | undefined;
  data_path?: string | undefined;
  postprocessors?: { strategy: string; configuration?: unknown }[] | undefined;
  pagination?: { strategy: string; configuration?: unknown } | undefined;
  grouped_inputs?: string[] | undefined;
  ignore_errors?: boolean | number[] | undefined;
  client_config?: ClientConfig | undefined;
  rate_limit_config?: RateLimitConfig | undefined;
  skip_missing_param_values?: boolean | undefined;
}

export const requestSchema: z.ZodType<SaasRequest> = z.object({
  method: z.preprocess((value) => (typeof value === 'string' ? value.toUpperCase() : value), z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` })),
  path: z.string().startsWith('/', 'must start with /'),
  query_params: z.array(nameValue).optional(),
  headers: z.array(nameValue).optional(),
  body: z.string().optional(),
  param_values: z.array(paramValueSchema).optional(),
  data_path: z.string().min(1).optional(),
  postprocessors: z.array(strategyShape).optional(),
  pagination: strategyShape.optional(),
  grouped_inputs: z.array(z.string()).optional(),
  ignore_errors: z.union([z.boolean(), z.array(z.number().int())]).optional(),
  client_config: clientConfigSchema.optional(),
  rate_limit_config: rateLimitSchema.optional(),
  skip_missing_param_values: z.boolean().optional(),
}) as z.ZodType<SaasRequest>;

/** Fides allows one request or a list per action; dsrflow runs the first (read) or each (update, delete). */
const requestArray = z.array(requestSchema).min(1);
const oneOrMany = z.unknown().transform((value, ctx): SaasRequest | SaasRequest[] => {
  // Either form, with the problems of the one written (a union would only say "Invalid input").
  const parsed = Array.isArray(value) ? requestArray.safeParse(value) : requestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issueMessage(issue), path: issue.path as PropertyKey[] });
  return z.NEVER;
}).meta({
  description: 'A request, or a list of requests',
  anyOf: [{ $ref: '#/components/schemas/SaasRequest' }, { type: 'array', items: { $ref: '#/components/schemas/SaasRequest' }, minItems: 1 }],
});

const collectionAddress = z.string().regex(/^[a-zA-Z0-9_.<>-]+\.[^.\s]+$/, 'must be dataset.collection');

export const endpointSchema = z.object({
  name: z.string().min(1),
  after: z.array(collectionAddress).optional(),
  erase_after: z.array(collectionAddress).optional(),
  skip_processing: z.boolean().optional(),
  requests: z.object({
    read: oneOrMany.optional(),
    update: oneOrMany.optional(),
    delete: oneOrMany.optional(),
  }),
});
export type Endpoint = z.infer<typeof endpointSchema>;

export const connectorParamSchema = z.object({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'must contain only letters, digits, _ . -'),
  default_value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]).nullish(),
  label: z.string().optional(),
  description: z.string().optional(),
  sensitive: z.boolean().optional(),
  required: z.boolean().optional(),
  options: z.array(z.string()).optional(),
  multiselect: z.boolean().optional(),
});
export type ConnectorParam = z.infer<typeof connectorParamSchema>;

export const saasConfigSchema = z.object({
  fides_key: fidesKey,
  name: z.string().min(1),
  type: z.string().optional(),
  description: z.string().nullish(),
  version: z.union([z.string(), z.number()]).transform(String).optional(),
  replaceable: z.boolean().optional(),
  connector_params: z.array(connectorParamSchema).default([]),
  client_config: clientConfigSchema,
  test_request: requestSchema.optional(),
  endpoints: z.array(endpointSchema).default([]),
  rate_limit_config: rateLimitSchema.optional(),
  consent_requests: z
    .object({
      opt_in: oneOrMany.optional(),
      opt_out: oneOrMany.optional(),
    })
    .optional(),
});
export type SaasConfig = z.infer<typeof saasConfigSchema>;

export const saasConfigFileSchema = z.object({ saas_config: saasConfigSchema });

/** A problem of a config, with the line it is on in the YAML text. */
export interface SaasConfigProblem {
  /** Where in the document: `saas_config.endpoints[2].requests.read.path`. */
  at: string;
  line?: number;
  message: string;
}

export class SaasConfigValidationError extends Error {
  override name = 'SaasConfigValidationError';
  constructor(readonly problems: SaasConfigProblem[]) {
    super(problems.map(describeSaasProblem).join('\n'));
  }
}

export const describeSaasProblem = (problem: SaasConfigProblem) => `${problem.at}: ${problem.message}${problem.line !== undefined ? ` (line ${problem.line})` : ''}`;

/** The requests of an action as a list. */
export const requestList = (value: SaasRequest | SaasRequest[] | undefined): SaasRequest[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Placeholders in a template, in order of appearance. */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/**
 * A host as a config or a connector param may give it: a DNS name or an IP address, optionally
 * with a port and a path prefix (Mailchimp's `mandrillapp.com/api/1.0`). No scheme, no credentials.
 */
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|(?=.{1,253}(?::|\/|$))[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?)(?::(\d{1,5}))?(\/[^\s?#]*)?$/;

export function isHost(value: string): boolean {
  const match = HOST.exec(value);
  if (!match) return false;
  return match[1] === undefined || (Number(match[1]) >= 1 && Number(match[1]) <= 65535);
}

/** A reference written as a string (`dataset.collection.field`) or as an object, as an object. */
export function referenceOf(reference: string | z.infer<typeof referenceSchema>): z.infer<typeof referenceSchema> {
  if (typeof reference !== 'string') return reference;
  const [dataset, ...rest] = reference.split('.');
  return { dataset: dataset!, field: rest.join('.'), direction: 'from' };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Replaces `<instance_fides_key>` in every string of a document (a config or a dataset) with the key. */
export function substituteInstanceKey<T>(document: T, key: string): T {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.split(INSTANCE_KEY_PLACEHOLDER).join(key);
    if (Array.isArray(value)) return value.map(walk);
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(document) as T;
}

/** The identity names a config uses (param_values and filters), plus the usual ones. */
export function identitiesOf(config: SaasConfig): Set<string> {
  const names = new Set(['email', 'phone_number']);
  const visit = (request: SaasRequest) => {
    for (const param of request.param_values ?? []) if (param.identity) names.add(param.identity);
    for (const processor of request.postprocessors ?? []) {
      const value = (processor.configuration as { value?: unknown } | undefined)?.value;
      if (isRecord(value) && typeof value.identity === 'string') names.add(value.identity);
    }
  };
  for (const endpoint of config.endpoints) for (const action of ['read', 'update', 'delete'] as const) requestList(endpoint.requests[action]).forEach(visit);
  return names;
}

/**
 * Fills the placeholders of a body template and says whether the result is JSON. Inside a JSON
 * string a value is written escaped; outside one it is written as a JSON value; the row
 * placeholders are written as object members. `sample` is used for every placeholder.
 */
export function bodyIsJsonAfterSubstitution(template: string): boolean {
  const filled = fillJsonTemplate(template, (name) => (ROW_PLACEHOLDERS.includes(name as (typeof ROW_PLACEHOLDERS)[number]) ? { members: { field: 'value' } } : { value: '0' }));
  try {
    JSON.parse(filled);
    return true;
  } catch {
    return false;
  }
}

/** What a placeholder of a JSON body becomes: a value, or members of the enclosing object. */
export type JsonFill = { value: unknown } | { members: Record<string, unknown> } | undefined;

/**
 * Substitutes `<placeholders>` in a JSON template. Placeholders inside string literals get the
 * value JSON-escaped (without quotes); outside, the value as JSON; `members` are written as
 * `"k": v` pairs (for `{<masked_object_fields>}`), and a trailing comma they leave is removed.
 * A placeholder `fill` does not know (undefined) is left as written.
 */
export function fillJsonTemplate(template: string, fill: (name: string) => JsonFill): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i += 1) {
    const char = template[i]!;
    if (inString && char === '\\') {
      out += char + (template[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '"') inString = !inString;
    if (char === '<') {
      const match = /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i));
      if (match) {
        const filled = fill(match[1]!);
        if (filled !== undefined) {
          if ('members' in filled) {
            out += Object.entries(filled.members)
              .map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value ?? null)}`)
              .join(', ');
          } else if (inString) {
            out += JSON.stringify(filled.value === null || filled.value === undefined ? '' : typeof filled.value === 'string' ? filled.value : JSON.stringify(filled.value)).slice(1, -1);
          } else {
            out += JSON.stringify(filled.value ?? null);
          }
          i += match[0].length - 1;
          continue;
        }
      }
    }
    out += char;
  }
  // `{<masked_object_fields>}` with nothing masked, or a member list followed by a comma.
  return out.replace(/,(\s*[}\]])/g, '$1').replace(/([{[]\s*),/g, '$1');
}

interface Located {
  path: Path;
  message: string;
}

/** The semantic checks: strategies, placeholders, hosts, bodies, references within the config. */
function semanticProblems(config: SaasConfig, dataset: Dataset | undefined, otherDatasets: ReadonlyMap<string, Dataset> = new Map()): Located[] {
  const problems: Located[] = [];
  const params = new Set(config.connector_params.map((param) => param.name));
  const identities = identitiesOf(config);

  const checkStrategy = <T extends Record<string, z.ZodType>>(kind: string, strategies: T, value: { strategy: string; configuration?: unknown }, path: Path) => {
    const schema = strategies[value.strategy as keyof T];
    if (!schema) {
      problems.push({ path: [...path, 'strategy'], message: `unknown ${kind} strategy ${value.strategy}; dsrflow knows ${Object.keys(strategies).join(', ')}` });
      return undefined;
    }
    const parsed = schema.safeParse(value.configuration ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const subject = issue.path.length ? `${formatPath(issue.path as Path)}: ` : '';
        problems.push({ path: [...path, 'configuration', ...(issue.path as Path)], message: `${kind} ${value.strategy}: ${subject}${issueMessage(issue)}` });
      }
      return undefined;
    }
    return parsed.data;
  };

  const checkTemplate = (template: string, allowed: (name: string) => boolean, path: Path, what: string) => {
    for (const name of placeholdersIn(template)) {
      if (!allowed(name)) {
        problems.push({ path, message: `${what} uses <${name}>, which nothing supplies: it is not a connector param, a param_value of this request or an identity` });
      }
    }
  };

  const checkHost = (client: ClientConfig, path: Path) => {
    const host = client.host;
    const names = placeholdersIn(host);
    if (names.length === 0) {
      if (!isHost(host)) problems.push({ path: [...path, 'host'], message: `${JSON.stringify(host)} is not a host name (a name such as api.example.com or an IP address, optionally with :port and a /path, without a scheme)` });
    } else {
      checkTemplate(host, (name) => params.has(name), [...path, 'host'], 'host');
      // What the template adds around its placeholders must itself fit a host.
      if (!isHost(host.replace(PLACEHOLDER, 'placeholder'))) problems.push({ path: [...path, 'host'], message: `${JSON.stringify(host)} is not a host name once its placeholders are filled` });
    }
    if (client.authentication) {
      const auth = checkStrategy('authentication', AUTH_STRATEGIES, client.authentication, [...path, 'authentication']);
      if (auth) {
        const authPath: Path = [...path, 'authentication', 'configuration'];
        const fromParams = (name: string) => params.has(name);
        if (client.authentication.strategy === 'oauth2_client_credentials') {
          const oauth = auth as z.infer<(typeof AUTH_STRATEGIES)['oauth2_client_credentials']>;
          checkRequest(oauth.token_request, [...authPath, 'token_request'], { params: true, identities: false });
          if (oauth.refresh_request) checkRequest(oauth.refresh_request, [...authPath, 'refresh_request'], { params: true, identities: false });
        } else {
          const walk = (value: unknown, at: Path) => {
            if (typeof value === 'string') checkTemplate(value, fromParams, at, 'authentication');
            else if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...at, i]));
            else if (isRecord(value)) for (const [key, item] of Object.entries(value)) walk(item, [...at, key]);
          };
          walk(client.authentication.configuration, authPath);
          const body = (auth as { body?: string }).body;
          if (body !== undefined && !bodyIsJsonAfterSubstitution(body)) problems.push({ path: [...authPath, 'body'], message: 'the body is not valid JSON once its placeholders are filled' });
        }
      }
    }
  };

  function checkRequest(request: SaasRequest, path: Path, options: { params: boolean; identities: boolean; row?: boolean; references?: boolean }) {
    const values = new Map((request.param_values ?? []).map((param) => [param.name, param]));
    (request.param_values ?? []).forEach((param, p) => {
      const sources = [param.identity, param.references, param.connector_param].filter((source) => source !== undefined).length;
      if (sources !== 1) problems.push({ path: [...path, 'param_values', p], message: `param_value ${param.name} needs exactly one of identity, references, connector_param` });
      if (param.connector_param !== undefined && !params.has(param.connector_param)) {
        problems.push({ path: [...path, 'param_values', p, 'connector_param'], message: `${param.connector_param} is not a connector param of this config` });
      }
      param.references?.forEach((raw, r) => {
        const reference = referenceOf(raw);
        if (reference.direction !== undefined && reference.direction !== 'from') {
          problems.push({ path: [...path, 'param_values', p, 'references', r], message: 'a param_value takes values from the referenced field: its direction must be from' });
        }
        const target = reference.dataset === config.fides_key ? dataset : otherDatasets.get(reference.dataset);
        if (target && options.references !== false) {
          const [collectionName, ...fieldPath] = reference.field.split('.');
          const collection = target.collections.find((candidate) => candidate.name === collectionName);
          const at: Path = [...path, 'param_values', p, 'references', r, ...(typeof raw === 'string' ? [] : ['field'])];
          if (!collection) problems.push({ path: at, message: `references unknown collection ${reference.dataset}.${collectionName}` });
          else if (!findField(collection, fieldPath)) problems.push({ path: at, message: `references unknown field ${reference.dataset}.${reference.field}` });
        }
      });
    });
    const allowed = (name: string) =>
      values.has(name) || (options.params && params.has(name)) || (options.identities && identities.has(name)) || (options.row === true && (ROW_PLACEHOLDERS as readonly string[]).includes(name));
    checkTemplate(request.path, allowed, [...path, 'path'], 'path');
    request.query_params?.forEach((param, q) => checkTemplate(param.value, allowed, [...path, 'query_params', q, 'value'], `query param ${param.name}`));
    request.headers?.forEach((header, h) => checkTemplate(header.value, allowed, [...path, 'headers', h, 'value'], `header ${header.name}`));
    if (request.body !== undefined) {
      checkTemplate(request.body, allowed, [...path, 'body'], 'body');
      if (!bodyIsJsonAfterSubstitution(request.body)) problems.push({ path: [...path, 'body'], message: 'the body is not valid JSON once its placeholders are filled' });
    }
    request.grouped_inputs?.forEach((name, g) => {
      if (!values.has(name)) problems.push({ path: [...path, 'grouped_inputs', g], message: `${name} is not a param_value of this request` });
    });
    request.postprocessors?.forEach((processor, i) => checkStrategy('postprocessor', POSTPROCESSOR_STRATEGIES, processor, [...path, 'postprocessors', i]));
    if (request.pagination) checkStrategy('pagination', PAGINATION_STRATEGIES, request.pagination, [...path, 'pagination']);
    if (request.client_config) checkHost(request.client_config, [...path, 'client_config']);
  }

  checkHost(config.client_config, ['client_config']);
  if (config.test_request) checkRequest(config.test_request, ['test_request'], { params: true, identities: false });
  const names = new Set<string>();
  config.endpoints.forEach((endpoint, e) => {
    const at: Path = ['endpoints', e];
    if (names.has(endpoint.name)) problems.push({ path: [...at, 'name'], message: `endpoint ${endpoint.name} appears more than once` });
    names.add(endpoint.name);
    // Fides' own example has endpoints its dataset does not describe: they are not visited, and
    // their references are not checked against the dataset.
    const described = !dataset || dataset.collections.some((collection) => collection.name === endpoint.name);
    for (const action of ['read', 'update', 'delete'] as const) {
      const value = endpoint.requests[action];
      requestList(value).forEach((request, r) => {
        checkRequest(request, [...at, 'requests', action, ...(Array.isArray(value) ? [r] : [])], { params: true, identities: true, row: action !== 'read', references: described });
      });
    }
    for (const key of ['after', 'erase_after'] as const) {
      endpoint[key]?.forEach((address, a) => {
        const dot = address.lastIndexOf('.');
        if (address.slice(0, dot) === config.fides_key && !config.endpoints.some((other) => other.name === address.slice(dot + 1))) {
          problems.push({ path: [...at, key, a], message: `unknown endpoint ${address}` });
        }
      });
    }
  });
  for (const kind of ['opt_in', 'opt_out'] as const) {
    const value = config.consent_requests?.[kind];
    requestList(value).forEach((request, r) => checkRequest(request, ['consent_requests', kind, ...(Array.isArray(value) ? [r] : [])], { params: true, identities: true }));
  }
  return problems;
}

/**
 * Validates a parsed `{saas_config: …}` document. With the dataset of the config (same
 * fides_key), references into it and endpoint names are checked too. Every problem is reported
 * at once, each with its line when `lineOf` is given.
 */
export function parseSaasConfig(
  document: unknown,
  options: { lineOf?: (path: Path) => number | undefined; dataset?: Dataset | undefined; otherDatasets?: ReadonlyMap<string, Dataset> } = {},
): SaasConfig {
  const locate = (path: Path, message: string): SaasConfigProblem => {
    const line = options.lineOf?.(path);
    return { at: formatPath(path), message, ...(line !== undefined ? { line } : {}) };
  };
  if (!isRecord(document)) throw new SaasConfigValidationError([locate([], 'expected a mapping with saas_config:')]);
  const parsed = saasConfigFileSchema.safeParse(document);
  if (!parsed.success) {
    throw new SaasConfigValidationError(parsed.error.issues.map((issue) => locate(issue.path as Path, issueMessage(issue))));
  }
  const problems = semanticProblems(parsed.data.saas_config, options.dataset, options.otherDatasets).map(({ path, message }) => locate(['saas_config', ...path], message));
  if (problems.length) {
    if (problems.every((problem) => problem.line !== undefined)) problems.sort((a, b) => a.line! - b.line!);
    throw new SaasConfigValidationError(problems);
  }
  return parsed.data.saas_config;
}

/**
 * Parses a saas_config from YAML (or JSON, which YAML reads). `instanceKey` replaces
 * `<instance_fides_key>` (values keep their lines).
 */
export function parseSaasConfigYaml(text: string, options: { instanceKey?: string; dataset?: Dataset | undefined; otherDatasets?: ReadonlyMap<string, Dataset> } = {}): SaasConfig {
  const reading = readYaml(text);
  if (!reading.ok) throw new SaasConfigValidationError([{ at: 'body', message: reading.problem, ...(reading.line ? { line: reading.line } : {}) }]);
  let value = reading.document.value;
  if (options.instanceKey !== undefined) {
    const key = isRecord(value) && isRecord(value.saas_config) && value.saas_config.fides_key !== INSTANCE_KEY_PLACEHOLDER ? String(value.saas_config.fides_key) : options.instanceKey;
    value = substituteInstanceKey(value, key);
  }
  return parseSaasConfig(value, { lineOf: reading.document.lineOf, dataset: options.dataset, ...(options.otherDatasets ? { otherDatasets: options.otherDatasets } : {}) });
}

/** The key `<instance_fides_key>` stands for on a connection: the config's own key, unless it is the placeholder. */
export function instanceKeyFor(configFidesKey: string | undefined, connectionKey: string): string {
  return configFidesKey && configFidesKey !== INSTANCE_KEY_PLACEHOLDER ? configFidesKey : connectionKey;
}

/** The endpoint of a collection. */
export const endpointOf = (config: SaasConfig, collection: string): Endpoint | undefined => config.endpoints.find((endpoint) => endpoint.name === collection);
