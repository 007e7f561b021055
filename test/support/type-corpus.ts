/**
 * Helpers of the type-corpus tests (test/integration/type-corpus-*.test.ts): read the corpus in a
 * child process with another `TZ`, and carry rows through what access does with them (stored
 * as jsonb in `access_result`, read back, written into the access package).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { readAccessResults, replaceAccessResults } from '../../src/db/access-results.js';
import type { Sql } from '../../src/db/client.js';
import { buildAccessPackage, PACKAGE_JSON } from '../../src/domain/access-package.js';
import type { CollectionQuery } from '../../src/connectors/types.js';
import { unzipText } from './access-packages.js';
import { serverUrl } from './databases.js';

type Row = Record<string, unknown>;

const READER = fileURLToPath(new URL('./type-corpus-read.ts', import.meta.url));

/** What the connector of `kind` reads at each URL, in a child process whose time zone is `tz`. */
export async function readInChild(kind: 'postgres' | 'mariadb', urls: string[], query: CollectionQuery, tz: string): Promise<{ tz: string; results: Row[][] }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', READER, kind, JSON.stringify({ urls, query })], {
    env: { ...process.env, TZ: tz },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { tz: string; results: Row[][] };
}

/**
 * The rows as the access package shows them: stored in `access_result` (a temporary table of the
 * same shape, so no request is needed), read back, and written into the package's JSON.
 */
export async function throughAccessPath(rows: Row[]): Promise<Row[]> {
  const sql = postgres(serverUrl('postgres'), { max: 1, onnotice: () => {} });
  try {
    const stored = await sql.begin(async (tx) => {
      await tx`create temporary table access_result (privacy_request_id text, dataset_name text, collection_name text, row_index int, row jsonb) on commit drop`;
      await replaceAccessResults(tx as never, 'pri_corpus', 'corpus', 'corpus', rows);
      return readAccessResults(tx as unknown as Sql, 'pri_corpus', 'corpus', 'corpus');
    });
    const fields = [...new Set(rows.flatMap((row) => Object.keys(row)))].map((name) => ({ path: `corpus:corpus:${name}`, field_name: name, data_categories: ['user'] }));
    const built = buildAccessPackage({
      privacyRequestId: 'pri_corpus',
      policy: { key: 'corpus', rules: [] },
      createdAt: new Date('2026-01-01T00:00:00Z'),
      collections: [{ collection: { key: 'corpus:corpus', dataset: 'corpus', collection: 'corpus', fields }, rows: stored }],
    });
    const document = JSON.parse(unzipText(built.zip)[PACKAGE_JSON]!) as { results: Record<string, Row[]> };
    return document.results['corpus:corpus']!;
  } finally {
    await sql.end();
  }
}
