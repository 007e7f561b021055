/**
 * The console's configuration pages, read through the API with the signed-in user's token:
 *
 * - /console/connections: every connection, with a Test button (connection:write) that shows the
 *   outcome in the connection's row: succeeded, or the failure's category and reason
 *   (configuration/connections.ts);
 * - /console/datasets: each connection's datasets and their collections, and an upload of
 *   fideslang YAML (dataset:write) whose problems are shown at their line (configuration/datasets.ts);
 * - /console/policies: every policy with its rules, masking strategies and targets, read-only
 *   (configuration/policies.ts);
 * - /console/webhooks: the webhook subscriptions, and /console/webhooks/:id the delivery log of one,
 *   paged (configuration/webhooks.ts).
 *
 * A page whose read scope the user's roles do not grant answers 403 without calling the API; an
 * action the user may not take is still the API's to refuse (a forged form gets its 403).
 */
import { Hono } from 'hono';
import { connectionPages } from './configuration/connections.js';
import { datasetPages } from './configuration/datasets.js';
import { policyPages } from './configuration/policies.js';
import { webhookPages } from './configuration/webhooks.js';
import type { ConsoleEnv } from './index.js';

export interface ConfigurationOptions {
  /** The API's DSRFLOW_MAX_BODY_SIZE: an uploaded dataset file larger than this is refused before it is sent (1 MiB when not given). */
  maxBodyBytes?: number | undefined;
}

export function configurationPages(options: ConfigurationOptions = {}) {
  const app = new Hono<ConsoleEnv>();
  app.route('/', connectionPages());
  app.route('/', datasetPages({ maxBodyBytes: options.maxBodyBytes }));
  app.route('/', policyPages());
  app.route('/', webhookPages());
  return app;
}
