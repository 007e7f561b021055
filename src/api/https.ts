/** Whether a request came over https: directly, or through a TLS proxy that says so (X-Forwarded-Proto). */
import type { Context } from 'hono';

export const isHttps = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
