/**
 * Consent propagation: a person's opt-in or opt-out sent to every SaaS connection whose
 * saas_config has `consent_requests` (Mailchimp's transactional allowlist, for one), with the
 * request's identities. This is how an opt-out of sale reaches vendors.
 *
 * Safe to run again: vendors' consent endpoints are idempotent (adding an address already on a
 * list, or removing one that is not, changes nothing), so a retried activity sends them again.
 * A policy rule of action type `consent` runs it once access and erasure are done (the lifecycle's
 * `consent` stage; docs/decisions.md, "Consent").
 */
import { SaasConnector } from '../connectors/saas.js';
import { readIdentities } from '../db/privacy-requests.js';
import { connectionsTakingConsent } from '../db/saas-configs.js';
import type { ExecutionContext } from './context.js';

export interface ConsentResult {
  connectionKey: string;
  /** False when the connection's config has no request for this preference. */
  sent: boolean;
}

export async function propagateConsent(context: ExecutionContext, input: { privacyRequestId: string; preference: 'opt_in' | 'opt_out' }): Promise<ConsentResult[]> {
  const connections = await connectionsTakingConsent(context.sql);
  if (!connections.length) return [];
  const identities = await readIdentities(context.sql, input.privacyRequestId, context.encryptionKey);
  const results: ConsentResult[] = [];
  for (const key of connections) {
    const connector = await context.connectors.get(key);
    if (!(connector instanceof SaasConnector)) continue;
    results.push({ connectionKey: key, sent: await connector.consent(input.preference, identities) });
  }
  return results;
}
