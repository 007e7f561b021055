/**
 * `/api/v1/dsr/policy`: policies, their rules and the rules' targets, each level managed on its
 * own as in Fides. Upserting a policy leaves its rules alone, and upserting a rule its targets.
 * Requests already planned keep the policy they were planned with (privacy_request_plan).
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  deletePolicy,
  deleteRule,
  deleteRuleTarget,
  existingPolicyKeys,
  getPolicy,
  getRule,
  getRuleTarget,
  listPolicyPage,
  ruleExists,
  upsertPolicyHeader,
  upsertRule,
  upsertRuleTarget,
} from '../db/policies.js';
import type { Policy, PolicyRule, RuleTarget } from '../domain/policies.js';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import type { ApiDeps } from './types.js';
import { applyEach, ItemRejected, pageAnswer } from './bulk.js';
import {
  BulkPolicyResponseSchema,
  BulkRuleResponseSchema,
  BulkRuleTargetResponseSchema,
  PolicyKeyParam,
  PolicySchema,
  PolicyUpsertListSchema,
  RuleParam,
  RuleTargetParam,
  RuleTargetUpsertListSchema,
  RuleUpsertListSchema,
  type RuleSchema,
  type RuleTargetSchema,
} from './configuration-schemas.js';
import { principal, secured } from './auth.js';
import { deleteOneRoute, deleteRecorded, listPageRoute, readOneRoute } from './resource-routes.js';
import { errorBody } from './errors.js';
import { ErrorSchema, errorResponses, json, pageOf } from './schemas.js';
import { newRouter } from './types.js';

const TAG = 'Policies';
const notFound = (what: string) => ({ description: `No ${what} with that key`, content: json(ErrorSchema) });
const unsupportedMediaType = { description: 'The body is not JSON', content: json(ErrorSchema) };

const toTarget = (target: RuleTarget): z.infer<typeof RuleTargetSchema> => ({ key: target.key, name: target.name ?? null, data_category: target.data_category });
const toRule = (rule: PolicyRule): z.infer<typeof RuleSchema> => ({
  key: rule.key,
  name: rule.name,
  action_type: rule.action_type,
  masking_strategy: rule.masking_strategy,
  targets: rule.targets.map(toTarget),
  ...(rule.consent_preference ? { consent_preference: rule.consent_preference } : {}),
});
export const toPolicyResponse = (policy: Policy): z.infer<typeof PolicySchema> => ({
  key: policy.key,
  name: policy.name,
  requires_approval: policy.requires_approval,
  requires_erasure_confirmation: policy.requires_erasure_confirmation,
  regulation: policy.regulation ?? 'gdpr',
  custom_days: policy.custom_days ?? null,
  requires_identity_verification: policy.requires_identity_verification ?? false,
  rules: policy.rules.map(toRule),
});

const patchPolicies = secured('policy:write', createRoute({
  method: 'patch',
  path: '/dsr/policy',
  tags: [TAG],
  summary: 'Create or update policies (at most 50 per call); their rules are kept',
  description:
    'Each policy applies whole or not at all, in its own transaction. A malformed body (a bad field, more than 50 items, a key twice) is refused with 422 and changes nothing. ' +
    'Flags left out keep their stored values. Rules are managed with PATCH /dsr/policy/{policy_key}/rule.',
  request: { body: { required: true, content: json(PolicyUpsertListSchema) } },
  responses: { 200: { description: 'Per policy: succeeded or failed', content: json(BulkPolicyResponseSchema) }, ...errorResponses, 415: unsupportedMediaType },
}));

const listPolicies = listPageRoute({ scope: 'policy:read', path: '/dsr/policy', tag: TAG, summary: 'List policies by key, with their rules and targets', page: pageOf(PolicySchema, 'PolicyPage'), what: 'policies' });

const getPolicyRoute = readOneRoute({ scope: 'policy:read', path: '/dsr/policy/{policy_key}', tag: TAG, summary: 'A policy with its rules and targets', params: PolicyKeyParam, schema: PolicySchema, what: 'policy', missing: 'policy' });

const deletePolicyRoute = deleteOneRoute({
  scope: 'policy:write',
  path: '/dsr/policy/{policy_key}',
  tag: TAG,
  summary: 'Delete a policy with its rules and targets',
  description: 'Requests already planned keep their snapshot of the policy; requests not planned yet will fail to plan.',
  params: PolicyKeyParam,
  missing: 'policy',
});

const patchRules = secured('policy:write', createRoute({
  method: 'patch',
  path: '/dsr/policy/{policy_key}/rule',
  tags: [TAG],
  summary: "Create or update a policy's rules (at most 50 per call); their targets are kept",
  description:
    'An erasure rule needs a masking strategy and an access rule takes none: a rule that breaks this is listed under `failed` and not applied. ' +
    'A malformed body is refused with 422 and changes nothing.',
  request: { params: PolicyKeyParam, body: { required: true, content: json(RuleUpsertListSchema) } },
  responses: {
    200: { description: 'Per rule: succeeded or failed', content: json(BulkRuleResponseSchema) },
    404: notFound('policy'),
    ...errorResponses,
    415: unsupportedMediaType,
  },
}));

const deleteRuleRoute = deleteOneRoute({ scope: 'policy:write', path: '/dsr/policy/{policy_key}/rule/{rule_key}', tag: TAG, summary: 'Delete a rule with its targets', params: RuleParam, missing: 'policy or rule' });

const patchTargets = secured('policy:write', createRoute({
  method: 'patch',
  path: '/dsr/policy/{policy_key}/rule/{rule_key}/target',
  tags: [TAG],
  summary: "Create or update a rule's targets (at most 50 per call)",
  description: 'A target selects its data category and every category below it. A malformed body is refused with 422 and changes nothing.',
  request: { params: RuleParam, body: { required: true, content: json(RuleTargetUpsertListSchema) } },
  responses: {
    200: { description: 'Per target: succeeded or failed', content: json(BulkRuleTargetResponseSchema) },
    404: notFound('policy or rule'),
    ...errorResponses,
    415: unsupportedMediaType,
  },
}));

const deleteTargetRoute = deleteOneRoute({
  scope: 'policy:write',
  path: '/dsr/policy/{policy_key}/rule/{rule_key}/target/{rule_target_key}',
  tag: TAG,
  summary: 'Delete a rule target',
  params: RuleTargetParam,
  missing: 'policy, rule or target',
});

const noPolicy = (key: string) => errorBody('not_found', `No policy with key ${key}`);
const noRule = (policyKey: string, ruleKey: string) => errorBody('not_found', `Policy ${policyKey} has no rule with key ${ruleKey}`);
const noTarget = (policyKey: string, ruleKey: string, targetKey: string) =>
  errorBody('not_found', `Rule ${ruleKey} of policy ${policyKey} has no target with key ${targetKey}`);

export function policyRoutes(deps: ApiDeps) {
  const policyExists = async (key: string) => (await existingPolicyKeys(deps.sql, [key])).has(key);

  return newRouter()
    .openapi(patchPolicies, async (c) => {
      const items = c.req.valid('json');
      const actor = principal(c).actor;
      const result = await applyEach(
        deps,
        items,
        async (tx, item) => {
          await upsertPolicyHeader(tx, item);
          await recordConfigurationChange(tx, { resource: 'policy', key: item.key, change: 'updated', actor });
          return (await getPolicy(tx, item.key))!;
        },
        (item) => item,
      );
      for (const policy of result.succeeded) deps.logger?.info('Policy saved', { policy_key: policy.key });
      return c.json({ succeeded: result.succeeded.map(toPolicyResponse), failed: result.failed }, 200);
    })
    .openapi(listPolicies, async (c) => {
      const { page, size } = c.req.valid('query');
      return c.json(pageAnswer(await listPolicyPage(deps.sql, page, size), { page, size }, toPolicyResponse), 200);
    })
    .openapi(getPolicyRoute, async (c) => {
      const { policy_key: key } = c.req.valid('param');
      const policy = await getPolicy(deps.sql, key);
      if (!policy) return c.json(noPolicy(key), 404);
      return c.json(toPolicyResponse(policy), 200);
    })
    .openapi(deletePolicyRoute, async (c) => {
      const { policy_key: key } = c.req.valid('param');
      const actor = principal(c).actor;
      const deleted = await deleteRecorded(deps, { resource: 'policy', key, actor }, (tx) => deletePolicy(tx, key));
      if (!deleted) return c.json(noPolicy(key), 404);
      deps.logger?.info('Policy deleted', { policy_key: key });
      return c.body(null, 204);
    })
    .openapi(patchRules, async (c) => {
      const { policy_key: policyKey } = c.req.valid('param');
      const items = c.req.valid('json');
      if (!(await policyExists(policyKey))) return c.json(noPolicy(policyKey), 404);
      const actor = principal(c).actor;
      const result = await applyEach(
        deps,
        items,
        async (tx, item, index) => {
          const masking = item.masking_strategy ?? null;
          if (item.action_type === 'erasure' && !masking) throw new ItemRejected(`body[${index}].masking_strategy: an erasure rule needs a masking strategy`);
          if (item.action_type !== 'erasure' && masking) throw new ItemRejected(`body[${index}].masking_strategy: ${item.action_type === 'access' ? 'an access' : 'a consent'} rule takes no masking strategy`);
          if (item.action_type !== 'consent' && item.consent_preference) throw new ItemRejected(`body[${index}].consent_preference: only a consent rule takes a consent preference`);
          await upsertRule(tx, policyKey, { key: item.key, name: item.name, action_type: item.action_type, masking_strategy: masking, ...(item.consent_preference ? { consent_preference: item.consent_preference } : {}) });
          await recordConfigurationChange(tx, { resource: 'policy_rule', key: `${policyKey}/${item.key}`, change: 'updated', actor });
          return (await getRule(tx, policyKey, item.key))!;
        },
        (item) => item,
      );
      for (const rule of result.succeeded) deps.logger?.info('Policy rule saved', { policy_key: policyKey, rule_key: rule.key, action_type: rule.action_type });
      return c.json({ succeeded: result.succeeded.map(toRule), failed: result.failed }, 200);
    })
    .openapi(deleteRuleRoute, async (c) => {
      const { policy_key: policyKey, rule_key: ruleKey } = c.req.valid('param');
      if (!(await policyExists(policyKey))) return c.json(noPolicy(policyKey), 404);
      const actor = principal(c).actor;
      const deleted = await deleteRecorded(deps, { resource: 'policy_rule', key: `${policyKey}/${ruleKey}`, actor }, (tx) => deleteRule(tx, policyKey, ruleKey));
      if (!deleted) return c.json(noRule(policyKey, ruleKey), 404);
      deps.logger?.info('Policy rule deleted', { policy_key: policyKey, rule_key: ruleKey });
      return c.body(null, 204);
    })
    .openapi(patchTargets, async (c) => {
      const { policy_key: policyKey, rule_key: ruleKey } = c.req.valid('param');
      const items = c.req.valid('json');
      if (!(await policyExists(policyKey))) return c.json(noPolicy(policyKey), 404);
      if (!(await ruleExists(deps.sql, policyKey, ruleKey))) return c.json(noRule(policyKey, ruleKey), 404);
      const actor = principal(c).actor;
      const result = await applyEach(
        deps,
        items,
        async (tx, item) => {
          await recordConfigurationChange(tx, { resource: 'rule_target', key: `${policyKey}/${ruleKey}/${item.key}`, change: 'updated', actor });
          await upsertRuleTarget(tx, policyKey, ruleKey, { key: item.key, data_category: item.data_category, ...(item.name ? { name: item.name } : {}) });
          return (await getRuleTarget(tx, policyKey, ruleKey, item.key))!;
        },
        (item) => item,
      );
      for (const target of result.succeeded) deps.logger?.info('Rule target saved', { policy_key: policyKey, rule_key: ruleKey, rule_target_key: target.key });
      return c.json({ succeeded: result.succeeded.map(toTarget), failed: result.failed }, 200);
    })
    .openapi(deleteTargetRoute, async (c) => {
      const { policy_key: policyKey, rule_key: ruleKey, rule_target_key: targetKey } = c.req.valid('param');
      if (!(await policyExists(policyKey))) return c.json(noPolicy(policyKey), 404);
      if (!(await ruleExists(deps.sql, policyKey, ruleKey))) return c.json(noRule(policyKey, ruleKey), 404);
      const actor = principal(c).actor;
      const deleted = await deleteRecorded(deps, { resource: 'rule_target', key: `${policyKey}/${ruleKey}/${targetKey}`, actor }, (tx) => deleteRuleTarget(tx, policyKey, ruleKey, targetKey));
      if (!deleted) return c.json(noTarget(policyKey, ruleKey, targetKey), 404);
      deps.logger?.info('Rule target deleted', { policy_key: policyKey, rule_key: ruleKey, rule_target_key: targetKey });
      return c.body(null, 204);
    });
}
