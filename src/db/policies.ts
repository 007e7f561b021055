/** SQL for `policy`, `policy_rule` and `rule_target`: a policy is read as one aggregate, and written whole (savePolicy) or level by level (the API). */
import type { Policy, PolicyRule, RuleTarget } from '../domain/policies.js';
import type { PendingQuery, Row } from 'postgres';
import { asJson, type Sql, type TransactionSql } from './client.js';

/** Creates or replaces a policy with all its rules and targets, in the caller's transaction. */
export async function savePolicy(tx: TransactionSql, policy: Policy): Promise<void> {
  await tx`
    insert into policy (key, name, requires_approval, requires_erasure_confirmation, regulation, custom_days, requires_identity_verification)
    values (${policy.key}, ${policy.name}, ${policy.requires_approval}, ${policy.requires_erasure_confirmation},
      ${policy.regulation ?? 'gdpr'}, ${policy.custom_days ?? null}, ${policy.requires_identity_verification ?? false})
    on conflict (key) do update set
      name = excluded.name,
      requires_approval = excluded.requires_approval,
      requires_erasure_confirmation = excluded.requires_erasure_confirmation,
      regulation = excluded.regulation,
      custom_days = excluded.custom_days,
      requires_identity_verification = excluded.requires_identity_verification,
      updated_at = now()`;
  await tx`delete from policy_rule where policy_key = ${policy.key}`;
  for (const rule of policy.rules) await insertRule(tx, policy.key, rule);
}

async function insertRule(tx: TransactionSql, policyKey: string, rule: PolicyRule): Promise<void> {
  await tx`
    insert into policy_rule (policy_key, key, name, action_type, masking_strategy, consent_preference)
    values (${policyKey}, ${rule.key}, ${rule.name}, ${rule.action_type}, ${rule.masking_strategy === null ? null : tx.json(asJson(rule.masking_strategy))}, ${rule.consent_preference ?? null})`;
  for (const target of rule.targets) {
    await tx`
      insert into rule_target (policy_key, rule_key, key, name, data_category)
      values (${policyKey}, ${rule.key}, ${target.key}, ${target.name ?? null}, ${target.data_category})`;
  }
}

type PolicyHeaderRow = Omit<Policy, 'rules'>;
type RuleRow = Omit<PolicyRule, 'targets' | 'consent_preference'> & { policy_key: string; consent_preference: PolicyRule['consent_preference'] | null };
type TargetRow = { policy_key: string; rule_key: string; key: string; name: string | null; data_category: string };

const targetOf = ({ key, name, data_category }: TargetRow): RuleTarget => ({ key, data_category, ...(name !== null ? { name } : {}) });

/** A policy from its row and its own rules (oldest first) and targets. */
function policyOf(header: PolicyHeaderRow, rules: RuleRow[], targets: TargetRow[]): Policy {
  return {
    ...header,
    rules: rules.map(({ policy_key: _policyKey, consent_preference: preference, ...rule }) => ({
      ...rule,
      ...(preference ? { consent_preference: preference } : {}),
      targets: targets.filter((target) => target.rule_key === rule.key).map(targetOf),
    })),
  };
}

/**
 * Policies with their rules and targets, in one statement: those the fragment selects (a `where`
 * on `p`, or an `order by … limit`), in its order.
 */
async function readPolicies(sql: Sql | TransactionSql, selection: PendingQuery<Row[]>): Promise<Policy[]> {
  const rows = await sql<(PolicyHeaderRow & { rules: RuleRow[]; targets: TargetRow[] })[]>`
    select p.key, p.name, p.requires_approval, p.requires_erasure_confirmation, p.regulation, p.custom_days, p.requires_identity_verification,
      coalesce((
        select json_agg(json_build_object('policy_key', r.policy_key, 'key', r.key, 'name', r.name, 'action_type', r.action_type,
          'masking_strategy', r.masking_strategy, 'consent_preference', r.consent_preference) order by r.created_at, r.key)
        from policy_rule r where r.policy_key = p.key), '[]') as rules,
      coalesce((
        select json_agg(json_build_object('policy_key', t.policy_key, 'rule_key', t.rule_key, 'key', t.key, 'name', t.name, 'data_category', t.data_category) order by t.created_at, t.key)
        from rule_target t where t.policy_key = p.key), '[]') as targets
    from policy p ${selection}`;
  return rows.map(({ rules, targets, ...header }) => policyOf(header, rules, targets));
}

/** The policies of these keys that exist, each with its rules and targets (the intake reads them on every call), by policy key. */
export async function getPolicies(sql: Sql | TransactionSql, keys: string[]): Promise<Map<string, Policy>> {
  if (!keys.length) return new Map();
  const policies = await readPolicies(sql, sql`where p.key = any(${sql.array([...new Set(keys)])})`);
  return new Map(policies.map((policy) => [policy.key, policy]));
}

export async function getPolicy(sql: Sql | TransactionSql, key: string): Promise<Policy | undefined> {
  return (await getPolicies(sql, [key])).get(key);
}

