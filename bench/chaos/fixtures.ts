/**
 * The chaos run's data: one customer of its own per request in the Fides example database (so
 * every erasure has rows nobody else touches and its counts are exact), a manual filing cabinet,
 * a store that refuses the first read of some rows, and the policies.
 *
 * "Fails once, then retried": `chaos_flaky` is a view whose rows pass through `chaos_gate`, which
 * draws from a sequence of the row's own. Sequences are not transactional, so the first read of a
 * flaky row raises insufficient_privilege (42501: a `permission` error, which dsrflow does not
 * retry: the request goes to `error`) and every later read passes. The gate is declared costly, so
 * Postgres filters by the request's email first and draws only for that row.
 */
import type postgres from 'postgres';
import type { Sql } from '../../src/db/client.js';
import { upsertConnection } from '../../src/db/connections.js';
import { upsertDataset } from '../../src/db/datasets.js';
import { savePolicy } from '../../src/db/policies.js';
import { parseDatasetYaml } from '../../src/domain/datasets.js';
import type { Policy } from '../../src/domain/policies.js';

export type Kind = 'access' | 'access_manual' | 'erasure' | 'erasure_manual';
export const KINDS: readonly Kind[] = ['access', 'access_manual', 'erasure', 'erasure_manual'];

export interface PlannedRequest {
  index: number;
  kind: Kind;
  /** The first read of its row in chaos_flaky fails (permission), the driver retries the request. */
  flaky: boolean;
  email: string;
  customerId: number;
  externalId: string;
  policyKey: string;
  /** What the driver answers when the filing cabinet asks (access). */
  manualRows: Record<string, unknown>[];
}

export const CUSTOMER_BASE = 10_000;
export const ERASURE_POLICY_KEY = 'chaos_erasure';
export const ACCESS_POLICY_KEY = 'default_access_policy';

export function planRequests(count: number, runId: string): PlannedRequest[] {
  return Array.from({ length: count }, (_, index) => {
    const kind = KINDS[index % KINDS.length]!;
    const customerId = CUSTOMER_BASE + index;
    const manual = kind === 'access_manual' || kind === 'erasure_manual';
    return {
      index,
      kind,
      flaky: index % 5 === 4,
      email: `chaos-${index}@example.com`,
      customerId,
      externalId: `chaos-${runId}-${index}`,
      policyKey: kind.startsWith('erasure') ? ERASURE_POLICY_KEY : ACCESS_POLICY_KEY,
      manualRows: manual ? [{ id: customerId, authorized_user: `Cabinet Owner ${index}`, customer_id: customerId, payment_card_id: `chaos-pay-${index}` }] : [],
    };
  });
}

/** Rows every request finds in access, per collection (the filing cabinet: what the driver answered). */
export function expectedAccessCounts(request: PlannedRequest): Record<string, number> {
  return {
    customer: 1,
    address: 1,
    login: 2,
    orders: 1,
    order_item: 1,
    product: 1,
    payment_card: 1,
    visit: 1,
    service_request: 0,
    employee: 0,
    report: 0,
    filing_cabinet: request.manualRows.length,
    chaos_flaky: 1,
  };
}

/** Rows masked per collection by an erasure request (user.name and street fields); the others mask none. */
export function expectedErasureCounts(request: PlannedRequest): Record<string, number> {
  return { customer: 1, address: 1, filing_cabinet: request.manualRows.length };
}

