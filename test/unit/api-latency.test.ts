/** The adaptive timeout of idempotent reads: from the latencies seen, doubling per retry, none until enough were seen. */
import { LatencyTracker } from '../../src/api/transport';

test('no adaptive timeout until a few reads were answered', () => {
  const t = new LatencyTracker();
  for (let i = 0; i < LatencyTracker.MIN_SAMPLES - 1; i++) t.record(100);
  expect(t.timeoutMs(1)).toBeUndefined();
  t.record(100);
  expect(t.timeoutMs(1)).toBe(400);
});

test.each([
  { name: 'four times the 95th percentile', samples: [...Array(95).fill(100), ...Array(5).fill(300)], attempt: 1, expected: 1200 },
  { name: 'doubled on each retry', samples: Array(20).fill(100), attempt: 3, expected: 1600 },
  { name: 'never below the floor', samples: Array(20).fill(1), attempt: 1, expected: LatencyTracker.FLOOR_MS },
])('the timeout is $name', ({ samples, attempt, expected }) => {
  const t = new LatencyTracker();
  for (const s of samples) t.record(s);
  expect(t.timeoutMs(attempt)).toBe(expected);
});

test('only the latest samples count', () => {
  const t = new LatencyTracker();
  for (let i = 0; i < LatencyTracker.SIZE; i++) t.record(5_000);
  for (let i = 0; i < LatencyTracker.SIZE; i++) t.record(100);
  expect(t.timeoutMs(1)).toBe(400);
});
