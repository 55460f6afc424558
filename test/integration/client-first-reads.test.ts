/**
 * A stall among a run's first reads, before any latency was observed: the attempt times out after the initial
 * read timeout (2 s) and is asked again, instead of waiting out the 30 s header timeout.
 */
import { KeysApiFactory } from '../../src/api';
import { LatencyTracker } from '../../src/api/transport';
import { openAndListDemo, startTestEmulator, type TestEmulator } from './client-harness';

let emu: TestEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({ stallMs: 60_000 });
});
afterAll(async () => {
  await emu.close();
});

test('the first reads of a run, stalled, are asked again after 2 s, not 30 s', async () => {
  const factory = new KeysApiFactory({});
  try {
    emu.handle.configure({ faultRate: 1, faults: ['stall'] });
    // The stalled first attempts are sent now; their retries (after 2 s plus a backoff) find the server healthy.
    const healthy = setTimeout(() => emu.handle.configure({ faultRate: 0 }), LatencyTracker.INITIAL_MS * 0.75);
    const started = Date.now();
    const { selfUuid, keys } = await openAndListDemo(factory, emu);
    clearTimeout(healthy);
    const elapsed = Date.now() - started;
    expect(keys.map((k) => k.uuid)).toContain(selfUuid);
    expect(emu.handle.stats().faults.stall).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(LatencyTracker.INITIAL_MS - 50);
    expect(elapsed).toBeLessThan(10_000);
  } finally {
    await factory.close();
  }
}, 45_000);
