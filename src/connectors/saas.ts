/**
 * The SaaS connector: Fides' saas_config run over fetch.
 *
 * - Every request has a deadline (AbortSignal.timeout) and is paced by the connection's
 *   rate_limit_config, held in Postgres for all workers (src/connectors/rate-limiter.ts).
 * - Reads stream page by page (`stream`): each page's records are handed on before the next
 *   page is asked for, so a read of any size holds one page in memory.
 * - HTTP outcomes: 401/403 `permission` (not retried); 404 on a read is no data, on an update
 *   or delete a record already gone; 429 is
 *   `rate_limited` with the server's Retry-After; 5xx, resets and timeouts are retried here a
 *   few times with backoff and then left to the activity's retries; anything else fails with
 *   the status and a short excerpt of the body, with the connection's secrets masked.
 * - Hosts obey DSRFLOW_CONNECTION_ALLOW like database hosts do.
 */
import { normalizeHost, refusedPart, type AllowList } from './allow-list.js';
import { ConnectorError } from './errors.js';
import type { CollectionDelete, CollectionQuery, CollectionUpdate, Connector, Row } from './types.js';
import { AUTH_STRATEGIES, fillJsonTemplate, isHost, requestList, type ClientConfig, type RateLimitConfig, type SaasConfig, type SaasRequest } from '../domain/saas/config.js';
import {
  buildRequest,
  connectorParamValues,
  fillText,
  nextPage,
  postprocess,
  readCombinations,
  recordsAt,
  setPath,
  withQuery,
  writeValues,
  type BuiltRequest,
  type Values,
} from '../domain/saas/requests.js';
import type { z } from 'zod';

/** Waits for a turn under a rate limit; resolves when the request may go. */
export interface RateLimiter {
  acquire(key: string, limits: NonNullable<RateLimitConfig['limits']>, signal?: AbortSignal): Promise<void>;
}

export interface SaasConnectorOptions {
  /** The connection's key: names the rate limit it shares with every worker. */
  connectionKey: string;
  allow?: AllowList | undefined;
  limiter?: RateLimiter | undefined;
  /** Per request (default 30 s). */
  timeoutMs?: number | undefined;
  /** Retries of a 5xx, reset or timeout (and of a 429 with a short Retry-After) before failing (default 2). */
  retries?: number | undefined;
  /** Base of the backoff between those retries (default 250 ms). */
  backoffMs?: number | undefined;
  /** A 429 whose Retry-After is at most this is waited out here (default 2 s); a longer one fails with retryAfterMs. */
  maxInlineRetryAfterMs?: number | undefined;
  /** Tests: `https` to a loopback host is sent as `http` (the vendors' stand-ins listen on plain HTTP). */
  loopbackHttp?: boolean | undefined;
  /** Records per batch handed on by `stream` at most (default 500). */
  batchSize?: number | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Retry-After as milliseconds: seconds, or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

interface Token {
  value: string;
  expiresAt: number;
  lifetimeMs: number;
}

interface Response2 {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export class SaasConnector implements Connector {
  private readonly params: Values;
  private readonly controller = new AbortController();
  private readonly tokens = new Map<string, Promise<Token>>();
  private readonly secretTexts: string[];

  constructor(
    readonly config: SaasConfig,
    secrets: Record<string, unknown>,
    private readonly options: SaasConnectorOptions,
  ) {
    this.params = connectorParamValues(config.connector_params, secrets);
    this.secretTexts = Object.values(secrets)
      .filter((value): value is string => typeof value === 'string' && value.length >= 4)
      .sort((a, b) => b.length - a.length);
  }

  // Reads ---------------------------------------------------------------------------------------

  async retrieve(query: CollectionQuery): Promise<Row[]> {
    const rows: Row[] = [];
    for await (const batch of this.pages(query)) rows.push(...batch);
    return rows;
  }

