/**
 * The API as its own process, for bench/reporting.ts: the real app (createApp) on a real port,
 * set up as src/cli/api.ts sets it up, against DATABASE_URL, so the benchmark can measure this process's memory from the outside.
 * The reporting routes never call Temporal, so the client connects lazily (never, here).
 * Prints `{"url": …, "token": …}` on one line once it listens (a root token: every call is
 * authenticated, as in production); SIGTERM ends it.
 */
import { Client, Connection } from '@temporalio/client';
import { apiDeps, createApp } from '../src/api/app.js';
import { keepHeapNearLiveSize } from '../src/api/heap.js';
import { listen } from '../src/api/server.js';
import { randomBytes } from 'node:crypto';
import { ensureRootClient, issueClientToken } from '../src/auth/service.js';
import { loadConfig } from '../src/config.js';
import { connect } from '../src/db/client.js';

const config = loadConfig();
// As src/cli/api.ts does.
keepHeapNearLiveSize();
const sql = connect(config.databaseUrl, { applicationName: 'dsrflow-bench-api' });
// Like the API at start (it migrates first): the pool has fetched Postgres' array types.
await sql`select 1`;
const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:7233' }), namespace: config.temporal.namespace });
const app = createApp(apiDeps(config, { sql, temporal, encryptionKey: config.encryptionKey! }));
const server = await listen(app, '127.0.0.1', 0);
const root = { id: 'bench-root', secret: randomBytes(32).toString('base64url') };
await ensureRootClient(sql, root);
const issued = await issueClientToken(sql, config.auth, { clientId: root.id, clientSecret: root.secret });
if ('error' in issued) throw new Error(issued.error_description);
process.stdout.write(`${JSON.stringify({ url: server.url, token: issued.access_token })}\n`);
process.once('SIGTERM', () => {
  void server
    .close()
    .then(() => sql.end({ timeout: 1 }))
    .finally(() => process.exit(0));
});
