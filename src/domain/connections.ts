/** The kinds of data store a connection reaches, and what it may do there. Pure. */
/** `saas`: an API described by a Fides saas_config (Fides' name for it); `http` is kept for connections made before it. */
export const CONNECTION_TYPES = ['postgres', 'mariadb', 'http', 'saas', 'manual'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type ConnectionAccess = 'read' | 'write';
