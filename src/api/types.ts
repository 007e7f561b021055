/** The Hono environment shared by every route module, and the factory that gives each the same validation errors. */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthVariables } from './auth.js';
import { respondValidationError, zodDetails } from './errors.js';

export type ApiEnv = { Variables: AuthVariables };

/** An OpenAPIHono whose validation failures answer 422 with every field named. */
export function newRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return respondValidationError(c, zodDetails(result.error, result.target === 'json' ? 'body' : result.target));
      return undefined;
    },
  });
}