  /** The records of a collection, a page (at most batchSize records) at a time. */
  stream(query: CollectionQuery): AsyncGenerator<Row[]> {
    return this.pages(query);
  }

  private async *pages(query: CollectionQuery): AsyncGenerator<Row[]> {
    const endpoint = this.config.endpoints.find((candidate) => candidate.name === query.collection);
    const request = requestList(endpoint?.requests.read)[0];
    if (!endpoint || !request) throw new ConnectorError('not_found', `The saas_config ${this.config.fides_key} has no read request for ${query.collection}`);
    const identities = query.identities ?? {};
    const inputs = new Map(query.filters.map((filter) => [filter.field, filter.values]));
    const combinations = readCombinations(request, inputs, this.params, query.groups);
    const fields = new Set(query.fields);
    const seen = combinations.length > 1 ? new Set<string>() : undefined;
    const batchSize = this.options.batchSize ?? 500;
    for (const values of combinations) {
      let built: BuiltRequest | { url: string } | undefined = buildRequest(request, values);
      while (built) {
        const response = await this.send(request, built, 'read');
        if (!response) break; // 404, or an error the request ignores
        const records = recordsAt(response.body, request.data_path);
        const rows = postprocess(records, request, identities).map((record) => (fields.size ? Object.fromEntries(Object.entries(record).filter(([key]) => fields.has(key))) : record));
        const fresh = seen ? rows.filter((row) => !seen.has(JSON.stringify(row)) && (seen.add(JSON.stringify(row)), true)) : rows;
        for (let start = 0; start < fresh.length; start += batchSize) yield fresh.slice(start, start + batchSize);
        const current: BuiltRequest | undefined = 'url' in built ? undefined : built;
        built = nextPage(request, current ?? { method: request.method, path: '', query: [], headers: [] }, { status: response.status, headers: response.headers, body: response.body, records }, values);
        if (built && !('url' in built) && !current) built = undefined; // offset and cursor continue from a built request only
      }
    }
  }

  // Erasure -------------------------------------------------------------------------------------

  async mask(update: CollectionUpdate): Promise<number> {
    const endpoint = this.endpoint(update.collection);
    const requests = requestList(endpoint.requests.update);
    if (!requests.length) {
      if (requestList(endpoint.requests.delete).length) return this.deleteRows({ collection: update.collection, keys: update.rows.map((row) => row.key), rows: update.rows.map((row) => row.row ?? row.key), identities: update.identities });
      // As in Fides: an endpoint without erasure requests is read-only; its records stay as they are.
      return 0;
    }
    const readOnly = update.readOnly ?? [];
    let changed = 0;
    for (const { key, values, row } of update.rows) {
      const original = row ?? key;
      const all = structuredClone(original);
      for (const path of readOnly) deletePath(all, path);
      mergeInto(all, values);
      for (const request of requests) {
        const built = buildRequest(request, writeValues(request, original, update.identities ?? {}, this.params), { masked: values, all });
        if (!built) throw new ConnectorError('bad_data', `The update request of ${update.collection} cannot be built: a value of its path is missing from the record`);
        await this.send(request, built, 'write');
      }
      changed += 1;
    }
    return changed;
  }

  async deleteRows(request: CollectionDelete): Promise<number> {
    const endpoint = this.endpoint(request.collection);
    const requests = requestList(endpoint.requests.delete);
    if (!requests.length) {
      // Whole-record erasure of an endpoint that can only update: its update request, with nothing masked, would change nothing.
      if (!requestList(endpoint.requests.update).length) return 0;
      throw new ConnectorError('bad_data', `The saas_config ${this.config.fides_key} has no delete request for ${request.collection}: it cannot delete whole records`);
    }
    let deleted = 0;
    for (const record of request.rows ?? request.keys) {
      for (const template of requests) {
        const built = buildRequest(template, writeValues(template, record, request.identities ?? {}, this.params));
        if (!built) throw new ConnectorError('bad_data', `The delete request of ${request.collection} cannot be built: a value of its path is missing from the record`);
        await this.send(template, built, 'write');
      }
      deleted += 1;
    }
    return deleted;
  }