/** A page of policies by key, each with its rules and targets. */
export async function listPolicyPage(sql: Sql, page: number, size: number): Promise<{ items: Policy[]; total: number }> {
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from policy`;
  return { items: await readPolicies(sql, sql`order by p.key limit ${size} offset ${(page - 1) * size}`), total: count!.total };
}

/**
 * Creates a policy or updates its name and flags. Its rules are left as they are; a flag that is
 * undefined keeps its stored value (false for a new policy).
 */
export async function upsertPolicyHeader(
  sql: Sql | TransactionSql,
  policy: {
    key: string;
    name: string;
    requires_approval?: boolean | undefined;
    requires_erasure_confirmation?: boolean | undefined;
    regulation?: string | undefined;
    custom_days?: number | null | undefined;
    requires_identity_verification?: boolean | undefined;
  },
): Promise<void> {
  const approval = policy.requires_approval ?? null;
  const confirmation = policy.requires_erasure_confirmation ?? null;
  const verification = policy.requires_identity_verification ?? null;
  const regulation = policy.regulation ?? null;
  // custom_days: null clears it, undefined keeps it.
  const customDays = policy.custom_days === undefined ? null : policy.custom_days;
  await sql`
    insert into policy (key, name, requires_approval, requires_erasure_confirmation, regulation, custom_days, requires_identity_verification)
    values (${policy.key}, ${policy.name}, ${approval ?? false}, ${confirmation ?? false}, ${regulation ?? 'gdpr'}, ${customDays}, ${verification ?? false})
    on conflict (key) do update set
      name = excluded.name,
      requires_approval = coalesce(${approval}::boolean, policy.requires_approval),
      requires_erasure_confirmation = coalesce(${confirmation}::boolean, policy.requires_erasure_confirmation),
      regulation = coalesce(${regulation}::text, policy.regulation),
      custom_days = case when ${policy.custom_days === undefined} then policy.custom_days else ${customDays}::int end,
      requires_identity_verification = coalesce(${verification}::boolean, policy.requires_identity_verification),
      updated_at = now()`;
}

/** Creates a rule or updates it; its targets are left as they are. */
export async function upsertRule(sql: Sql | TransactionSql, policyKey: string, rule: Omit<PolicyRule, 'targets'>): Promise<void> {
  await sql`
    insert into policy_rule (policy_key, key, name, action_type, masking_strategy, consent_preference)
    values (${policyKey}, ${rule.key}, ${rule.name}, ${rule.action_type}, ${rule.masking_strategy === null ? null : sql.json(asJson(rule.masking_strategy))}, ${rule.consent_preference ?? null})
    on conflict (policy_key, key) do update set
      name = excluded.name,
      action_type = excluded.action_type,
      masking_strategy = excluded.masking_strategy,
      consent_preference = excluded.consent_preference,
      updated_at = now()`;
}

export async function upsertRuleTarget(sql: Sql | TransactionSql, policyKey: string, ruleKey: string, target: RuleTarget): Promise<void> {
  await sql`
    insert into rule_target (policy_key, rule_key, key, name, data_category)
    values (${policyKey}, ${ruleKey}, ${target.key}, ${target.name ?? null}, ${target.data_category})
    on conflict (policy_key, rule_key, key) do update set
      name = excluded.name,
      data_category = excluded.data_category`;
}

/** One rule of a policy with its targets. */
export async function getRule(sql: Sql | TransactionSql, policyKey: string, ruleKey: string): Promise<PolicyRule | undefined> {
  const [row] = await sql<(Omit<PolicyRule, 'targets' | 'consent_preference'> & { consent_preference: PolicyRule['consent_preference'] | null })[]>`
    select key, name, action_type, masking_strategy, consent_preference from policy_rule where policy_key = ${policyKey} and key = ${ruleKey}`;
  if (!row) return undefined;
  const { consent_preference: preference, ...rule } = row;
  const targets = await sql<TargetRow[]>`
    select policy_key, rule_key, key, name, data_category from rule_target
    where policy_key = ${policyKey} and rule_key = ${ruleKey} order by created_at, key`;
  return { ...rule, ...(preference ? { consent_preference: preference } : {}), targets: targets.map(targetOf) };
}

export async function getRuleTarget(sql: Sql | TransactionSql, policyKey: string, ruleKey: string, targetKey: string): Promise<RuleTarget | undefined> {
  const [target] = await sql<TargetRow[]>`
    select policy_key, rule_key, key, name, data_category from rule_target
    where policy_key = ${policyKey} and rule_key = ${ruleKey} and key = ${targetKey}`;
  return target && targetOf(target);
}

/** Deletes a policy with its rules and targets. */
export async function deletePolicy(sql: Sql | TransactionSql, key: string): Promise<boolean> {
  const rows = await sql`delete from policy where key = ${key} returning key`;
  return rows.length === 1;
}

/** Deletes a rule with its targets. */
export async function deleteRule(sql: Sql | TransactionSql, policyKey: string, ruleKey: string): Promise<boolean> {
  const rows = await sql`delete from policy_rule where policy_key = ${policyKey} and key = ${ruleKey} returning key`;
  return rows.length === 1;
}

export async function deleteRuleTarget(sql: Sql | TransactionSql, policyKey: string, ruleKey: string, targetKey: string): Promise<boolean> {
  const rows = await sql`delete from rule_target where policy_key = ${policyKey} and rule_key = ${ruleKey} and key = ${targetKey} returning key`;
  return rows.length === 1;
}

/** Which of the keys name existing policies. */
export async function existingPolicyKeys(sql: Sql, keys: string[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  const rows = await sql<{ key: string }[]>`select key from policy where key = any(${sql.array(keys)})`;
  return new Set(rows.map((row) => row.key));
}

export async function ruleExists(sql: Sql, policyKey: string, ruleKey: string): Promise<boolean> {
  const rows = await sql`select 1 from policy_rule where policy_key = ${policyKey} and key = ${ruleKey}`;
  return rows.length === 1;
}
