import { describe, expect, it } from 'vitest';
import { parseAllowList } from '../../src/connectors/allow-list.js';
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
    expect(refusePostgresTarget({ url: 'postgres://app@db1:5432,db2:5432/shop' }, undefined)).toMatchObject({ field: 'url', message: expect.stringMatching(/one host per connection/) });
    expect(refusePostgresTarget({ url: 'postgres://app@db1,db2/shop' }, undefined)).toMatchObject({ field: 'url' });
  });

  it("refuses Postgres's own schemas, whatever the allow-list", () => {
    for (const schema of ['pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1', 'Pg_Catalog', 'INFORMATION_SCHEMA']) {
      expect(refusePostgresTarget({ url: 'postgres://app@db/shop', db_schema: schema }, undefined), schema).toMatchObject({ field: 'db_schema' });
    }
    for (const schema of ['public', 'sales', 'pgsales', 'catalog']) {
      expect(refusePostgresTarget({ url: 'postgres://app@db/shop', db_schema: schema }, undefined), schema).toBeUndefined();
    }
  });

  it('names the field of the secrets that falls outside the allow-list', () => {
    const allow = parseAllowList('db.internal:5432/shop');
    const parts = { host: 'db.internal', port: 5432, dbname: 'shop', username: 'app' };
    expect(refusePostgresTarget(parts, allow)).toBeUndefined();
    expect(refusePostgresTarget({ ...parts, host: 'db.other' }, allow)).toMatchObject({ field: 'host' });
    expect(refusePostgresTarget({ ...parts, port: 5433 }, allow)).toMatchObject({ field: 'port' });
    expect(refusePostgresTarget({ ...parts, dbname: 'postgres' }, allow)).toMatchObject({
      field: 'dbname',
      message: 'db.internal:5432/postgres is not in DSRFLOW_CONNECTION_ALLOW (the database matches no pattern)',
    });
    expect(refusePostgresTarget({ url: 'postgres://app@db.internal:5432/postgres' }, allow)).toMatchObject({ field: 'url' });
  });
});
