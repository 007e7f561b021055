/**
 * How a failure of a data store is classified, the way privacy teams triage them (DataGrail's
 * integration error categories): only transient ones are worth retrying.
 *
 * Pure: imported by workflow code.
 */
export const ERROR_CATEGORIES = ['authentication', 'permission', 'not_found', 'rate_limited', 'timeout', 'server', 'bad_data'] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export const isErrorCategory = (value: unknown): value is ErrorCategory => (ERROR_CATEGORIES as readonly unknown[]).includes(value);

/** Whether another attempt may succeed. */
export const RETRYABLE_CATEGORIES: Record<ErrorCategory, boolean> = {
  authentication: false,
  permission: false,
  not_found: false,
  rate_limited: true,
  timeout: true,
  server: true,
  bad_data: false,
};
