import { cp, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connect, ensureDatabase, type Sql } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { serverUrl } from '../support/databases.js';

const MIGRATIONS = fileURLToPath(new URL('../../src/db/migrations/', import.meta.url));
let sql: Sql;
let dir: string;

beforeAll(async () => {
  const url = serverUrl(`${inject('runId')}_migrate`);
  expect(await ensureDatabase(url)).toBe(true);
  expect(await ensureDatabase(url)).toBe(false);
  sql = connect(url, { max: 2 });
  dir = await mkdtemp(join(tmpdir(), 'dsrflow-migrations-'));
  await cp(MIGRATIONS, dir, { recursive: true });
});
afterAll(() => sql?.end());

it('applies every migration once, in order, and records it', async () => {
  const files = (await readdir(MIGRATIONS)).filter((file) => file.endsWith('.sql'));
  const [first, second] = await Promise.all([migrate(sql, dir), migrate(sql, dir)]);
  // Two processes starting together: one applies, the other finds nothing to do.
  expect([...first!, ...second!].sort((a, b) => a - b)).toEqual(files.map((_, i) => i + 1));
  expect(await migrate(sql, dir)).toEqual([]);
  const tables = await sql<{ table_name: string }[]>`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
  expect(tables.map((table) => table.table_name)).toEqual(
    expect.arrayContaining(['privacy_request', 'privacy_request_identity', 'execution_log', 'audit_log', 'access_result', 'schema_migration']),
  );
});

it('applies a new migration and refuses an edited one', async () => {
  const next = String((await readdir(dir)).filter((file) => file.endsWith('.sql')).length + 1).padStart(4, '0');
  await writeFile(join(dir, `${next}_add_note.sql`), 'alter table privacy_request add column note text;');
  expect(await migrate(sql, dir)).toEqual([Number(next)]);
  await writeFile(join(dir, `${next}_add_note.sql`), 'alter table privacy_request add column note2 text;');
  await expect(migrate(sql, dir)).rejects.toThrow(`Migration ${Number(next)}_add_note changed after it was applied`);
});
