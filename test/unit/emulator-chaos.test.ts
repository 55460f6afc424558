/** The emulator's deterministic chaos and its token bucket (pure). */
import { chooseFault, createRandom, FAULT_KINDS, latencyFor, parseFaultKinds, parseLatency } from '../../src/emulator/faults';
import { RateLimiter, TokenBucket, UNLIMITED_NOMINAL } from '../../src/emulator/rate-limit';

describe('the seeded random source', () => {
  test('the same seed gives the same sequence; another seed another one', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const seqA = Array.from({ length: 20 }, a);
    expect(Array.from({ length: 20 }, b)).toEqual(seqA);
    expect(Array.from({ length: 20 }, c)).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('fault choice', () => {
  const all = { rate: 1, kinds: FAULT_KINDS };
  test.each([
    ['rate 0 never faults', { rate: 0, kinds: FAULT_KINDS }, true, 0],
    ['no kinds never faults', { rate: 1, kinds: [] }, true, 0],
    ['rate 1 always faults', all, true, 1000],
    ['only applied-then-reset never hits a read', { rate: 1, kinds: ['applied-then-reset'] as const }, false, 0],
    ['only applied-then-reset always hits a mutation', { rate: 1, kinds: ['applied-then-reset'] as const }, true, 1000],
  ])('%s', (_name, policy, isMutation, expected) => {
    const random = createRandom(1);
    let faults = 0;
    for (let i = 0; i < 1000; i++) if (chooseFault(random, policy, isMutation)) faults++;
    expect(faults).toBe(expected);
  });

  test('a rate is honoured as a fraction, and every kind is drawn', () => {
    const random = createRandom(9);
    const counts: Record<string, number> = {};
    let faults = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = chooseFault(random, { rate: 0.2, kinds: FAULT_KINDS }, true);
      if (f) {
        faults++;
        counts[f] = (counts[f] ?? 0) + 1;
      }
    }
    expect(faults / 10_000).toBeGreaterThan(0.18);
    expect(faults / 10_000).toBeLessThan(0.22);
    expect(Object.keys(counts).sort()).toEqual([...FAULT_KINDS].sort());
  });

  test('decisions depend only on the seed and the order of requests', () => {
    const run = (seed: number) => {
      const random = createRandom(seed);
      return Array.from({ length: 200 }, (_, i) => chooseFault(random, { rate: 0.3, kinds: FAULT_KINDS }, i % 2 === 0) ?? '-');
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  test.each([
    ['http500', ['http500']],
    ['reset, stall ,reset', ['reset', 'stall']],
    ['applied-then-reset', ['applied-then-reset']],
  ])('parseFaultKinds(%s)', (text, expected) => {
    expect(parseFaultKinds(text)).toEqual(expected);
  });

  test.each(['', 'http404', 'reset,boom'])('parseFaultKinds(%s) is refused with the valid kinds listed', (text) => {
    expect(() => parseFaultKinds(text)).toThrow(/http500/);
  });
});

describe('latency', () => {
  test.each([
    ['50', 50],
    ['10..40', [10, 40]],
    [' 0 ', 0],
  ])('parseLatency(%s)', (text, expected) => {
    expect(parseLatency(text)).toEqual(expected);
  });

  test.each(['', 'fast', '40..10', '-5', '1.5'])('parseLatency(%s) is refused', (text) => {
    expect(() => parseLatency(text)).toThrow();
  });

  test('a range gives values within it, deterministically', () => {
    const a = createRandom(3);
    const b = createRandom(3);
    const xs = Array.from({ length: 100 }, () => latencyFor(a, [10, 40]));
    expect(Array.from({ length: 100 }, () => latencyFor(b, [10, 40]))).toEqual(xs);
    for (const x of xs) expect(x >= 10 && x <= 40).toBe(true);
    expect(latencyFor(a, 25)).toBe(25);
    expect(latencyFor(a, undefined)).toBe(0);
  });
});

describe('token bucket', () => {
  test.each([
    // [description, rate, request times (ms), expected allowed]
    ['a full bucket allows a burst of `rate`', 3, [0, 0, 0, 0], [true, true, true, false]],
    ['one token returns after 1/rate seconds', 2, [0, 0, 0, 499, 500], [true, true, false, false, true]],
    ['an idle bucket refills only up to its size', 2, [0, 10_000, 10_000, 10_000], [true, true, true, false]],
  ])('%s', (_name, rate, times, expected) => {
    const bucket = new TokenBucket(rate, 0);
    expect(times.map((t) => bucket.take(t).allowed)).toEqual(expected);
  });

  test('the answer carries limit, remaining, reset and retry-after', () => {
    const bucket = new TokenBucket(4, 0);
    expect(bucket.take(0)).toEqual({ allowed: true, limit: 4, remaining: 3, resetSeconds: 1, retryAfterSeconds: 0 });
    for (let i = 0; i < 3; i++) bucket.take(0);
    const refused = bucket.take(0);
    expect(refused).toEqual(expect.objectContaining({ allowed: false, remaining: 0, retryAfterSeconds: 1 }));
  });

  test('a slow rate gives a long Retry-After', () => {
    const bucket = new TokenBucket(0.25, 0);
    expect(bucket.take(0).allowed).toBe(true);
    expect(bucket.take(0)).toEqual(expect.objectContaining({ allowed: false, retryAfterSeconds: 4, limit: 1 }));
  });

  test('the limiter keeps one bucket per key and reports a nominal quota when off', () => {
    let now = 0;
    const limiter = new RateLimiter(1, () => now);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
    now = 1000;
    expect(limiter.take('a').allowed).toBe(true);
    limiter.configure(0);
    expect(limiter.take('a')).toEqual(expect.objectContaining({ allowed: true, limit: UNLIMITED_NOMINAL, remaining: UNLIMITED_NOMINAL }));
  });
});
