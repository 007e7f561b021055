/**
 * One of the "workers" of the shared rate limit benchmark (bench/saas.ts): a SaaS connector with
 * the Postgres rate limiter, in a process of its own with its own pool, reading as fast as the
 * limit lets it from BENCH_START until BENCH_END (epoch ms), four reads at a time. Prints the
 * number of reads it made.
 */
import { PostgresRateLimiter } from '../src/connectors/rate-limiter.js';
import { SaasConnector } from '../src/connectors/saas.js';
import { connect } from '../src/db/client.js';
import { parseSaasConfigYaml } from '../src/domain/saas/config.js';

const sql = connect(process.env.DATABASE_URL!, { max: 4 });
const config = parseSaasConfigYaml(process.env.BENCH_CONFIG!);
const connector = new SaasConnector(config, { host: process.env.BENCH_VENDOR!, api_key: 'k' }, { connectionKey: 'bench', loopbackHttp: true, limiter: new PostgresRateLimiter(sql) });
const start = Number(process.env.BENCH_START);
const end = Number(process.env.BENCH_END);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())));
let reads = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (Date.now() < end) {
      await connector.retrieve({ collection: 'item', fields: ['id'], filters: [{ field: 'email', values: ['bench@example.com'] }] });
      reads += 1;
    }
  }),
);
process.stdout.write(`${reads}\n`);
await sql.end();