  /** Sends the config's opt_in or opt_out requests for a person; false when the config has none. */
  async consent(kind: 'opt_in' | 'opt_out', identities: Record<string, unknown>): Promise<boolean> {
    const requests = requestList(this.config.consent_requests?.[kind]);
    for (const request of requests) {
      const built = buildRequest(request, { ...this.params, ...identities });
      if (!built) throw new ConnectorError('bad_data', `The ${kind} request cannot be built: a value of its path is missing`);
      await this.send(request, built, 'write');
    }
    return requests.length > 0;
  }

  async test(): Promise<void> {
    const request = this.config.test_request;
    if (!request) return;
    const built = buildRequest(request, this.params);
    if (!built) throw new ConnectorError('bad_data', 'The test request cannot be built: a connector param is missing');
    await this.send(request, built, 'test');
  }

  async close(): Promise<void> {
    this.tokens.clear();
  }

  destroy(): void {
    this.controller.abort(new ConnectorError('timeout', 'The SaaS connector was closed'));
  }

  // HTTP ----------------------------------------------------------------------------------------

  private endpoint(collection: string) {
    const endpoint = this.config.endpoints.find((candidate) => candidate.name === collection);
    if (!endpoint) throw new ConnectorError('not_found', `The saas_config ${this.config.fides_key} has no endpoint ${collection}`);
    return endpoint;
  }

  /** The base URL of a client config: protocol, host (filled), no trailing slash. */
  private baseUrl(client: ClientConfig): URL {
    const host = fillText(client.host, this.params);
    if (host === undefined) throw new ConnectorError('bad_data', `The host ${client.host} needs a connector param the connection's secrets do not give`);
    if (!isHost(host)) throw new ConnectorError('bad_data', `The host of this connection is not a host name`);
    let protocol = client.protocol;
    const url = new URL(`${protocol}://${host}`);
    if (this.options.loopbackHttp && protocol === 'https' && LOOPBACK.has(url.hostname)) {
      protocol = 'http';
      url.protocol = 'http:';
    }
    const refused = refusedPart({ host: url.hostname, port: Number(url.port || (protocol === 'https' ? 443 : 80)), database: '' }, this.options.allow);
    if (refused) throw new ConnectorError('permission', `The ${refused} of this connection (${normalizeHost(url.hostname)}) is not among DSRFLOW_CONNECTION_ALLOW`);
    return url;
  }

  /** The request's URL, headers and body, with authentication applied. */
  private async prepare(request: SaasRequest, built: BuiltRequest | { url: string }): Promise<{ url: URL; init: RequestInit }> {
    const client = request.client_config ?? this.config.client_config;
    const base = this.baseUrl(client);
    let url: URL;
    let headers = new Headers();
    let body: string | undefined;
    let method = request.method;
    if ('url' in built) {
      url = new URL(built.url, base);
      if (url.origin !== base.origin) throw new ConnectorError('bad_data', `A next-page link points to ${url.origin}, not to the connection's host`);
      method = 'GET';
    } else {
      url = new URL(`${base.href.replace(/\/$/, '')}${withQuery(built.path, built.query)}`);
      for (const [name, value] of built.headers) headers.set(name, value);
      body = built.body;
    }
    ({ headers, body } = await this.authenticate(client, url, headers, body));
    return { url, init: { method, headers, ...(body !== undefined ? { body } : {}) } };
  }

