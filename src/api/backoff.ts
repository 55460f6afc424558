/**
 * When to retry and how long to wait: pure functions, no timers. Exponential backoff with full jitter
 * (a random wait between 0 and min(cap, base * 2^(attempt-1)), which spreads a crowd of clients better than
 * equal or no jitter), never shorter than what the server asked for in `Retry-After` or, when its quota is
 * spent, `RateLimit-Reset`; bounded by a number of attempts and an overall deadline.
 */

/** How hard to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The first backoff's ceiling. */
  readonly baseDelayMs: number;
  /** No single wait exceeds this (unless the server asks for longer, which then ends the retries at the deadline). */
  readonly maxDelayMs: number;
  /** Time from the first attempt after which no new attempt starts. */
  readonly deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  baseDelayMs: 200,
  maxDelayMs: 20_000,
  deadlineMs: 120_000,
});

/** Statuses worth another attempt for an idempotent call: rate limited, or the server or a gateway failed. */
export const RETRYABLE_STATUSES: readonly number[] = Object.freeze([429, 500, 502, 503, 504]);

/**
 * Network failures worth another attempt: resets, refused or dropped connections, and every undici timeout.
 * (`SFK_ATTEMPT_DEADLINE` is the client's own per-attempt deadline.)
 */
export const RETRYABLE_ERROR_CODES: readonly string[] = Object.freeze([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'SFK_ATTEMPT_DEADLINE',
]);

/**
 * Failures that happen before a request is sent (no connection was made), so even a non-idempotent call may
 * be retried after them: the server cannot have seen it.
 */
export const NOT_SENT_ERROR_CODES: readonly string[] = Object.freeze([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The full-jitter backoff after failed attempt number `attempt` (1-based). `random` returns [0, 1). */
export function fullJitterDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` (delta seconds or an HTTP date) as milliseconds from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * `RateLimit-Reset` as milliseconds from `nowMs`. The IETF draft sends delta seconds; some servers send a Unix
 * time in seconds instead, which is recognised by its size (anything past the year 2001).
 */
export function parseRateLimitReset(value: string | undefined | null, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  if (n > 1_000_000_000) return Math.max(0, Math.round(n * 1000 - nowMs));
  return Math.round(n * 1000);
}

/** What a response's `RateLimit-*` headers say; every field is optional because servers differ. */
export interface RateLimitInfo {
  readonly limit?: number;
  readonly remaining?: number;
  /** Milliseconds until the quota resets. */
  readonly resetMs?: number;
  /** The quota's window in milliseconds, from `RateLimit-Policy: N;w=SECONDS` when sent. */
  readonly windowMs?: number;
}

type HeaderValue = string | string[] | undefined;

function header(headers: Record<string, HeaderValue>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function nonNegativeInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  // The structured-field form of later drafts ("limit=20"), and the plain number of earlier ones.
  const m = /(\d+(\.\d+)?)/.exec(text);
  return m ? Math.floor(Number(m[1])) : undefined;
}

/** Reads `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` (lower-cased names). */
export function parseRateLimitHeaders(headers: Record<string, HeaderValue>, nowMs: number): RateLimitInfo {
  const limit = nonNegativeInt(header(headers, 'ratelimit-limit'));
  const remaining = nonNegativeInt(header(headers, 'ratelimit-remaining'));
  const resetMs = parseRateLimitReset(header(headers, 'ratelimit-reset'), nowMs);
  const policy = header(headers, 'ratelimit-policy');
  const w = policy ? /;\s*w=(\d+(\.\d+)?)/.exec(policy) : null;
  return {
    ...(limit === undefined ? {} : { limit }),
    ...(remaining === undefined ? {} : { remaining }),
    ...(resetMs === undefined ? {} : { resetMs }),
    ...(w ? { windowMs: Math.round(Number(w[1]) * 1000) } : {}),
  };
}

/** One failed attempt, as the retry decision sees it. */
export interface FailedAttempt {
  /** 1-based number of the attempt that failed. */
  readonly attempt: number;
  /** When the first attempt started, and now (ms). */
  readonly startedAt: number;
  readonly now: number;
  /** The answered status, or undefined for a network failure. */
  readonly status?: number;
  /** The response headers, when there was an answer. */
  readonly headers?: Record<string, HeaderValue>;
}

/**
 * How long to wait before the next attempt, or undefined to stop: attempts are spent, or the wait would end
 * past the deadline. The caller has already decided that the failure is retryable.
 */
export function nextRetryDelay(failed: FailedAttempt, policy: RetryPolicy, random: () => number = Math.random): number | undefined {
  if (failed.attempt >= policy.maxAttempts) return undefined;
  let delay = fullJitterDelay(failed.attempt, policy, random);
  if (failed.headers) {
    const retryAfter = parseRetryAfter(header(failed.headers, 'retry-after'), failed.now);
    const rate = parseRateLimitHeaders(failed.headers, failed.now);
    const serverWait = retryAfter ?? (failed.status === 429 || rate.remaining === 0 ? rate.resetMs : undefined);
    if (serverWait !== undefined) delay = Math.max(delay, serverWait);
  }
  if (failed.now + delay - failed.startedAt > policy.deadlineMs) return undefined;
  return delay;
}
