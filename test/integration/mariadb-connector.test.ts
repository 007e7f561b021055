/**
 * The MariaDB/MySQL connector against the real server, on Fides' MariaDB example: reads by bound
 * values (keys of any type, a BIGINT read as text compares exactly), quoted identifiers (a dot
 * is part of the name), mask and delete each in one transaction, the limits of the pool, error
 * categories, and no error of the store ever escaping as an unhandled rejection or 'error'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowList } from '../../src/connectors/allow-list.js';
import { ConnectorError } from '../../src/connectors/errors.js';
import { MariadbConnector, type MariadbConnectorOptions, type MariadbSecrets } from '../../src/connectors/mariadb.js';
import { create, refuseSecrets } from '../../src/connectors/registry.js';
import { createMariadbExampleDatabase, mariadbAdmin, MARIADB_SERVER_URL } from '../support/mariadb.js';

let example: Awaited<ReturnType<typeof createMariadbExampleDatabase>>;
const connectors: MariadbConnector[] = [];
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

const connector = (secrets: MariadbSecrets = { url: example.url }, options: MariadbConnectorOptions = {}) => {
  const created = new MariadbConnector(secrets, options);
  connectors.push(created);
  return created;
};

const server = new URL(MARIADB_SERVER_URL);
const parts = () => ({ host: server.hostname, port: Number(server.port || 3306), dbname: example.database, username: decodeURIComponent(server.username) || 'root' });

beforeAll(async () => {
  process.on('unhandledRejection', recordUnhandled);
  process.on('uncaughtException', recordUnhandled);
  example = await createMariadbExampleDatabase('mconn');
  const admin = await mariadbAdmin(example.database);
  await admin.query(`
    create table \`odd\`\`name.with dot\` (\`id\` varchar(40) primary key, \`we\`\`ird col\` varchar(40));
    insert into \`odd\`\`name.with dot\` values ('a''b; drop table customer; --', 'x'), ('plain', 'y');
    create table big (id bigint primary key, label varchar(10));
    insert into big values (9223372036854775807, 'max'), (9223372036854775806, 'max-1'), (-9223372036854775808, 'min');
    create table bin (id binary(4) primary key, label varchar(10));
    insert into bin values (x'00ff10ab', 'bytes');
  `);
  await admin.end();
});

afterAll(async () => {
  await Promise.all(connectors.map((created) => created.close()));
  await example?.drop();
  process.off('unhandledRejection', recordUnhandled);
  process.off('uncaughtException', recordUnhandled);
});

describe('reads', () => {
  it('selects the declared columns of the rows whose values match, with values as stored', async () => {
    const rows = await connector().retrieve({ collection: 'customer', fields: ['id', 'email', 'name', 'created', 'address_id'], filters: [{ field: 'email', values: ['customer-1@example.com'] }] });
    expect(rows).toEqual([{ id: 1, email: 'customer-1@example.com', name: 'John Customer', created: '2020-04-01T11:47:42+00:00', address_id: '1' }]);
    const cards = await connector().retrieve({ collection: 'payment_card', fields: ['id', 'ccn', 'preferred', 'customer_id'], filters: [{ field: 'customer_id', values: ['1', 2] }] });
    expect(cards.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([
      { id: 'pay_aaa-aaa', ccn: '123456789', preferred: true, customer_id: 1 },
      { id: 'pay_bbb-bbb', ccn: '987654321', preferred: false, customer_id: 2 },
    ]);
    const requests = await connector().retrieve({ collection: 'service_request', fields: ['id', 'opened', 'closed'], filters: [{ field: 'email', values: ['customer-2@example.com'] }] });
    expect(requests).toEqual([{ id: 'ser_bbb-bbb', opened: '2021-01-04', closed: null }]);
  });

  it('never reads a whole table: no filter value, no query', async () => {
    expect(await connector().retrieve({ collection: 'customer', fields: ['id'], filters: [] })).toEqual([]);
    expect(await connector().retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'email', values: [] }] })).toEqual([]);
  });

  it('compares BIGINT keys read as text exactly, beyond 2^53, and never matches a value the column cannot hold', async () => {
    const rows = await connector().retrieve({ collection: 'big', fields: ['id', 'label'], filters: [{ field: 'id', values: ['9223372036854775807', 'abc', '-9223372036854775808'] }] });
    expect(rows.sort((a, b) => String(a.label).localeCompare(String(b.label)))).toEqual([
      { id: '9223372036854775807', label: 'max' },
      { id: '-9223372036854775808', label: 'min' },
    ]);
    // `abc` = 0 would be true for MariaDB: it is left out, never bound.
    expect(await connector().retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'id', values: ['abc'] }] })).toEqual([]);
  });

  it('compares DECIMAL values exactly: a value with more digits than the column is not rounded into a match', async () => {
    const rows = await connector().retrieve({ collection: 'product', fields: ['id', 'price'], filters: [{ field: 'price', values: ['10.001', '20', 50.0, 'x', '1e1'] }] });
    expect(rows.sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      { id: 2, price: '20.00' },
      { id: 3, price: '50.00' },
    ]);
  });

  it('reads binary keys as base64 and binds them back', async () => {
    const [row] = await connector().retrieve({ collection: 'bin', fields: ['id', 'label'], filters: [{ field: 'label', values: ['bytes'] }] });
    expect(row).toEqual({ id: Buffer.from([0x00, 0xff, 0x10, 0xab]).toString('base64'), label: 'bytes' });
    expect(await connector().retrieve({ collection: 'bin', fields: ['label'], filters: [{ field: 'id', values: [row!.id] }] })).toEqual([{ label: 'bytes' }]);
  });

  it('quotes identifiers whole (backticks doubled, a dot is part of the name) and binds values', async () => {
    const rows = await connector().retrieve({ collection: 'odd`name.with dot', fields: ['id', 'we`ird col'], filters: [{ field: 'id', values: ["a'b; drop table customer; --"] }] });
    expect(rows).toEqual([{ id: "a'b; drop table customer; --", 'we`ird col': 'x' }]);
    // `mysql.user` is a table of that name in the configured database, not the server's grants.
    const failure = await connector()
      .retrieve({ collection: 'mysql.user', fields: ['User'], filters: [{ field: 'User', values: ['root'] }] })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ category: 'not_found', retryable: false });
    expect((failure as Error).message).toContain(`${example.database}.mysql.user`);
  });
});

describe('mask and delete', () => {
  it('masks by primary key in one transaction, and a failure changes nothing', async () => {
    const store = connector();
    expect(await store.mask({ collection: 'customer', rows: [{ key: { id: 2 }, values: { name: null, email: 'masked@example.com' } }] })).toBe(1);
    const admin = await mariadbAdmin(example.database);
    try {
      const [[masked]] = (await admin.query('select name, email from customer where id = 2')) as unknown as [Record<string, unknown>[]];
      expect(masked).toEqual({ name: null, email: 'masked@example.com' });
      // The second row's value does not fit: the first row's change is rolled back with it.
      const failure = await store
        .mask({
          collection: 'customer',
          rows: [
            { key: { id: 1 }, values: { name: 'changed' } },
            { key: { id: 2 }, values: { name: 'x'.repeat(200) } },
          ],
        })
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ category: 'bad_data' });
      const [[first]] = (await admin.query('select name from customer where id = 1')) as unknown as [Record<string, unknown>[]];
      expect(first).toEqual({ name: 'John Customer' });
    } finally {
      await admin.end();
    }
  });

  it('masks a row addressed by a BIGINT key read as text, and deletes by key in one transaction', async () => {
    const store = connector();
    expect(await store.mask({ collection: 'big', rows: [{ key: { id: '9223372036854775806' }, values: { label: 'masked' } }] })).toBe(1);
    expect(await store.retrieve({ collection: 'big', fields: ['id', 'label'], filters: [{ field: 'label', values: ['masked'] }] })).toEqual([{ id: '9223372036854775806', label: 'masked' }]);
    expect(await store.deleteRows({ collection: 'big', keys: [{ id: '9223372036854775806' }, { id: '12' }] })).toBe(1);
    expect(await store.retrieve({ collection: 'big', fields: ['id'], filters: [{ field: 'label', values: ['masked', 'max'] }] })).toEqual([{ id: '9223372036854775807' }]);
  });

  it('refuses to address a row without its key', async () => {
    await expect(connector().mask({ collection: 'customer', rows: [{ key: {}, values: { name: null } }] })).rejects.toMatchObject({ category: 'bad_data' });
  });
});

describe('error categories', () => {
  it('not_found for a missing table, column or database', async () => {
    await expect(connector().retrieve({ collection: 'nope', fields: ['id'], filters: [{ field: 'id', values: [1] }] })).rejects.toMatchObject({ category: 'not_found' });
    await expect(connector().retrieve({ collection: 'customer', fields: ['nope'], filters: [{ field: 'id', values: [1] }] })).rejects.toMatchObject({ category: 'not_found' });
    await expect(connector({ ...parts(), dbname: `${example.database}_missing` }).test()).rejects.toMatchObject({ category: 'not_found', retryable: false });
  });

  it('authentication for a wrong password, permission for a table the user may not change', async () => {
    const user = `dsr_${example.database.slice(-6)}`;
    const admin = await mariadbAdmin();
    try {
      await admin.query(`create user '${user}'@'%' identified by 'right-password'; grant select on \`${example.database}\`.* to '${user}'@'%'`);
      await expect(connector({ ...parts(), username: user, password: 'wrong' }).test()).rejects.toMatchObject({ category: 'authentication', retryable: false });
      const readOnly = connector({ ...parts(), username: user, password: 'right-password' });
      expect(await readOnly.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'id', values: [1] }] })).toEqual([{ id: 1 }]);
      await expect(readOnly.mask({ collection: 'customer', rows: [{ key: { id: 1 }, values: { name: null } }] })).rejects.toMatchObject({ category: 'permission', retryable: false });
    } finally {
      await admin.query(`drop user if exists '${user}'@'%'`);
      await admin.end();
    }
  });

  it('timeout when a statement outlives its deadline (a row lock held elsewhere), then the connector works again', async () => {
    const admin = await mariadbAdmin(example.database);
    const store = connector(undefined, { queryTimeoutMs: 600, max: 1 });
    try {
      await admin.query('start transaction; select * from product where id = 3 for update;');
      const started = Date.now();
      const failure = await store.mask({ collection: 'product', rows: [{ key: { id: 3 }, values: { name: 'masked' } }] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConnectorError);
      expect(failure).toMatchObject({ category: 'timeout', retryable: true });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await admin.query('rollback');
      await admin.end();
    }
    expect(await store.retrieve({ collection: 'product', fields: ['id', 'price'], filters: [{ field: 'id', values: [3] }] })).toEqual([{ id: 3, price: '50.00' }]);
  });

  it('rate_limited when more operations wait for a connection than the queue holds', async () => {
    const admin = await mariadbAdmin(example.database);
    const store = connector(undefined, { max: 1, queueLimit: 1, queryTimeoutMs: 3_000 });
    await store.test();
    try {
      await admin.query('start transaction; select * from product where id = 2 for update;');
      const operations = [1, 2, 3].map(() => store.mask({ collection: 'product', rows: [{ key: { id: 2 }, values: { name: 'masked' } }] }).then(() => 'done', (error: ConnectorError) => error.category));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await admin.query('rollback');
      expect((await Promise.all(operations)).sort()).toEqual(['done', 'done', 'rate_limited']);
    } finally {
      await admin.end();
    }
  });

  it('server for a port nothing listens on, within the connect deadline', async () => {
    await expect(connector({ ...parts(), port: 1 }, { connectTimeoutMs: 2_000 }).test()).rejects.toMatchObject({ category: 'server', retryable: true });
  });
});

describe('failures of the store never escape', () => {
  it('an idle connection killed by the server: no unhandled error, and the next operation reconnects', async () => {
    const store = connector(undefined, { max: 2 });
    await Promise.all([store.test(), store.test()]);
    const admin = await mariadbAdmin();
    try {
      const [threads] = await admin.query(`select ID as id from information_schema.PROCESSLIST where DB = ? and ID <> connection_id()`, [example.database]);
      for (const { id } of threads as { id: number }[]) await admin.query(`kill connection ${Number(id)}`).catch(() => undefined);
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A killed connection may still be handed out once: its failure is this operation's (retried) error.
    const attempt = () => store.retrieve({ collection: 'customer', fields: ['id'], filters: [{ field: 'id', values: [1] }] });
    let rows = await attempt().catch((error: unknown) => error);
    if (rows instanceof ConnectorError) {
      expect(rows.retryable).toBe(true);
      rows = await attempt().catch((error: unknown) => error);
      if (rows instanceof ConnectorError) rows = await attempt();
    }
    expect(rows).toEqual([{ id: 1 }]);
    expect(unhandled).toEqual([]);
  });

  it('destroy() closes every socket at once and fails what waits; close() leaves none', async () => {
    const admin = await mariadbAdmin(example.database);
    const store = connector(undefined, { max: 1 });
    await store.test();
    try {
      await admin.query('start transaction; select * from product where id = 1 for update;');
      const waiting = store.mask({ collection: 'product', rows: [{ key: { id: 1 }, values: { name: 'masked' } }] }).catch((error: unknown) => error);
      const queued = store.test().catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      store.destroy();
      expect(store.openSockets).toBe(0);
      expect(await waiting).toBeInstanceOf(ConnectorError);
      expect(await queued).toBeInstanceOf(ConnectorError);
      await expect(store.test()).rejects.toBeInstanceOf(ConnectorError);
    } finally {
      await admin.query('rollback');
      await admin.end();
    }
    const other = connector();
    await other.test();
    await other.close();
    expect(other.openSockets).toBe(0);
    expect(unhandled).toEqual([]);
  });
});

describe('the connection', () => {
  it('is created by the registry from Fides-style secrets or a URL', async () => {
    const fromParts = create('mariadb', { ...parts() }, 'shop');
    const fromUrl = create('mariadb', { url: example.url.replace(/^mariadb:/, 'mysql:') }, 'shop');
    try {
      await fromParts.test();
      await fromUrl.test();
    } finally {
      await fromParts.close();
      await fromUrl.close();
    }
    expect(() => create('mariadb', { host: 'db' }, 'shop')).toThrow(/secrets are incomplete: .*dbname/);
  });

  it("is refused outside the allow-list, and for the server's own databases, before anything is dialled", () => {
    const allow = parseAllowList('db.internal:3306/shop');
    expect(refuseSecrets('mariadb', { ...parts() }, { allow })).toMatchObject({ field: 'host' });
    expect(refuseSecrets('mariadb', { ...parts(), host: 'db.internal', port: 3307 }, { allow })).toMatchObject({ field: 'port' });
    expect(refuseSecrets('mariadb', { url: 'mariadb://root@db.internal:3306/other' }, { allow })).toMatchObject({ field: 'url' });
    expect(refuseSecrets('mariadb', { url: 'mariadb://root@db.internal:3306/shop' }, { allow })).toBeUndefined();
    expect(refuseSecrets('mariadb', { ...parts(), dbname: 'mysql' })).toMatchObject({ field: 'dbname', message: expect.stringMatching(/server's own databases/) });
    expect(refuseSecrets('mariadb', { url: 'mariadb://root@127.0.0.1:3306' })).toMatchObject({ field: 'url', message: expect.stringMatching(/names no database/) });
    expect(() => create('mariadb', { ...parts() }, 'shop', { allow })).toThrow(ConnectorError);
  });
});
