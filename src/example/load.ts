/**
 * The Fides example, loaded by `npm start` so that a first request finds something: the sample
 * schema and rows in a target database, a connection to it, its dataset, and a default access
 * policy that targets every data category.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ensureDatabase, type Sql } from '../db/client.js';
import { upsertConnection } from '../db/connections.js';
import { upsertDataset } from '../db/datasets.js';
import { savePolicy } from '../db/policies.js';
import { parseDatasetYaml } from '../domain/datasets.js';
import type { Policy } from '../domain/policies.js';

export const EXAMPLE_DIR = fileURLToPath(new URL('./fides-postgres-example/', import.meta.url));
export const EXAMPLE_CONNECTION_KEY = 'postgres_example';
export const DEFAULT_ACCESS_POLICY_KEY = 'default_access_policy';

/** fideslang's top-level data categories: targeting both selects every category. */
export const ALL_DATA_CATEGORIES = ['system', 'user'];

export const defaultAccessPolicy: Policy = {
  key: DEFAULT_ACCESS_POLICY_KEY,
  name: 'Default access policy',
  requires_approval: false,
  requires_erasure_confirmation: false,
  rules: [
    {
      key: 'access_all_data',
      name: 'Access all data',
      action_type: 'access',
      masking_strategy: null,
      targets: ALL_DATA_CATEGORIES.map((category) => ({ key: `all_${category}`, data_category: category })),
    },
  ],
};

export const EXAMPLE_ERASURE_POLICY_KEY = 'example_erasure_policy';

/** Erases names (null) after showing what would change and waiting for a person to confirm. */
export const exampleErasurePolicy: Policy = {
  key: EXAMPLE_ERASURE_POLICY_KEY,
  name: 'Example erasure policy: names, after confirmation',
  requires_approval: false,
  requires_erasure_confirmation: true,
  rules: [
    { ...defaultAccessPolicy.rules[0]!, key: 'access_before_erasure' },
    {
      key: 'erase_names',
      name: 'Erase names',
      action_type: 'erasure',
      masking_strategy: { strategy: 'null_rewrite' },
      targets: [{ key: 'names', data_category: 'user.name' }],
    },
  ],
};

export async function exampleDataset() {
  return parseDatasetYaml(await readFile(`${EXAMPLE_DIR}/postgres_example_test_dataset.yml`, 'utf8'));
}

/** Creates the target database and loads the sample schema and rows, unless already there. */
export async function loadExampleDatabase(url: string): Promise<void> {
  await ensureDatabase(url);
  const target = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [loaded] = await target`select to_regclass('public.customer') is not null as present`;
    if (loaded?.present) return;
    const script = await readFile(`${EXAMPLE_DIR}/postgres_sample.sql`, 'utf8');
    await target.begin((tx) => tx.unsafe(script));
  } finally {
    await target.end();
  }
}

/** Registers the example connection, dataset, default access policy and an erasure policy in dsrflow's database. */
export async function registerExample(sql: Sql, exampleUrl: string, encryptionKey: Buffer, connectionKey = EXAMPLE_CONNECTION_KEY): Promise<void> {
  const [dataset] = await exampleDataset();
  await sql.begin(async (tx) => {
    await upsertConnection(tx, { key: connectionKey, name: 'Fides example Postgres', connection_type: 'postgres', access: 'write' }, { url: exampleUrl }, encryptionKey);
    await upsertDataset(tx, connectionKey, dataset!);
    await savePolicy(tx, defaultAccessPolicy);
    await savePolicy(tx, exampleErasurePolicy);
  });
}
