/**
 * `npm run --silent token`: prints an access token of the root client, from the running API's
 * token endpoint, so a shell can do `TOKEN=$(npm run --silent token)`. `-- --scope "a b"` narrows it.
 * The root client is DSRFLOW_ROOT_CLIENT_ID/SECRET, or the one `npm start` generated.
 */
import { parseArgs } from 'node:util';
import { resolveRootClient } from '../auth/provision.js';
import { loadConfigOrExit } from '../config.js';
import { fail } from './bootstrap.js';

const { values } = parseArgs({ options: { scope: { type: 'string' }, url: { type: 'string' } } });
const config = loadConfigOrExit();
try {
  const root = await resolveRootClient(config);
  if (!root) throw new Error('No root client: set DSRFLOW_ROOT_CLIENT_ID and DSRFLOW_ROOT_CLIENT_SECRET');
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  const base = values.url ?? config.accessPackages.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: root.client.id, client_secret: root.client.secret, ...(values.scope ? { scope: values.scope } : {}) });
  const response = await fetch(`${base}/api/v1/oauth/token`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) }).catch((error: Error) => {
    throw new Error(`The API does not answer at ${base} (${error.message}): start it with npm start`);
  });
  const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || !body.access_token) throw new Error(`No token: ${body.error ?? response.status} ${body.error_description ?? ''}`.trim());
  console.log(body.access_token);
} catch (error) {
  fail(error);
}
