/**
 * The console is a client of the API (docs/decisions.md, "The console"): every page reads through
 * the API's routes and every action is an API call made with the signed-in user's token, inside
 * this process, without a network hop. The scope checks, validation, audit rows and configuration
 * changes are therefore exactly the API's: a viewer who forges a form gets the API's 403.
 */
import type { Context } from 'hono';

export type FetchApi = (request: Request, env: unknown) => Response | Promise<Response>;

export interface ApiAnswer<T = unknown> {
  status: number;
  ok: boolean;
  body: T;
  response: Response;
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | string[] | undefined> | URLSearchParams;
  json?: unknown;
  text?: { body: string; type: string };
  /** Give back the response unread (a CSV stream). */
  stream?: boolean;
}

export type CallApi = <T = any>(method: string, path: string, options?: CallOptions) => Promise<ApiAnswer<T>>;

/** An API caller for one console request, as the user whose token it holds (none for the login). */
export function apiCaller(c: Context, fetchApi: FetchApi, token: string | undefined): CallApi {
  return async (method, path, options = {}) => {
    const url = new URL(`/api/v1${path}`, new URL(c.req.url).origin);
    if (options.query instanceof URLSearchParams) {
      for (const [name, value] of options.query) url.searchParams.append(name, value);
    } else {
      for (const [name, value] of Object.entries(options.query ?? {})) {
        if (value === undefined || value === '') continue;
        for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
      }
    }
    const headers = new Headers();
    const host = c.req.header('host');
    if (host) headers.set('host', host);
    const forwarded = c.req.header('x-forwarded-proto');
    if (forwarded) headers.set('x-forwarded-proto', forwarded);
    const agent = c.req.header('user-agent');
    if (agent) headers.set('user-agent', agent);
    if (token) headers.set('authorization', `Bearer ${token}`);
    let body: string | undefined;
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(options.json);
    } else if (options.text) {
      headers.set('content-type', options.text.type);
      body = options.text.body;
    }
    // The socket's environment goes along: the API's rate limits see the browser's address.
    const response = await fetchApi(new Request(url, { method, headers, ...(body !== undefined ? { body } : {}) }), c.env);
    if (options.stream) return { status: response.status, ok: response.ok, body: undefined as never, response };
    const type = response.headers.get('content-type') ?? '';
    const parsed: unknown = type.includes('json') ? await response.json() : await response.text();
    return { status: response.status, ok: response.ok, body: parsed as never, response };
  };
}

/** What the API said when it refused: its message, and each field's problem when it named them. */
export function refusal(answer: ApiAnswer): string {
  const body = answer.body as { message?: string; detail?: { loc?: unknown[]; msg?: string }[]; error_description?: string } | string | undefined;
  if (typeof body === 'string') return body || `The API answered ${answer.status}`;
  if (body?.detail?.length) {
    return body.detail.map((item) => `${(item.loc ?? []).filter((part) => part !== 'body').join('.') || 'input'}: ${item.msg}`).join('; ');
  }
  return body?.message ?? body?.error_description ?? `The API answered ${answer.status}`;
}
