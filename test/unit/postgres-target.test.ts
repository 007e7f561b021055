import { describe, expect, it } from 'vitest';
import { postgresTarget, refusePostgresTarget } from '../../src/connectors/postgres.js';

describe('the target of Postgres secrets', () => {
  it('is what postgres.js would dial: host, port, database (else the user), TLS mode', () => {
    expect(postgresTarget({ url: 'postgres://app:pw@DB.internal:6543/shop?sslmode=require' })).toEqual({ host: 'DB.internal', port: 6543, database: 'shop', ssl: 'require', schema: 'public' });
    expect(postgresTarget({ url: 'postgresql://app@db.internal' })).toMatchObject({ host: 'db.internal', port: 5432, database: 'app', ssl: 'disable' });
    expect(postgresTarget({ url: 'postgres://app@[::1]:5432/shop?sslrootcert=system' })).toMatchObject({ host: '::1', ssl: 'verify-full' });
    expect(postgresTarget({ url: 'postgres://app@%2Fvar%2Frun%2Fpostgresql/shop' })).toMatchObject({ host: '/var/run/postgresql' });
    expect(postgresTarget({ host: 'db', port: 5432, dbname: 'shop', username: 'app', ssl_mode: 'prefer', db_schema: 'sales' })).toEqual({
      host: 'db',
      port: 5432,
      database: 'shop',
      ssl: 'require',
      schema: 'sales',
    });
  });

  it('refuses several hosts in one URL, naming the url', () => {
    expect(refusePostgresTarget({ url: 'postgres://app@db1:5432,db2:5432/shop' })).toMatchObject({ field: 'url', message: expect.stringMatching(/one host per connection/) });
    expect(refusePostgresTarget({ url: 'postgres://app@db1,db2/shop' })).toMatchObject({ field: 'url' });
  });
});