  private async authenticate(client: ClientConfig, url: URL, headers: Headers, body: string | undefined): Promise<{ headers: Headers; body: string | undefined }> {
    const auth = client.authentication;
    if (!auth) return { headers, body };
    const configuration = (auth.configuration ?? {}) as Record<string, unknown>;
    const fill = (template: string) => fillText(template, this.params) ?? '';
    switch (auth.strategy) {
      case 'basic': {
        const { username, password } = configuration as z.infer<(typeof AUTH_STRATEGIES)['basic']>;
        headers.set('Authorization', `Basic ${Buffer.from(`${fill(username)}:${password === undefined ? '' : fill(password)}`).toString('base64')}`);
        break;
      }
      case 'bearer':
        headers.set('Authorization', `Bearer ${fill((configuration as { token: string }).token)}`);
        break;
      case 'api_key': {
        const apiKey = configuration as z.infer<(typeof AUTH_STRATEGIES)['api_key']>;
        for (const header of apiKey.headers ?? []) headers.set(header.name, fill(header.value));
        for (const param of apiKey.query_params ?? []) url.searchParams.set(param.name, fill(param.value));
        if (apiKey.body !== undefined) {
          const extra = JSON.parse(fillJsonTemplate(apiKey.body, (name: string) => ({ value: this.params[name] ?? null }))) as Record<string, unknown>;
          const current = body ? (JSON.parse(body) as Record<string, unknown>) : {};
          body = JSON.stringify({ ...current, ...extra });
          if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
        }
        break;
      }
      case 'oauth2_client_credentials':
        headers.set('Authorization', `Bearer ${(await this.token(client)).value}`);
        break;
      default:
        throw new ConnectorError('bad_data', `Unknown authentication strategy ${auth.strategy}`);
    }
    return { headers, body };
  }

  /** An OAuth2 token for the client, from the cache while it has more than a tenth of its life (at most a minute) left. */
  private async token(client: ClientConfig): Promise<Token> {
    const key = JSON.stringify(client);
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && Date.now() < token.expiresAt - Math.min(60_000, token.lifetimeMs / 10)) return token;
      this.tokens.delete(key);
    }
    const fresh = this.fetchToken(client);
    this.tokens.set(key, fresh);
    fresh.catch(() => this.tokens.delete(key));
    return fresh;
  }

