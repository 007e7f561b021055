/** The Hono environment shared by every route module, and the factory that gives each the same validation errors. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { respondValidationError, zodDetails } from './errors.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type ApiEnv = {};

/** An OpenAPIHono whose validation failures answer 422 with every field named. */
export function newRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return respondValidationError(c, zodDetails(result.error, result.target === 'json' ? 'body' : result.target));
      return undefined;
    },
  });
}
