/**
 * Housekeeping each worker runs alongside its workflows: every DSRFLOW_MAINTENANCE_INTERVAL
 * (and once at start) it deletes identity values whose time to live has passed, access tokens
 * that expired, and access packages past their expiry (their files, from the storage they were
 * written to). The API already refuses all three from the moment they expire; this removes them
 * from storage.
 *
 * Every worker runs it; the purge deletes in batches and skips rows another worker holds, so
 * several at once only share the work (docs/decisions.md: "Expired identities are purged by the workers").
 */
import type { Sql } from '../db/client.js';
import { purgeExpiredTokens } from '../db/access-tokens.js';
import { purgeExpiredIdentities } from '../db/privacy-requests.js';
import { sweepExpiredPackages } from '../execution/access-package.js';
import type { PackageStorage } from '../storage/index.js';

export interface Maintenance {
  /** Waits for a purge in progress, and runs no more. */
  stop(): Promise<void>;
}

export interface MaintenanceOptions {
  sql: Sql;
  intervalMs: number;
  /** Where new access packages are written; a package written elsewhere is deleted where it is. */
  storage: PackageStorage;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export function startMaintenance({ sql, intervalMs, storage, log }: MaintenanceOptions): Maintenance {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const purge = async () => {
    try {
      const identities = await purgeExpiredIdentities(sql);
      if (identities > 0) log?.('Purged expired identities', { identities });
      const tokens = await purgeExpiredTokens(sql);
      if (tokens > 0) log?.('Purged expired access tokens', { tokens });
      // A hundred at a time: a backlog is worked off over the next rounds.
      const packages = await sweepExpiredPackages({ sql, storage }, 100);
      if (packages > 0) log?.('Deleted expired access packages', { packages });
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
