/**
 * A rate limit every worker shares: Fides' `rate_limit_config` held in Postgres.
 *
 * Each limit (`rate` requests per `period`) is a series of fixed windows of the period, on the
 * database's clock (so workers whose clocks disagree still share windows). A request takes a
 * place in the current window with one atomic upsert that refuses once the window holds `rate`;
 * refused, it sleeps until the window ends (plus a little jitter, so waiting workers do not all
 * arrive at once) and tries again. Waiting is bounded: past `maxWaitMs` the request fails as
 * `rate_limited`, which the activity retries.
 */
import type { Sql } from '../db/client.js';
import { RATE_LIMIT_PERIODS, type RateLimitConfig } from '../domain/saas/config.js';
import { ConnectorError } from './errors.js';
import type { RateLimiter } from './saas.js';

type Limits = NonNullable<RateLimitConfig['limits']>;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

export class PostgresRateLimiter implements RateLimiter {
  private lastCleanup = 0;

  constructor(
    private readonly sql: Sql,
    private readonly options: { maxWaitMs?: number } = {},
  ) {}

  async acquire(key: string, limits: Limits, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.options.maxWaitMs ?? 120_000);
    for (const limit of limits) {
      const period = RATE_LIMIT_PERIODS[limit.period];
      const limitKey = `${key}:${limit.custom_key ?? ''}:${limit.rate}/${limit.period}`;
      for (;;) {
        const waitMs = await this.take(limitKey, limit.rate, period);
        if (waitMs === undefined) break;
        if (Date.now() + waitMs > deadline) {
          throw new ConnectorError('rate_limited', `The rate limit of ${limit.rate} requests per ${limit.period} keeps this request waiting too long`, { retryAfterMs: waitMs });
        }
        await sleep(waitMs + Math.random() * Math.min(20, period * 50), signal);
      }
    }
    if (Date.now() - this.lastCleanup > 60_000) {
      this.lastCleanup = Date.now();
      await this.sql`delete from saas_rate_limit where window_start < extract(epoch from clock_timestamp()) - 86400`.catch(() => undefined);
    }
  }

  /** Takes a place in the current window: undefined when taken, else the milliseconds until the window ends. */
  private async take(key: string, rate: number, periodSeconds: number): Promise<number | undefined> {
    const [row] = await this.sql<{ taken: boolean; wait_ms: number }[]>`
      with now as (select extract(epoch from clock_timestamp()) as t),
      slot as (
        insert into saas_rate_limit as l (key, window_start, count)
        select ${key}, (floor(t / ${periodSeconds}) * ${periodSeconds})::bigint, 1 from now
        on conflict (key, window_start) do update set count = l.count + 1 where l.count < ${rate}
        returning 1
      )
      select exists (select 1 from slot) as taken,
             ceil(((floor(t / ${periodSeconds}) + 1) * ${periodSeconds} - t) * 1000)::int as wait_ms
      from now`;
    return row!.taken ? undefined : Math.max(1, row!.wait_ms);
  }
}
