/**
 * Error responses. Every 4xx names what was wrong: validation errors list each field with its
 * location (`loc`, as FastAPI/Fides write it) and a readable message.
 */
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { formatPath, issueMessage } from '../domain/messages.js';

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


export function validationError(details: ErrorDetail[]): ErrorBody {
  return {
    error: 'validation_error',
    message: details.map((detail) => `${formatPath(detail.loc)}: ${detail.msg}`).join('; '),
    detail: details,
  };
}

export function zodDetails(error: ZodError, target: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    return { loc: [target, ...(issue.path as (string | number)[])], msg: issueMessage(issue), type: issue.code };
  });
}

export function respondValidationError(c: Context, details: ErrorDetail[]) {
  return c.json(validationError(details), 422);
}

export const errorBody = (error: string, message: string): ErrorBody => ({ error, message });
