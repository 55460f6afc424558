/** The client's token bucket: learning the quota from RateLimit-* headers and spacing requests. */
import { TokenBucket } from '../../src/api/pacing';
import { Permits } from '../../src/api/transport';

test('before the server has said anything, requests are not held', () => {
  const b = new TokenBucket();
  expect(Array.from({ length: 50 }, () => b.take(0))).toEqual(new Array(50).fill(0));
});

test('after learning a limit of 20/s, the remaining quota goes at once and the rest is spaced at the safe rate', () => {
  const b = new TokenBucket(1); // no safety margin, to make the arithmetic exact
  b.observe({ limit: 20, remaining: 19, resetMs: 1000 }, 0);
  const waits = Array.from({ length: 25 }, () => b.take(0));
  expect(waits.slice(0, 19)).toEqual(new Array(19).fill(0));
  expect(waits.slice(19)).toEqual([50, 100, 150, 200, 250, 300]);
});

test('with the default safety margin the sustained rate stays below the server\'s', () => {
  const b = new TokenBucket();
  b.observe({ limit: 50, remaining: 0 }, 0);
  const last = Array.from({ length: 1000 }, () => b.take(0)).pop()!;
  // 1,000 requests at 50/s take 20 s at the server's rate; the client spreads them a little wider.
  expect(last).toBeGreaterThan(20_000);
  expect(last).toBeLessThan(22_000);
  expect(b.requestsPerSecond).toBeCloseTo(47.5);
});

test('tokens come back with time, up to the limit', () => {
  const b = new TokenBucket(1);
  b.observe({ limit: 10, remaining: 0 }, 0);
  expect(b.take(0)).toBe(100);
  expect(b.take(5000)).toBe(0); // refilled to 10 after 1 s, minus the reservation above
  for (let i = 0; i < 9; i++) b.take(5000);
  expect(b.take(5000)).toBeGreaterThan(0);
});

test('a lower Remaining from the server (minus requests still in flight) lowers the local count', () => {
  const b = new TokenBucket(1);
  b.observe({ limit: 20, remaining: 20 }, 0);
  b.observe({ limit: 20, remaining: 5 }, 0, 3);
  expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 50]);
});

test('a 429 holds every request of the bucket for the time the server asked', () => {
  const b = new TokenBucket(1);
  b.observe({ limit: 20, remaining: 20 }, 0);
  b.backOff(0, 1000);
  expect(b.take(0)).toBeGreaterThanOrEqual(1000);
  const unknown = new TokenBucket();
  unknown.backOff(0, 1000);
  expect(unknown.take(400)).toBe(600);
  expect(unknown.take(1000)).toBe(0);
});

test('with no limit header, an exhausted quota holds requests until the reset', () => {
  const b = new TokenBucket();
  b.observe({ remaining: 0, resetMs: 2000 }, 0);
  expect(b.take(500)).toBe(1500);
});

describe('Permits', () => {
  test('at most `size` holders run at once; the others run in order as permits are released', () => {
    const p = new Permits(2);
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) p.acquire(() => ran.push(i));
    expect(ran).toEqual([0, 1]);
    expect(p.queued).toBe(3);
    // release() says whether the permit went to a waiting holder (the transport then lets that one leave first).
    expect(p.release()).toBe(true);
    expect(ran).toEqual([0, 1, 2]);
    expect([p.release(), p.release()]).toEqual([true, true]);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect([p.release(), p.release()]).toEqual([false, false]);
    const later: number[] = [];
    p.acquire(() => later.push(1));
    p.acquire(() => later.push(2));
    expect(later).toEqual([1, 2]);
  });
});
