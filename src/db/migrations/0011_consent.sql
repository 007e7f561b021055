-- Consent rules: a policy may send the person's opt-out (or opt-in) to every SaaS connection whose
-- saas_config has consent_requests (docs/decisions.md, "Consent").
alter table policy_rule drop constraint policy_rule_action_type_check;
alter table policy_rule add constraint policy_rule_action_type_check check (action_type in ('access', 'erasure', 'consent'));
alter table policy_rule add column consent_preference text check (consent_preference in ('opt_in', 'opt_out'));