  private async fetchToken(client: ClientConfig): Promise<Token> {
    const configuration = client.authentication!.configuration as z.infer<(typeof AUTH_STRATEGIES)['oauth2_client_credentials']>;
    const request = configuration.token_request;
    const built = buildRequest(request, this.params);
    if (!built) throw new ConnectorError('authentication', 'The OAuth2 token request cannot be built: a connector param is missing');
    const response = await this.send({ ...request, client_config: { ...client, authentication: undefined } }, built, 'token');
    const answer = response?.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof answer?.access_token !== 'string') throw new ConnectorError('authentication', 'The OAuth2 token endpoint answered without an access_token');
    const lifetimeMs = (typeof answer.expires_in === 'number' ? answer.expires_in : (configuration.expires_in ?? 3600)) * 1000;
    return { value: answer.access_token, expiresAt: Date.now() + lifetimeMs, lifetimeMs };
  }

  private redact(text: string): string {
    return this.secretTexts.reduce((masked, secret) => masked.split(secret).join('***'), text);
  }

  private async pace(request: SaasRequest, signal: AbortSignal): Promise<void> {
    const limits = (request.rate_limit_config ?? this.config.rate_limit_config);
    if (!this.options.limiter || !limits?.limits?.length || limits.enabled === false) return;
    await this.options.limiter.acquire(`saas:${this.options.connectionKey}`, limits.limits, signal);
  }

  /**
   * Sends a request (retrying transient failures a few times); the parsed response, or undefined
   * for a 404 on a read or a status the request ignores.
   */
  private async send(request: SaasRequest, built: BuiltRequest | { url: string }, purpose: 'read' | 'write' | 'test' | 'token'): Promise<Response2 | undefined> {
    const retries = this.options.retries ?? 2;
    const backoff = this.options.backoffMs ?? 250;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.sendOnce(request, built, purpose);
      } catch (error) {
        if (!(error instanceof ConnectorError) || !error.retryable || attempt >= retries || this.controller.signal.aborted) throw error;
        const wait = error.retryAfterMs ?? backoff * 2 ** attempt;
        if (error.retryAfterMs !== undefined && error.retryAfterMs > (this.options.maxInlineRetryAfterMs ?? 2000)) throw error;
        await sleep(wait, this.controller.signal);
      }
    }
  }

  private async sendOnce(request: SaasRequest, built: BuiltRequest | { url: string }, purpose: 'read' | 'write' | 'test' | 'token'): Promise<Response2 | undefined> {
    const { url, init } = await this.prepare(request, built);
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    // The wait for a place under the rate limit is bounded by the limiter; the deadline is the request's own.
    await this.pace(request, this.controller.signal);
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(timeoutMs)]);
    const where = `${init.method} ${url.pathname}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { ...init, signal, redirect: 'manual' });
      text = await response.text();
    } catch (error) {
      throw this.networkError(error, where, timeoutMs);
    }
    const ignored = request.ignore_errors === true || (Array.isArray(request.ignore_errors) && request.ignore_errors.includes(response.status));
    if (response.status >= 200 && response.status < 300) {
      let body: unknown = null;
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          if (purpose === 'read' || purpose === 'token') throw new ConnectorError('bad_data', `${where} answered ${response.status} with a body that is not JSON`);
        }
      }
      return { status: response.status, headers: response.headers, body, text };
    }
    // A read that finds nothing; an update or delete of a record that is no longer there (a retried
    // erasure whose first attempt already deleted it): nothing to do, which is what was asked.
    if (response.status === 404 && (purpose === 'read' || purpose === 'write')) return undefined;
    if (ignored) return undefined;
    const excerpt = this.redact(text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()).slice(0, 200);
    const detail = `${where} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`;
    // As the issue asks (and DataGrail reports it): the vendor refused these credentials or this
    // action; another attempt with the same ones will not do better.
    if (response.status === 401 || response.status === 403) throw new ConnectorError('permission', detail, { retryable: false, status: response.status });
    if (response.status === 429) {
      const wait = retryAfterMs(response.headers.get('retry-after'));
      throw new ConnectorError('rate_limited', detail, { status: response.status, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
    }
    if (response.status >= 500) throw new ConnectorError('server', detail, { status: response.status });
    if (response.status === 404) throw new ConnectorError('not_found', detail, { status: response.status });
    if (response.status === 408) throw new ConnectorError('timeout', detail, { status: response.status });
    throw new ConnectorError('bad_data', detail, { status: response.status, retryable: false });
  }

  private networkError(error: unknown, where: string, timeoutMs: number): ConnectorError {
    if (error instanceof ConnectorError) return error;
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError') return new ConnectorError('timeout', `${where} did not answer within ${timeoutMs} ms`);
    if (name === 'AbortError') return new ConnectorError('timeout', `${where} was aborted: the connector was closed`);
    const code = ((error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code) as string | undefined;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConnectorError('not_found', `${where}: the host does not resolve (${code})`, { retryable: code === 'EAI_AGAIN' });
    if (code && /CERT|SSL|TLS/.test(code)) return new ConnectorError('authentication', `${where}: TLS failed (${code})`);
    return new ConnectorError('server', `${where} failed: ${code ?? this.redact((error as Error).message ?? String(error)).slice(0, 200)}`, { cause: error });
  }
}

function deletePath(target: Row, path: string): void {
  const parts = path.split('.');
  let node: unknown = target;
  for (const part of parts.slice(0, -1)) {
    node = (node as Row | undefined)?.[part];
    if (typeof node !== 'object' || node === null) return;
  }
  delete (node as Row)[parts[parts.length - 1]!];
}

/** Writes the masked (nested) values over the record. */
function mergeInto(target: Row, values: Row, prefix = ''): void {
  for (const [key, value] of Object.entries(values)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) mergeInto(target, value as Row, path);
    else setPath(target, path, value);
  }
}
