/** Backoff, Retry-After / RateLimit-* parsing and the retry decision: pure, table-driven. */
import {
  fullJitterDelay,
  nextRetryDelay,
  parseRateLimitHeaders,
  parseRateLimitReset,
  parseRetryAfter,
  type RetryPolicy,
} from '../../src/api/backoff';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 10_000 };
const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('fullJitterDelay', () => {
  test.each([
    { attempt: 1, random: 0.5, expected: 50 },
    { attempt: 2, random: 0.5, expected: 100 },
    { attempt: 3, random: 0.5, expected: 200 },
    { attempt: 4, random: 0.99, expected: 792 },
    { attempt: 5, random: 0.5, expected: 500 }, // capped at maxDelayMs 1000
    { attempt: 30, random: 0.999, expected: 999 },
    { attempt: 3, random: 0, expected: 0 },
  ])('after attempt $attempt with random $random the wait is $expected ms', ({ attempt, random, expected }) => {
    expect(fullJitterDelay(attempt, policy, () => random)).toBe(expected);
  });

  test('waits spread over the whole range from zero to the ceiling', () => {
    const waits = Array.from({ length: 2000 }, () => fullJitterDelay(3, policy));
    expect(Math.min(...waits)).toBeLessThan(40);
    expect(Math.max(...waits)).toBeGreaterThan(360);
    expect(Math.max(...waits)).toBeLessThan(400);
  });
});

describe('parseRetryAfter', () => {
  test.each([
    { value: '1', expected: 1000 },
    { value: '0', expected: 0 },
    { value: ' 2 ', expected: 2000 },
    { value: '1.5', expected: 1500 },
    { value: 'Thu, 01 Jan 2026 00:00:03 GMT', expected: 3000 },
    { value: 'Wed, 31 Dec 2025 23:59:00 GMT', expected: 0 },
    { value: 'soon', expected: undefined },
    { value: '', expected: undefined },
    { value: undefined, expected: undefined },
  ])('Retry-After "$value" means $expected ms', ({ value, expected }) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('parseRateLimitReset', () => {
  test.each([
    { value: '1', expected: 1000 },
    { value: '0', expected: 0 },
    { value: String(NOW / 1000 + 5), expected: 5000 }, // a Unix time, as some servers send
    { value: '-1', expected: undefined },
    { value: 'x', expected: undefined },
    { value: undefined, expected: undefined },
  ])('RateLimit-Reset "$value" means $expected ms', ({ value, expected }) => {
    expect(parseRateLimitReset(value, NOW)).toBe(expected);
  });
});

describe('parseRateLimitHeaders', () => {
  test.each([
    {
      name: 'the three draft headers',
      headers: { 'ratelimit-limit': '20', 'ratelimit-remaining': '7', 'ratelimit-reset': '1' },
      expected: { limit: 20, remaining: 7, resetMs: 1000 },
    },
    {
      name: 'a policy with a window',
      headers: { 'ratelimit-limit': '100', 'ratelimit-policy': '100;w=60' },
      expected: { limit: 100, windowMs: 60_000 },
    },
    { name: 'structured-field values', headers: { 'ratelimit-limit': 'limit=5', 'ratelimit-remaining': 'r=0' }, expected: { limit: 5, remaining: 0 } },
    { name: 'no headers', headers: {}, expected: {} },
  ])('reads $name', ({ headers, expected }) => {
    expect(parseRateLimitHeaders(headers, NOW)).toEqual(expected);
  });
});

describe('nextRetryDelay', () => {
  const base = { startedAt: NOW, now: NOW };
  test.each([
    { name: 'a network failure gets full jitter', failed: { ...base, attempt: 1 }, expected: 50 },
    { name: 'the last allowed attempt stops the retries', failed: { ...base, attempt: 5 }, expected: undefined },
    {
      name: 'Retry-After is honoured over a shorter jitter',
      failed: { ...base, attempt: 1, status: 429, headers: { 'retry-after': '2' } },
      expected: 2000,
    },
    {
      name: 'a jitter longer than Retry-After is kept',
      failed: { ...base, attempt: 5 - 1, status: 503, headers: { 'retry-after': '0' } },
      expected: 400,
    },
    {
      name: 'RateLimit-Reset is honoured on a 429 without Retry-After',
      failed: { ...base, attempt: 1, status: 429, headers: { 'ratelimit-remaining': '0', 'ratelimit-reset': '3' } },
      expected: 3000,
    },
    {
      name: 'RateLimit-Reset is ignored while quota remains',
      failed: { ...base, attempt: 1, status: 503, headers: { 'ratelimit-remaining': '5', 'ratelimit-reset': '3' } },
      expected: 50,
    },
    {
      name: 'a wait that would end past the deadline stops the retries',
      failed: { ...base, attempt: 1, now: NOW + 9_000, status: 429, headers: { 'retry-after': '2' } },
      expected: undefined,
    },
  ])('$name', ({ failed, expected }) => {
    expect(nextRetryDelay(failed, policy, () => 0.5)).toBe(expected);
  });
});
