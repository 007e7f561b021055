/**
 * What people and external systems can do to a running privacy request, and the payload each
 * action carries. The same schemas validate API bodies and the signals and updates the workflow
 * receives straight from Temporal, so every path refuses the same things with the same words.
 *
 * Pure: imported by workflow code.
 */
import { z } from 'zod';
import { formatPath, issueMessage } from './messages.js';

/** Whether a value is plain JSON (what a row field may hold): no functions, dates, NaN or undefined. */
function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value as object).every(isJson);
  return false;
}

export const MAX_MANUAL_ROWS = 1000;

/** Every action, in the order the API documents them. */
export const ACTION_NAMES = [
  'approve',
  'deny',
  'cancel',
  'retry',
  'confirmErasure',
  'manualInput',
  'erasureConfirm',
  'extend',
  'verifyIdentity',
  'placeLegalHold',
  'liftLegalHold',
] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

function buildActionSchemas() {
  const person = z.string().trim().min(1, 'must not be empty').max(255);
  const reason = z.string().trim().max(2000);
  /** A row: field name → JSON value. */
  const row = z.record(z.string(), z.unknown()).refine((value) => Object.values(value).every(isJson), 'values must be JSON: text, numbers, true/false, null, lists or objects');
  return {
    approve: z.strictObject({ reviewer: person, reason: reason.optional() }),
    deny: z.strictObject({ reviewer: person, reason: reason.min(1, 'a reason is required to deny a request') }),
    cancel: z.strictObject({ user_id: person.optional(), reason: reason.min(1, 'a reason is required to cancel a request') }),
    retry: z.strictObject({ user_id: person.optional() }),
    /** Go ahead with erasure after seeing how many rows each collection would lose. */
    confirmErasure: z.strictObject({ user_id: person.optional() }),
    /** Rows a person found in a manual collection (access). Defaults to the collection the request waits on. */
    manualInput: z.strictObject({
      collection: z.string().min(1).optional(),
      rows: z.array(row).max(MAX_MANUAL_ROWS, `at most ${MAX_MANUAL_ROWS} rows`),
      user_id: person.optional(),
    }),
    /** How many rows a person masked in a manual collection (erasure). */
    erasureConfirm: z.strictObject({
      collection: z.string().min(1).optional(),
      row_count: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must not be negative'),
      user_id: person.optional(),
    }),
    /** The one extension of the due date the regulation allows, before the first due date passes. */
    extend: z.strictObject({ user_id: person.optional(), reason: reason.min(1, 'a reason is required to extend the due date') }),
    /**
     * The person proved who they are (the API's code check, or an external verifier), or failed to
     * (the request is then denied with reason `insuf_verification`).
     */
    verifyIdentity: z.strictObject({ outcome: z.enum(['verified', 'failed'], { error: 'must be verified or failed' }), method: z.string().trim().min(1).max(100).optional(), user_id: person.optional() }),
    /** Hold erasure (never access) until the hold is lifted: litigation, an investigation. */
    placeLegalHold: z.strictObject({ user_id: person.optional(), reason: reason.min(1, 'a reason is required for a legal hold') }),
    liftLegalHold: z.strictObject({ user_id: person.optional(), reason: reason.optional() }),
  } as const satisfies Record<ActionName, z.ZodType>;
}

let built: ReturnType<typeof buildActionSchemas> | undefined;
/**
 * The schemas, built when first needed: every workflow evaluates this module again (its own module
 * cache), and most requests never receive an action, so building them at import would cost every
 * request (docs/decisions.md, "What notices cost").
 */
export const actionSchemas = (): ReturnType<typeof buildActionSchemas> => (built ??= buildActionSchemas());
export type ActionPayload<A extends ActionName> = z.output<ReturnType<typeof buildActionSchemas>[A]>;

/** Validates a payload; returns it parsed, or a message naming each bad field. */
export function parseAction<A extends ActionName>(action: A, payload: unknown): { ok: true; value: ActionPayload<A> } | { ok: false; message: string } {
  const result = actionSchemas()[action].safeParse(payload ?? {});
  if (result.success) return { ok: true, value: result.data as ActionPayload<A> };
  const message = result.error.issues
    .map((issue) => (issue.path.length ? `${formatPath(issue.path)}: ${issueMessage(issue)}` : issueMessage(issue)))
    .join('; ');
  return { ok: false, message };
}

/** Checks manual rows against the fields the collection declares; returns a message or undefined. */
export function manualRowsProblem(rows: Record<string, unknown>[], fields: readonly string[]): string | undefined {
  const known = new Set(fields);
  for (const [index, row] of rows.entries()) {
    const unknown = Object.keys(row).filter((field) => !known.has(field));
    if (unknown.length) return `rows[${index}]: ${unknown.join(', ')} ${unknown.length > 1 ? 'are not fields' : 'is not a field'} of this collection (fields: ${fields.join(', ')})`;
    if (Object.keys(row).length === 0) return `rows[${index}]: a row needs at least one field`;
  }
  return undefined;
}

/**
 * Who an action says it comes from (`user_id`, or `reviewer` for a review), for the audit row of
 * a refused action. Through the API this is the authenticated client or user; a signal sent
 * straight to Temporal carries what its sender wrote.
 */
export function claimedActor(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { user_id: userId, reviewer } = payload as { user_id?: unknown; reviewer?: unknown };
  const value = typeof userId === 'string' ? userId : typeof reviewer === 'string' ? reviewer : undefined;
  return value === undefined ? null : value.replace(/\0/g, '').slice(0, 255);
}
