/**
 * Housekeeping each worker runs alongside its workflows: every DSRFLOW_MAINTENANCE_INTERVAL
 * (and once at start) it deletes identity values whose time to live has passed, and access
 * tokens that expired. The API already refuses both from the moment they expire; this removes
 * them from storage.
 *
 * Every worker runs it; the purge deletes in batches and skips rows another worker holds, so
 * several at once only share the work (docs/decisions.md: "Expired identities are purged by the workers").
 */
import type { Sql } from '../db/client.js';
import { purgeExpiredTokens } from '../db/access-tokens.js';
import { purgeExpiredIdentities } from '../db/privacy-requests.js';

export interface Maintenance {
  /** Waits for a purge in progress, and runs no more. */
  stop(): Promise<void>;
}

export interface MaintenanceOptions {
  sql: Sql;
  intervalMs: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export function startMaintenance({ sql, intervalMs, log }: MaintenanceOptions): Maintenance {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const purge = async () => {
    try {
      const identities = await purgeExpiredIdentities(sql);
      if (identities > 0) log?.('Purged expired identities', { identities });
      const tokens = await purgeExpiredTokens(sql);
      if (tokens > 0) log?.('Purged expired access tokens', { tokens });
    } catch (error) {
      // The database may be briefly unavailable: the next round tries again.
      log?.('Maintenance failed; retrying at the next interval', { error: (error as Error).message });
    }
  };
  const round = () => {
    current = purge().then(() => {
      if (stopped) return;
      timer = setTimeout(round, intervalMs);
      timer.unref();
    });
  };
  round();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
