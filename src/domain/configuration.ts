/** What the configuration change log names: each kind of configuration and each kind of change. Pure. */
export const CONFIGURATION_RESOURCES = ['connection', 'connection_secrets', 'dataset', 'policy', 'policy_rule', 'rule_target', 'oauth_client', 'user', 'webhook', 'webhook_secret', 'message_template', 'saas_config'] as const;
export type ConfigurationResource = (typeof CONFIGURATION_RESOURCES)[number];
export type ConfigurationChangeKind = 'created' | 'updated' | 'deleted' | 'secret_rotated' | 'scopes_changed';
