/**
 * Versioned, forward-only schema migrations.
 *
 * Each file `src/db/migrations/NNNN_name.sql` runs once, in order, inside its own transaction,
 * and is recorded in `schema_migration` with a checksum. Editing a migration that has already run
 * is an error: write a new one instead. An advisory lock lets the API and the worker start together.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql } from './client.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_ID = 727_272_001; // any constant shared by every dsrflow process

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`Migration file name must look like 0001_name.sql: ${file}`);
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration versions must be 1, 2, 3…: found ${migration.version} at position ${index + 1}`);
  });
  return migrations;
}

/** Applies the migrations that have not run yet; returns the versions it applied. */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await readMigrations(dir);
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
    await tx`
      create table if not exists schema_migration (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Map((await tx<{ version: number; checksum: string }[]>`select version, checksum from schema_migration`).map((row) => [row.version, row.checksum]));
    for (const migration of migrations) {
      const checksum = done.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(`Migration ${migration.version}_${migration.name} changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await tx.savepoint(async (step) => {
        await step.unsafe(migration.sql);
        await step`insert into schema_migration (version, name, checksum) values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      });
      applied.push(migration.version);
    }
    const known = new Set(migrations.map((migration) => migration.version));
    const unknown = [...done.keys()].filter((version) => !known.has(version));
    if (unknown.length > 0) {
      throw new Error(`The database has migrations this code does not know (${unknown.join(', ')}): it was migrated by a newer dsrflow`);
    }
  });
  return applied;
}
