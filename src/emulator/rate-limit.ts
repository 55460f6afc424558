/**
 * Per-key rate limiting for the emulator: a token bucket per calling key (burst = rate), and the values of
 * the RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset headers every answer carries. Pure apart from
 * the clock, which is injected.
 */

/** What the headers say when rate limiting is off: a nominal quota no client will exhaust. */
export const UNLIMITED_NOMINAL = 10_000;

/** The outcome of counting one request against a key's bucket. */
export interface RateLimitResult {
  readonly allowed: boolean;
  /** RateLimit-Limit: requests per window (the bucket's size). */
  readonly limit: number;
  /** RateLimit-Remaining: whole requests left right now. */
  readonly remaining: number;
  /** RateLimit-Reset: seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Retry-After for a refused request: seconds until one token is back (at least 1). */
  readonly retryAfterSeconds: number;
}

/** A token bucket holding up to `rate` tokens (at least 1), refilled at `rate` tokens per second. */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;
  private readonly size: number;

  constructor(
    private readonly rate: number,
    nowMs: number,
  ) {
    this.size = Math.max(1, rate);
    this.tokens = this.size;
    this.updatedMs = nowMs;
  }

  /** Takes one token if there is one; says what the headers should carry either way. */
  take(nowMs: number): RateLimitResult {
    const elapsed = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.size, this.tokens + (elapsed * this.rate) / 1000);
    this.updatedMs = nowMs;
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    return {
      allowed,
      limit: Math.floor(this.size),
      remaining: Math.floor(this.tokens),
      resetSeconds: Math.ceil((this.size - this.tokens) / this.rate),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / this.rate)),
    };
  }
}

/** One bucket per calling key; `rate` 0 turns limiting off (headers then show a nominal quota). */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private rate: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Changes the rate; every bucket starts full again. */
  configure(rate: number): void {
    this.rate = rate;
    this.buckets.clear();
  }

  /** Counts one request by `keyId` (a key's uuid, or a fixed id for callers without a valid key). */
  take(keyId: string): RateLimitResult {
    if (!(this.rate > 0)) {
      return { allowed: true, limit: UNLIMITED_NOMINAL, remaining: UNLIMITED_NOMINAL, resetSeconds: 0, retryAfterSeconds: 0 };
    }
    let bucket = this.buckets.get(keyId);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.now());
      this.buckets.set(keyId, bucket);
    }
    return bucket.take(this.now());
  }
}
