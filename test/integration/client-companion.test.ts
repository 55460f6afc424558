/**
 * The self check is a companion of the first page: `open` sends both at once and they cost one round trip, even
 * at parallelism 1 (the origin's permits count the page only). Measured against the emulator's latency, which
 * it sleeps per request: two sequential requests cannot take less than twice that.
 */
import { KeysApiFactory } from '../../src/api';
import { openAndListDemo, startTestEmulator, type TestEmulator } from './client-harness';

const LATENCY_MS = 1000;
let emu: TestEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({ latencyMs: LATENCY_MS });
});
afterAll(async () => {
  await emu.close();
});

test('at parallelism 1, the self check and the first page take one round trip, not two', async () => {
  const factory = new KeysApiFactory({ parallelism: 1 });
  try {
    const started = Date.now();
    const { selfUuid, keys } = await openAndListDemo(factory, emu);
    const elapsed = Date.now() - started;
    expect(keys.map((k) => k.uuid)).toContain(selfUuid);
    expect(emu.handle.stats().byRoute).toEqual({ 'GET /keys/self': 1, 'GET /keys': 1 });
    expect(elapsed).toBeGreaterThanOrEqual(LATENCY_MS - 50);
    // Sequential, the two would take at least 2 x 1,000 ms.
    expect(elapsed).toBeLessThan(1.8 * LATENCY_MS);
  } finally {
    await factory.close();
  }
});
