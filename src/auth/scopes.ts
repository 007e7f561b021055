/**
 * Scopes: what a credential may do. Every API operation names the scope it needs (src/api/auth.ts),
 * and the OpenAPI document declares it from the same route definition. Names follow Fides'
 * `resource:action` style. Roles are named sets of scopes for people (users).
 *
 * Pure: no I/O.
 */
export const SCOPES = {
  'privacy-request:read': 'Read privacy requests: listing, CSV export, logs, tasks, access package status',
  'privacy-request:read-identity': "Read the data subject's identity values (include_identities=true)",
  'privacy-request:create': 'Submit privacy requests',
  'privacy-request:review': 'Approve or deny requests waiting for review',
  'privacy-request:resume': 'Act on running requests: retry, cancel, confirm erasure',
  'privacy-request:manual-input': 'Answer manual steps: rows found (access) and rows masked (erasure)',
  'privacy-request:download': "Download access packages, and see their signed links",
  'connection:read': 'Read connections (never their secrets)',
  'connection:write': 'Create, update, delete and test connections, and set their secrets',
  'dataset:read': 'Read datasets',
  'dataset:write': 'Create, replace and delete datasets',
  'policy:read': 'Read policies, rules and targets',
  'policy:write': 'Create, update and delete policies, rules and targets',
  'webhook:read': 'Read webhook subscriptions and their deliveries',
  'webhook:write': 'Create, update and delete webhook subscriptions',
  'messaging:read': 'Read the templates of messages to the data subject',
  'messaging:write': 'Change the templates of messages to the data subject, and reset them to the built-in ones',
  'client:read': 'Read OAuth clients and the scopes they hold',
  'client:write': 'Create, scope, rotate and delete OAuth clients',
  'user:read': 'Read users and their roles',
  'user:write': 'Create, update and delete users',
  'configuration-change:read': 'Read the log of configuration changes',
  'codec:decode': 'Decode (and encode) Temporal payloads through the codec endpoint',
} as const;

export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export const isScope = (value: unknown): value is Scope => typeof value === 'string' && Object.hasOwn(SCOPES, value);

const READ_CONFIGURATION: Scope[] = ['connection:read', 'dataset:read', 'policy:read', 'webhook:read', 'messaging:read'];

/** Roles for people, as Fides names them; the console (later) shows what each may do. */
export const ROLES = {
  /** Everything, including users and clients. */
  owner: ALL_SCOPES,
  /** Works requests end to end and decides on them. */
  approver: [
    'privacy-request:read',
    'privacy-request:read-identity',
    'privacy-request:create',
    'privacy-request:review',
    'privacy-request:resume',
    'privacy-request:manual-input',
    'privacy-request:download',
    ...READ_CONFIGURATION,
  ],
  /** Works requests but does not decide on them. */
  analyst: [
    'privacy-request:read',
    'privacy-request:read-identity',
    'privacy-request:create',
    'privacy-request:resume',
    'privacy-request:manual-input',
    ...READ_CONFIGURATION,
  ],
  /** Reads requests and configuration, never identities or data. */
  viewer: ['privacy-request:read', ...READ_CONFIGURATION],
  /** Answers manual steps for the systems they look after. */
  respondent: ['privacy-request:read', 'privacy-request:manual-input'],
} as const satisfies Record<string, readonly Scope[]>;

export type Role = keyof typeof ROLES;
export const ALL_ROLES = Object.keys(ROLES) as Role[];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && Object.hasOwn(ROLES, value);

/** The scopes a set of roles grants. */
export function scopesOfRoles(roles: readonly string[]): Scope[] {
  const scopes = new Set<Scope>();
  for (const role of roles) if (isRole(role)) for (const scope of ROLES[role]) scopes.add(scope);
  return ALL_SCOPES.filter((scope) => scopes.has(scope));
}

/** Scopes in `wanted` that `held` does not include: a caller may only hand out what it holds. */
export const missingScopes = (wanted: readonly Scope[], held: ReadonlySet<Scope>): Scope[] => wanted.filter((scope) => !held.has(scope));
