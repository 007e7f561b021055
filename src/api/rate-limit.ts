/**
 * A fixed-window counter per key (a client address, a client id, a username), in this process.
 * It slows down guessing on the token and login endpoints; the slow hash and the login lockout do
 * the rest. Several API processes each keep their own counts (docs/decisions.md).
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Counts one attempt for each key; returns the seconds to wait when any key is over its limit. */
  take(keys: string[], now = Date.now()): number | undefined {
    if (this.windows.size > 10_000) this.sweep(now);
    let retryAfter: number | undefined;
    for (const key of keys) {
      let window = this.windows.get(key);
      if (!window || now - window.start >= this.windowMs) {
        window = { start: now, count: 0 };
        this.windows.set(key, window);
      }
      window.count += 1;
      if (window.count > this.limit) retryAfter = Math.max(retryAfter ?? 0, Math.ceil((window.start + this.windowMs - now) / 1000));
    }
    return retryAfter;
  }

  private sweep(now: number) {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
  }
}

/** The address the request came from (the socket's peer; X-Forwarded-For is not trusted). */
export function clientAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // not served by @hono/node-server (app.request in a test)
  }
}
