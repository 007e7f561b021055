/** The kinds of data store a connection reaches, and what it may do there. Pure. */
export const CONNECTION_TYPES = ['postgres', 'mariadb', 'http', 'manual'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type ConnectionAccess = 'read' | 'write';
