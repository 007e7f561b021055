/**
 * Policies: what a privacy request does with the data it finds.
 *
 * A policy has rules; each rule has an action type (access or erasure) and targets data
 * categories. A target selects its category and every category below it in the dot-separated
 * taxonomy: `user.contact` selects `user.contact.email`, not `user.contactless`.
 */
import { z } from 'zod';
import { fidesKey, leafFields, maskingStrategySchema, type DatasetCollection, type MaskingStrategyConfig } from './datasets.js';
import { regulationSchema } from './deadlines.js';

export const ACTION_TYPES = ['access', 'erasure', 'consent'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];
/** What a consent rule sends to vendors (docs/decisions.md, "Consent"); opt_out when the rule says nothing. */
export const CONSENT_PREFERENCES = ['opt_out', 'opt_in'] as const;
export type ConsentPreference = (typeof CONSENT_PREFERENCES)[number];

export const dataCategory = z.string().regex(/^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)*$/, 'must be a dot-separated data category such as user.contact.email');

export const ruleTargetSchema = z.object({
  key: fidesKey,
  name: z.string().optional(),
  data_category: dataCategory,
});
export type RuleTarget = z.infer<typeof ruleTargetSchema>;

export const policyRuleSchema = z.object({
  key: fidesKey,
  name: z.string().min(1),
  action_type: z.enum(ACTION_TYPES),
  masking_strategy: maskingStrategySchema.nullable().default(null),
  targets: z.array(ruleTargetSchema).default([]),
  /** Consent rules: the preference sent (opt_out when absent). */
  consent_preference: z.enum(CONSENT_PREFERENCES).optional(),
});
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const policySchema = z.object({
  key: fidesKey,
  name: z.string().min(1),
  requires_approval: z.boolean().default(false),
  requires_erasure_confirmation: z.boolean().default(false),
  /** (gdpr when absent) The regime a request made under this policy follows unless it names its own (docs/decisions.md, "Deadlines"). */
  regulation: regulationSchema.optional(),
  /** For `custom`: calendar days to respond. */
  custom_days: z.number().int().min(1).max(366).nullable().optional(),
  /** Requests start `identity_unverified`: a code goes to the person's email. */
  requires_identity_verification: z.boolean().optional(),
  rules: z.array(policyRuleSchema).default([]),
});
export type Policy = z.infer<typeof policySchema>;

/** True when the target selects the category: the same key, or a key below it. */
export function categoryMatches(target: string, category: string): boolean {
  return category === target || category.startsWith(`${target}.`);
}

/** The consent rule's preference, when the policy has a consent rule. */
export function consentPreference(policy: Pick<Policy, 'rules'>): ConsentPreference | undefined {
  const rule = policy.rules.find((candidate) => candidate.action_type === 'consent');
  return rule ? (rule.consent_preference ?? 'opt_out') : undefined;
}

/** The action types of a policy's rules, access before erasure, consent last. */
export function policyActionTypes(policy: Pick<Policy, 'rules'>): ActionType[] {
  return ACTION_TYPES.filter((type) => policy.rules.some((rule) => rule.action_type === type));
}

/** A field a rule applies to, as the execution log reports it (`fields_affected`). */
export interface AffectedField {
  /** `dataset:collection:field`. */
  path: string;
  field_name: string;
  data_categories: string[];
}

export interface TargetedField extends AffectedField {
  rule: PolicyRule;
}

/**
 * The fields of a collection that the policy's rules of one action type target, each with the
 * rule that selected it (the first rule in policy order wins). Pure function of policy and dataset.
 */
export function targetedFields(policy: Pick<Policy, 'rules'>, actionType: ActionType, dataset: string, collection: DatasetCollection): TargetedField[] {
  const rules = policy.rules.filter((rule) => rule.action_type === actionType);
  const selected: TargetedField[] = [];
  for (const { path, field } of leafFields(collection)) {
    const categories = field.data_categories ?? [];
    const rule = rules.find((candidate) => candidate.targets.some((target) => categories.some((category) => categoryMatches(target.data_category, category))));
    if (rule) selected.push({ path: `${dataset}:${collection.name}:${path}`, field_name: path, data_categories: categories, rule });
  }
  return selected;
}

export function fieldsAffected(policy: Pick<Policy, 'rules'>, actionType: ActionType, dataset: string, collection: DatasetCollection): AffectedField[] {
  return targetedFields(policy, actionType, dataset, collection).map(({ rule: _rule, ...field }) => field);
}

export type { MaskingStrategyConfig };
