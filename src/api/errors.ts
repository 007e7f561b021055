/**
 * Error responses. Every 4xx names what was wrong: validation errors list each field with its
 * location (`loc`, as FastAPI/Fides write it) and a readable message.
 */
import type { Context } from 'hono';
import type { ZodError } from 'zod';

export interface ErrorDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  detail?: ErrorDetail[];
}

/** `body[0].identity.email` from `['body', 0, 'identity', 'email']`. */
export function formatLocation(loc: (string | number)[]): string {
  return loc.reduce<string>((text, part, i) => (typeof part === 'number' ? `${text}[${part}]` : i === 0 ? part : `${text}.${part}`), '');
}

export function validationError(details: ErrorDetail[]): ErrorBody {
  return {
    error: 'validation_error',
    message: details.map((detail) => `${formatLocation(detail.loc)}: ${detail.msg}`).join('; '),
    detail: details,
  };
}

export function zodDetails(error: ZodError, target: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    let msg = issue.message;
    if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) msg = 'is required';
    return { loc: [target, ...(issue.path as (string | number)[])], msg, type: issue.code };
  });
}

export function respondValidationError(c: Context, details: ErrorDetail[]) {
  return c.json(validationError(details), 422);
}

export const errorBody = (error: string, message: string): ErrorBody => ({ error, message });
