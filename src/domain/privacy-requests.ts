/**
 * Privacy requests: whose data (identities), what to do with it (the policy), and where the
 * request stands (status).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const PRIVACY_REQUEST_STATUSES = [
  'identity_unverified',
  'pending',
  'approved',
  'denied',
  'in_processing',
  'paused',
  'awaiting_erasure_confirmation',
  'error',
  'complete',
  'canceled',
  /** The same identity and policy as an open (or recent) request: linked to it, never run. */
  'duplicate',
] as const;
export type PrivacyRequestStatus = (typeof PRIVACY_REQUEST_STATUSES)[number];

/** Statuses a request never leaves. */
export const FINAL_STATUSES: readonly PrivacyRequestStatus[] = ['denied', 'complete', 'canceled', 'duplicate'];

export const PRIVACY_REQUEST_ID = /^pri_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function newPrivacyRequestId(): string {
  return `pri_${randomUUID()}`;
}

/** E.164 after removing the spaces, dashes, dots and parentheses people write. */
const phoneNumber = z
  .string()
  .transform((value) => value.replace(/[\s().-]/g, ''))
  .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be a phone number in international format, such as +1 212 555 0100'));

const identityValue = z.union([
  z.string().trim().min(1, 'must not be empty').max(1000),
  z.number().transform(String),
  // Fides' custom identities: {label, value}.
  z.object({ label: z.string().optional(), value: z.union([z.string().trim().min(1).max(1000), z.number().transform(String)]) }).transform(({ value }) => value),
]);

/**
 * The identities a person is known by: `email`, `phone_number`, and custom keys (for example
 * `loyalty_id`) that datasets name in `fides_meta.identity`. At least one is required.
 */
export const identitySchema = z
  .object({
    email: z.string().trim().toLowerCase().pipe(z.email('must be an email address')).optional(),
    phone_number: phoneNumber.optional(),
  })
  .catchall(identityValue)
  .superRefine((identity, ctx) => {
    for (const key of Object.keys(identity)) {
      if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'identity names are letters, digits and _' });
    }
    if (!Object.values(identity).some((value) => value !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give at least one identity, such as email or phone_number' });
    }
  })
  .transform((identity) => Object.fromEntries(Object.entries(identity).filter(([, value]) => value !== undefined)) as Record<string, string>);
export type Identity = z.output<typeof identitySchema>;
