/**
 * A SaaS connection's secrets are its saas_config's connector params. When they are saved they
 * must fit the config (when it is already set): known params only, every param without a default
 * given, scalar values, and the hosts they fill in must be host names within DSRFLOW_CONNECTION_ALLOW.
 * The connector checks the same again when it runs (src/connectors/saas.ts).
 */
import { isHost, PLACEHOLDER, requestList, type ClientConfig, type SaasConfig } from '../domain/saas/config.js';
import { connectorParamValues, fillText, missingConnectorParams } from '../domain/saas/requests.js';
import { normalizeHost, refusedPart, type AllowList } from './allow-list.js';
import { TargetRefused } from './postgres.js';

const scalar = (value: unknown) => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** Why these secrets cannot be saved, naming the param; undefined when they can. */
export function refuseSaasSecrets(config: SaasConfig | undefined, secrets: Record<string, unknown>, allow: AllowList | undefined): TargetRefused | undefined {
  for (const [name, value] of Object.entries(secrets)) {
    if (!scalar(value) && !(Array.isArray(value) && value.every(scalar))) return new TargetRefused(name, 'must be a string, a number, a boolean or a list of them');
  }
  if (!config) return undefined;
  const known = new Set(config.connector_params.map((param) => param.name));
  const unknown = Object.keys(secrets).find((name) => !known.has(name));
  if (unknown !== undefined) return new TargetRefused(unknown, `is not a connector param of the saas_config ${config.fides_key} (its params: ${[...known].join(', ')})`);
  const [missing] = missingConnectorParams(config.connector_params, secrets);
  if (missing !== undefined) return new TargetRefused(missing, `is required by the saas_config ${config.fides_key}`);
  const values = connectorParamValues(config.connector_params, secrets);
  const clients: ClientConfig[] = [config.client_config];
  for (const kind of ['opt_in', 'opt_out'] as const) for (const request of requestList(config.consent_requests?.[kind])) if (request.client_config) clients.push(request.client_config);
  for (const client of clients) {
    const field = [...client.host.matchAll(PLACEHOLDER)][0]?.[1] ?? 'host';
    const host = fillText(client.host, values);
    if (host === undefined) continue; // an optional param left unset: the requests that need it fail when sent
    if (!isHost(host)) return new TargetRefused(field, `${JSON.stringify(host)} is not a host name (a name such as api.example.com, optionally with :port and a /path, without a scheme)`);
    const url = new URL(`${client.protocol}://${host}`);
    const refused = refusedPart({ host: url.hostname, port: Number(url.port || (client.protocol === 'https' ? 443 : 80)), database: '' }, allow);
    if (refused) return new TargetRefused(field, `the ${refused} ${refused === 'host' ? normalizeHost(url.hostname) : ''} is not among DSRFLOW_CONNECTION_ALLOW`.replace('  ', ' '));
  }
  return undefined;
}
