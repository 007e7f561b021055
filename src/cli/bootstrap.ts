/** Start-up steps the entry points share. */
import { connect, ensureDatabase, type Sql } from '../db/client.js';
import { migrate } from '../db/migrate.js';

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Creates the database if missing, connects, and applies pending migrations. */
export async function openDatabase(databaseUrl: string, applicationName: string): Promise<{ sql: Sql; applied: number[] }> {
  try {
    await ensureDatabase(databaseUrl);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'CONNECT_TIMEOUT'].includes(code);
    const problem = unreachable ? 'Postgres is not reachable at' : 'Could not prepare the database at';
    throw new Error(`${problem} ${redactUrl(databaseUrl)} (${(error as Error).message}). ${unreachable ? 'Start it, or set DATABASE_URL.' : ''}`.trim(), { cause: error });
  }
  const sql = connect(databaseUrl, { applicationName });
  try {
    return { sql, applied: await migrate(sql) };
  } catch (error) {
    await sql.end();
    throw error;
  }
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`\n${signal} received: shutting down…`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function fail(error: unknown): never {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}

