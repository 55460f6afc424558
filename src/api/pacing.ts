/**
 * Client-side pacing: a token bucket per (origin, key) that learns the server's quota from `RateLimit-*`
 * headers and spaces requests so that the server rarely has to say 429. Pure (the clock is passed in);
 * the transport turns the returned waits into timers.
 *
 * Reservations: `take()` always debits one token and returns how long the caller must wait, so a queue of
 * callers gets increasing waits (tokens go negative by the queue's length) instead of all waking at once.
 */
import type { RateLimitInfo } from './backoff';

/** Below the server's rate by this factor, so that clock drift and jitter do not tip us over its limit. */
export const DEFAULT_PACING_SAFETY = 0.95;
/** The quota window when the server does not say (`RateLimit-Policy` absent): Scaleflex quotas are per second. */
export const DEFAULT_WINDOW_MS = 1000;

export class TokenBucket {
  /** Tokens per millisecond; Infinity until the server has told us its limit. */
  private rate = Infinity;
  private capacity = Infinity;
  private tokens = Infinity;
  private last = 0;
  /** Used when the rate is unknown: nothing may start before this time. */
  private blockedUntil = 0;

  constructor(private readonly safety = DEFAULT_PACING_SAFETY) {}

  /** The learned sustainable rate in requests per second (Infinity while unknown). */
  get requestsPerSecond(): number {
    return this.rate * 1000;
  }

  private refill(now: number): void {
    if (this.rate !== Infinity && now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.rate);
    }
    this.last = Math.max(this.last, now);
  }

  /** Reserves one request; returns the milliseconds to wait before sending it (0 = now). */
  take(now: number): number {
    this.refill(now);
    const blocked = Math.max(0, this.blockedUntil - now);
    if (this.rate === Infinity) return blocked;
    this.tokens -= 1;
    const wait = this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.rate);
    return Math.max(wait, blocked);
  }

  /**
   * Learns from an answer's `RateLimit-*` headers. `inFlight` is how many other requests on this bucket were
   * sent and not yet answered: the server's `remaining` does not count them yet, so they are subtracted.
   */
  observe(info: RateLimitInfo, now: number, inFlight = 0): void {
    this.refill(now);
    if (info.limit !== undefined && info.limit > 0) {
      const windowMs = info.windowMs ?? DEFAULT_WINDOW_MS;
      const firstSight = this.rate === Infinity;
      this.capacity = info.limit;
      this.rate = (info.limit * this.safety) / windowMs;
      if (firstSight) this.tokens = Math.min(info.limit, info.remaining ?? info.limit) - inFlight;
    }
    if (info.remaining !== undefined) {
      this.tokens = Math.min(this.tokens, info.remaining - inFlight);
      if (info.remaining === 0 && this.rate === Infinity && info.resetMs !== undefined) {
        this.blockedUntil = Math.max(this.blockedUntil, now + info.resetMs);
      }
    }
  }

  /** The server said 429 (and maybe how long to wait): hold every request of this bucket for that long. */
  backOff(now: number, waitMs: number): void {
    this.refill(now);
    this.blockedUntil = Math.max(this.blockedUntil, now + waitMs);
    if (this.rate !== Infinity) this.tokens = Math.min(this.tokens, -waitMs * this.rate);
  }
}
