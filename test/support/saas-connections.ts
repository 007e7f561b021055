/**
 * SaaS connections set up through the API, as a user would: the connection with its secrets
 * (PATCH /connection), its saas_config (PUT /connection/{key}/saas_config, YAML) and its dataset
 * (PATCH /connection/{key}/dataset, YAML). Fides' configs are read from src/example/fides-saas.
 */
import { readFile } from 'node:fs/promises';
import type { Harness } from './harness.js';

/** One of Fides' SaaS files as shipped in src/example/fides-saas (unchanged). */
export const fidesSaasFile = (name: string): Promise<string> => readFile(new URL(`../../src/example/fides-saas/${name}`, import.meta.url), 'utf8');

async function send(harness: Harness, path: string, method: string, body: string, contentType: string): Promise<void> {
  const response = await harness.fetch(path, { method, body, headers: { 'content-type': contentType } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  const parsed = JSON.parse(text) as { failed?: unknown[] };
  if (parsed.failed?.length) throw new Error(`${method} ${path} failed items: ${JSON.stringify(parsed.failed)}`);
}

export async function createSaasConnection(
  harness: Harness,
  connection: { key: string; secrets: Record<string, unknown>; config: string; dataset: string; access?: 'read' | 'write' },
): Promise<void> {
  const { key, secrets, config, dataset, access = 'write' } = connection;
  await send(harness, '/api/v1/connection', 'PATCH', JSON.stringify([{ key, connection_type: 'saas', access, secrets }]), 'application/json');
  await send(harness, `/api/v1/connection/${key}/saas_config`, 'PUT', config, 'application/x-yaml');
  await send(harness, `/api/v1/connection/${key}/dataset`, 'PATCH', dataset, 'application/x-yaml');
}
