/**
 * Pacing and request economy against the emulator (real HTTP on port 0): under a rate limit the client
 * slows itself down instead of collecting 429s, and a listing costs one request per page plus the self call.
 */
import { KeysApiFactory } from '../../src/api';
import { LeakRecorder, startTestEmulator, type TestEmulator } from './client-harness';

const recorder = new LeakRecorder();
const emulators: TestEmulator[] = [];

beforeAll(() => recorder.start());
afterAll(async () => {
  recorder.stop();
  await Promise.all(emulators.map((e) => e.close()));
});

async function emulator(opts: Parameters<typeof startTestEmulator>[0] = {}): Promise<TestEmulator> {
  const emu = await startTestEmulator(opts);
  emulators.push(emu);
  return emu;
}

test('under a rate limit of 20/s a burst of 300 requests completes without error and with fewer than 5% answered 429', async () => {
  const emu = await emulator();
  const seeded = await emu.handle.seedKeys(
    'demo',
    Array.from({ length: 100 }, (_, i) => ({ description: `burst ${i}`, permissions: ['OBJECTS_LIST'] })),
  );
  emu.handle.configure({ rateLimit: 20 });
  const factory = new KeysApiFactory({ parallelism: 16, trace: recorder.trace });
  try {
    const api = await factory.open({
      project: 'demo',
      apiUrl: emu.handle.url,
      apiKey: emu.handle.adminKey('demo'),
      credentialSource: 'SCALEFLEX_API_KEY_DEMO',
      access: 'manage', purpose: 'apply',
    });
    emu.handle.resetStats();
    const started = Date.now();
    // 300 calls at once, of every kind: reads, renames (PATCH) and bulk status changes.
    const calls = Array.from({ length: 300 }, (_, i) => {
      const uuid = seeded[i % 100]!.uuid;
      if (i % 3 === 0) return api.get(uuid);
      if (i % 3 === 1) return api.update(uuid, { description: `burst ${i % 100} renamed ${i}` });
      return api.setStatus([uuid], i % 2 === 0);
    });
    const results = await Promise.allSettled(calls);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => recorder.error((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    const stats = emu.handle.stats();
    const answered429 = stats.byStatus['429'] ?? 0;
    expect(stats.requests).toBeGreaterThanOrEqual(300);
    expect(answered429 / stats.requests).toBeLessThan(0.05);
    // Pacing, not luck: 300 requests at 20/s (burst 20) cannot take much less than (300 - 20) / 20 s.
    expect(Date.now() - started).toBeGreaterThan(((300 - 20) / 20) * 1000 * 0.9);
  } finally {
    await factory.close();
  }
});

test('a rate limit that appears after the client opened is learnt from the first answers, before a burst runs into it', async () => {
  const emu = await emulator();
  const factory = new KeysApiFactory({ parallelism: 16, trace: recorder.trace });
  try {
    const api = await factory.open({
      project: 'demo',
      apiUrl: emu.handle.url,
      apiKey: emu.handle.adminKey('demo'),
      credentialSource: 'SCALEFLEX_API_KEY_DEMO',
      access: 'read', purpose: 'plan',
    });
    // The client last saw a nominal quota of 10,000; now the server allows 20/s.
    emu.handle.configure({ rateLimit: 20 });
    emu.handle.resetStats();
    const results = await Promise.allSettled(Array.from({ length: 150 }, () => api.self()));
    expect(results.filter((r) => r.status === 'rejected').map((r) => recorder.error((r as PromiseRejectedResult).reason))).toEqual([]);
    const stats = emu.handle.stats();
    expect((stats.byStatus['429'] ?? 0) / stats.requests).toBeLessThan(0.05);
  } finally {
    await factory.close();
  }
});

test.each([
  { total: 1, page: 100 },
  { total: 99, page: 100 },
  { total: 100, page: 100 },
  { total: 101, page: 100 },
  { total: 1000, page: 100 },
  { total: 2345, page: 100 },
])('listing $total keys costs exactly ceil($total / $page) list requests plus the one self call', async ({ total, page }) => {
  const emu = await emulator();
  if (total > 1) {
    await emu.handle.seedKeys(
      'demo',
      Array.from({ length: total - 1 }, (_, i) => ({ description: `k${i}`, permissions: ['OBJECTS_LIST'] })),
    );
  }
  emu.handle.resetStats();
  const factory = new KeysApiFactory({ trace: recorder.trace });
  try {
    const api = await factory.open({
      project: 'demo',
      apiUrl: emu.handle.url,
      apiKey: emu.handle.adminKey('demo'),
      credentialSource: 'SCALEFLEX_API_KEY_DEMO',
      access: 'read', purpose: 'plan',
    });
    const seen = new Set<string>();
    for await (const key of api.list()) seen.add(key.uuid);
    expect(seen.size).toBe(total);
    const stats = emu.handle.stats();
    expect(stats.byRoute['GET /keys']).toBe(Math.ceil(total / page));
    expect(stats.byRoute['GET /keys/self']).toBe(1);
    expect(stats.requests).toBe(Math.ceil(total / page) + 1);
  } finally {
    await factory.close();
  }
});

test('a server whose maximum page is smaller than 100 costs exactly one list request per page it serves', async () => {
  const emu = await emulator({ maxPageSize: 40 });
  await emu.handle.seedKeys('demo', Array.from({ length: 199 }, (_, i) => ({ description: `k${i}`, permissions: ['OBJECTS_LIST'] })));
  emu.handle.resetStats();
  const factory = new KeysApiFactory({ trace: recorder.trace });
  try {
    const api = await factory.open({
      project: 'demo',
      apiUrl: emu.handle.url,
      apiKey: emu.handle.adminKey('demo'),
      credentialSource: 'SCALEFLEX_API_KEY_DEMO',
      access: 'read', purpose: 'plan',
    });
    const seen = new Set<string>();
    for await (const key of api.list()) seen.add(key.uuid);
    expect(seen.size).toBe(200);
    expect(emu.handle.stats().byRoute['GET /keys']).toBe(Math.ceil(200 / 40));
    expect(emu.handle.stats().requests).toBe(Math.ceil(200 / 40) + 1);
  } finally {
    await factory.close();
  }
});

test('nothing written to stdout/stderr, traced or put in an error message contains an issued secret', () => {
  const issued = emulators.flatMap((e) => e.handle.issuedSecrets());
  expect(recorder.chunks.length).toBeGreaterThan(0);
  expect(recorder.leaks(issued)).toEqual([]);
});