/** Adds the chaos customers, their rows, and the flaky store to a freshly loaded example database. */
export async function seedTarget(target: postgres.Sql, requests: PlannedRequest[]): Promise<void> {
  const n = requests.length;
  await target.begin(async (tx) => {
    await tx.unsafe(`
      insert into address (id, house, street, city, state, zip)
        select ${CUSTOMER_BASE} + i, 100 + i, 'Chaos Street ' || i, 'Chaostown', 'NY', '10001' from generate_series(0, ${n - 1}) i;
      insert into customer (id, email, name, created, address_id)
        select ${CUSTOMER_BASE} + i, 'chaos-' || i || '@example.com', 'Chaos Customer ' || i, '2024-01-01 10:00:00', ${CUSTOMER_BASE} + i from generate_series(0, ${n - 1}) i;
      insert into login (id, customer_id, time)
        select 100000 + 2 * i + k, ${CUSTOMER_BASE} + i, '2024-01-01 10:00:00'::timestamp + k * interval '1 day' from generate_series(0, ${n - 1}) i, generate_series(0, 1) k;
      insert into payment_card (id, name, ccn, code, preferred, customer_id, billing_address_id)
        select 'chaos-pay-' || i, 'Chaos Customer ' || i, 4000000000000000 + i, 123, true, ${CUSTOMER_BASE} + i, ${CUSTOMER_BASE} + i from generate_series(0, ${n - 1}) i;
      insert into orders (id, customer_id, shipping_address_id, payment_card_id)
        select 'chaos-ord-' || i, ${CUSTOMER_BASE} + i, ${CUSTOMER_BASE} + i, 'chaos-pay-' || i from generate_series(0, ${n - 1}) i;
      insert into order_item (order_id, item_no, product_id, quantity)
        select 'chaos-ord-' || i, 1, 1 + i % 6, 1 from generate_series(0, ${n - 1}) i;
      insert into visit (email, last_visit)
        select 'chaos-' || i || '@example.com', '2024-02-01 10:00:00' from generate_series(0, ${n - 1}) i;

      create table chaos_flaky_base (id int primary key, email varchar(100) not null unique, note text, attempt_seq text);
      create function chaos_gate(seq text) returns boolean language plpgsql volatile cost 100000 as $$
      begin
        if seq is not null and nextval(seq::regclass) = 1 then
          raise exception 'chaos: the first read of this row is refused' using errcode = '42501';
        end if;
        return true;
      end $$;
      create view chaos_flaky as select id, email, note from chaos_flaky_base where chaos_gate(attempt_seq);
    `);
    for (const request of requests) {
      const sequence = request.flaky ? `chaos_attempt_${request.index}` : null;
      if (sequence) await tx.unsafe(`create sequence ${sequence}`);
      await tx`insert into chaos_flaky_base (id, email, note, attempt_seq) values (${request.customerId}, ${request.email}, ${`row ${request.index}`}, ${sequence})`;
    }
  });
}

const CABINET_YAML = `
dataset:
  - fides_key: chaos_cabinet
    name: Filing cabinet (manual)
    collections:
      - name: filing_cabinet
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta:
              primary_key: true
          - name: authorized_user
            data_categories: [user.name]
            fides_meta:
              data_type: string
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta:
              references:
                - dataset: postgres_example_test_dataset
                  field: customer.id
                  direction: from
          - name: payment_card_id
            data_categories: [system.operations]
`;

const FLAKY_YAML = `
dataset:
  - fides_key: chaos_flaky
    name: A store that refuses some rows' first read
    collections:
      - name: chaos_flaky
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta:
              primary_key: true
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
              data_type: string
          - name: note
            data_categories: [system.operations]
`;

export const erasurePolicy: Policy = {
  key: ERASURE_POLICY_KEY,
  name: 'Chaos erasure: names and streets, after confirmation',
  requires_approval: false,
  requires_erasure_confirmation: true,
  rules: [
    { key: 'access_all', name: 'Access all', action_type: 'access', masking_strategy: null, targets: [{ key: 'user', data_category: 'user' }, { key: 'system', data_category: 'system' }] },
    {
      key: 'erase',
      name: 'Erase names and streets',
      action_type: 'erasure',
      masking_strategy: { strategy: 'null_rewrite' } as Policy['rules'][number]['masking_strategy'],
      targets: [
        { key: 'names', data_category: 'user.name' },
        { key: 'streets', data_category: 'user.contact.address.street' },
      ],
    },
  ],
};

/** The manual cabinet and the flaky store next to the example (registered by registerExample). */
export async function registerChaosConfiguration(sql: Sql, targetUrl: string, encryptionKey: Buffer): Promise<void> {
  const [cabinet] = parseDatasetYaml(CABINET_YAML);
  const [flaky] = parseDatasetYaml(FLAKY_YAML);
  await sql.begin(async (tx) => {
    await upsertConnection(tx, { key: 'chaos_cabinet', name: 'Filing cabinet', connection_type: 'manual', access: 'write' }, {}, encryptionKey);
    await upsertDataset(tx, 'chaos_cabinet', cabinet!);
    await upsertConnection(tx, { key: 'chaos_flaky', name: 'Flaky store', connection_type: 'postgres', access: 'write' }, { url: targetUrl }, encryptionKey);
    await upsertDataset(tx, 'chaos_flaky', flaky!);
    await savePolicy(tx, erasurePolicy);
  });
}
