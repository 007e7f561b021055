/**
 * Child process of the type-corpus tests: reads with a connector at each URL and prints the rows
 * as JSON, with the time zone it ran in. `node --import tsx type-corpus-read.ts <postgres|mariadb> '{"urls":[…],"query":{…}}'`
 */
import { MariadbConnector } from '../../src/connectors/mariadb.js';
import { PostgresConnector } from '../../src/connectors/postgres.js';
import type { CollectionQuery, Connector } from '../../src/connectors/types.js';

const [kind, payload] = process.argv.slice(2);
const { urls, query } = JSON.parse(payload!) as { urls: string[]; query: CollectionQuery };
const results: unknown[] = [];
for (const url of urls) {
  const connector: Connector = kind === 'mariadb' ? new MariadbConnector({ url }) : new PostgresConnector({ url });
  try {
    results.push(await connector.retrieve(query));
  } finally {
    await connector.close();
  }
}
process.stdout.write(JSON.stringify({ tz: Intl.DateTimeFormat().resolvedOptions().timeZone, results }));
