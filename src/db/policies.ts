/** SQL for `policy`, `policy_rule` and `rule_target`: a policy is read and written as one aggregate. */
import type { Policy, PolicyRule } from '../domain/policies.js';
import type { Sql, TransactionSql } from './client.js';

/** Creates or replaces a policy with all its rules and targets, in the caller's transaction. */
export async function savePolicy(tx: TransactionSql, policy: Policy): Promise<void> {
  await tx`
    insert into policy (key, name, requires_approval, requires_erasure_confirmation)
    values (${policy.key}, ${policy.name}, ${policy.requires_approval}, ${policy.requires_erasure_confirmation})
    on conflict (key) do update set
      name = excluded.name,
      requires_approval = excluded.requires_approval,
      requires_erasure_confirmation = excluded.requires_erasure_confirmation,
      updated_at = now()`;
  await tx`delete from policy_rule where policy_key = ${policy.key}`;
  for (const rule of policy.rules) await insertRule(tx, policy.key, rule);
}

async function insertRule(tx: TransactionSql, policyKey: string, rule: PolicyRule): Promise<void> {
  await tx`
    insert into policy_rule (policy_key, key, name, action_type, masking_strategy)
    values (${policyKey}, ${rule.key}, ${rule.name}, ${rule.action_type}, ${rule.masking_strategy === null ? null : tx.json(rule.masking_strategy as never)})`;
  for (const target of rule.targets) {
    await tx`
      insert into rule_target (policy_key, rule_key, key, name, data_category)
      values (${policyKey}, ${rule.key}, ${target.key}, ${target.name ?? null}, ${target.data_category})`;
  }
}

export async function getPolicy(sql: Sql | TransactionSql, key: string): Promise<Policy | undefined> {
  const [policy] = await sql<Omit<Policy, 'rules'>[]>`
    select key, name, requires_approval, requires_erasure_confirmation from policy where key = ${key}`;
  if (!policy) return undefined;
  const rules = await sql<Omit<PolicyRule, 'targets'>[]>`
    select key, name, action_type, masking_strategy from policy_rule where policy_key = ${key} order by created_at, key`;
  const targets = await sql<{ rule_key: string; key: string; name: string | null; data_category: string }[]>`
    select rule_key, key, name, data_category from rule_target where policy_key = ${key} order by created_at, key`;
  return {
    ...policy,
    rules: rules.map((rule) => ({
      ...rule,
      targets: targets
        .filter((target) => target.rule_key === rule.key)
        .map(({ key: targetKey, name, data_category }) => ({ key: targetKey, data_category, ...(name !== null ? { name } : {}) })),
    })),
  };
}

/** Which of the keys name existing policies. */
export async function existingPolicyKeys(sql: Sql, keys: string[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  const rows = await sql<{ key: string }[]>`select key from policy where key = any(${sql.array(keys)})`;
  return new Set(rows.map((row) => row.key));
}
