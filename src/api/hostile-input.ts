/**
 * Input no route should ever see: NUL characters (Postgres text cannot hold them, and a route that
 * passed one on would answer 500 or echo the database's error), and JSON nested so deep that a
 * recursive check could overflow the stack. Refused with 422 naming where, before validation,
 * after authentication.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { formatPath } from '../domain/messages.js';
import { respondValidationError, type ErrorDetail } from './errors.js';

/** Deeper than any dataset, policy or manual row needs; far below what the stack allows. */
export const MAX_JSON_DEPTH = 64;

type Path = (string | number)[];

/** The first problem in a parsed value: a NUL in a key or a string, or nesting beyond the limit. Iterative. */
export function findHostileValue(value: unknown, maxDepth = MAX_JSON_DEPTH): { path: Path; msg: string; type: string } | undefined {
  const stack: { value: unknown; path: Path }[] = [{ value, path: [] }];
  while (stack.length) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return { path, msg: 'must not contain NUL characters', type: 'nul_character' };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (path.length >= maxDepth) return { path, msg: `nested deeper than ${maxDepth} levels`, type: 'too_deep' };
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (key.includes('\0')) return { path, msg: 'keys must not contain NUL characters', type: 'nul_character' };
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

const isJson = (contentType: string | undefined) => /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType ?? '');

function nulInUrl(c: Context): ErrorDetail | undefined {
  const url = new URL(c.req.url);
  if (/%00/i.test(url.pathname) || url.pathname.includes('\0')) return { loc: ['path'], msg: 'must not contain NUL characters', type: 'nul_character' };
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (name.includes('\0') || values.some((value) => value.includes('\0'))) return { loc: ['query', name.replace(/\0/g, '\\0')], msg: 'must not contain NUL characters', type: 'nul_character' };
  }
  return undefined;
}

export function hostileInputGuard(): MiddlewareHandler {
  return async (c, next) => {
    const inUrl = nulInUrl(c);
    if (inUrl) return respondValidationError(c, [inUrl]);
    if (isJson(c.req.header('content-type')) && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(c.req.method)) {
      let body: unknown;
      try {
        body = await c.req.json(); // cached: the validator reads the same parsed body
      } catch {
        body = undefined; // not JSON: the validator answers 400
      }
      const problem = body === undefined ? undefined : findHostileValue(body);
      if (problem) return respondValidationError(c, [{ loc: ['body', ...problem.path], msg: problem.msg, type: problem.type }]);
    }
    await next();
  };
}

export const describeHostile = (problem: { path: Path; msg: string }) => `${formatPath(['body', ...problem.path])}: ${problem.msg}`;
