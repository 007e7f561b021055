/** What the workflows learn from a failed activity. Workflow code: deterministic, no I/O. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FAILURE_TYPES } from './definitions.js';

/** The innermost failure of an activity failure: its type, message and error category. */
export function describeFailure(error: unknown): { type: string | undefined; message: string; category: string | null } {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    const category = cause.type === FAILURE_TYPES.connector ? ((cause.details?.[0] as string | undefined) ?? null) : null;
    return { type: cause.type ?? undefined, message: cause.message, category };
  }
  return { type: undefined, message: (cause as Error | undefined)?.message ?? String(cause), category: null };
}

