/**
 * The client against the emulator's injected faults (real HTTP on port 0): a listing under a 25% fault rate
 * returns every key exactly once, and creates whose connection is reset after the server committed them
 * neither duplicate nor lose a key.
 */
import { KeysApiFactory } from '../../src/api';
import { LeakRecorder, startTestEmulator, type TestEmulator } from './client-harness';

const recorder = new LeakRecorder();
const emulators: TestEmulator[] = [];
const issued = () => emulators.flatMap((e) => e.handle.issuedSecrets());

/** Small timeouts so that a stalled request (held 300 ms, then cut) costs little. */
const FAST = {
  timeouts: { connectMs: 1000, headersMs: 150, bodyMs: 150, requestMs: 1000 },
  retry: { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 400, deadlineMs: 60_000 },
};

beforeAll(() => recorder.start());
afterAll(async () => {
  recorder.stop();
  await Promise.all(emulators.map((e) => e.close()));
});

test('listing 5,000 keys at fault rate 0.25 returns exactly the 5,000 keys in each of 20 seeded runs', async () => {
  const RUNS = 20;
  const N = 5000;
  // One emulator per seed, run side by side: each listing is sequential (cursors), so the runs' fault
  // sequences stay deterministic per seed while the 1 s Retry-Afters of the injected 429/503 overlap.
  const runs = await Promise.all(
    Array.from({ length: RUNS }, async (_, i) => {
      const emu = await startTestEmulator({ seed: i + 1, stallMs: 300 });
      emulators.push(emu);
      const seeded = await emu.handle.seedKeys(
        'demo',
        Array.from({ length: N }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST'] })),
      );
      return { emu, seeded };
    }),
  );
  const factory = new KeysApiFactory({ ...FAST, trace: recorder.trace });
  try {
    const results = await Promise.all(
      runs.map(async ({ emu, seeded }) => {
        const api = await factory.open({
          project: 'demo',
          apiUrl: emu.handle.url,
          apiKey: emu.handle.adminKey('demo'),
          credentialSource: 'SCALEFLEX_API_KEY_DEMO',
          access: 'read', purpose: 'plan',
        });
        emu.handle.configure({ faultRate: 0.25 });
        const listed: string[] = [];
        for await (const key of api.list()) listed.push(key.uuid);
        emu.handle.configure({ faultRate: 0 });
        return { listed, expected: [...seeded.map((s) => s.uuid), api.selfKey.uuid], faults: emu.handle.stats().faults };
      }),
    ).catch((e) => {
      throw recorder.error(e);
    });
    for (const { listed, expected, faults } of results) {
      expect(listed).toHaveLength(N + 1); // the 5,000 seeded keys and the bootstrap admin key
      expect(new Set(listed).size).toBe(N + 1);
      expect([...listed].sort()).toEqual([...expected].sort());
      expect(Object.values(faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    // Every fault kind a GET can meet was met somewhere across the runs.
    const kinds = new Set(results.flatMap((r) => Object.keys(r.faults)));
    expect([...kinds].sort()).toEqual(['http429', 'http500', 'http503', 'reset', 'stall']);
  } finally {
    await factory.close();
  }
});

test('200 creates under applied-then-reset faults at rate 0.3 leave exactly 200 keys, none duplicated or missing', async () => {
  const emu = await startTestEmulator({ seed: 7 });
  emulators.push(emu);
  const factory = new KeysApiFactory({ ...FAST, parallelism: 8, trace: recorder.trace });
  try {
    const api = await factory.open({
      project: 'demo',
      apiUrl: emu.handle.url,
      apiKey: emu.handle.adminKey('demo'),
      credentialSource: 'SCALEFLEX_API_KEY_DEMO',
      access: 'manage', purpose: 'apply',
    });
    emu.handle.configure({ faultRate: 0.3, faults: ['applied-then-reset'] });
    const wanted = Array.from({ length: 200 }, (_, i) => ({
      description: `service ${i}`,
      permissions: i % 2 ? (['OBJECTS_LIST', 'OBJECTS_FETCH'] as const) : (['FILE_UPLOAD'] as const),
    }));
    const created = await Promise.all(wanted.map((w) => api.create({ description: w.description, permissions: [...w.permissions] }))).catch((e) => {
      throw recorder.error(e);
    });
    const resets = emu.handle.stats().faults['applied-then-reset'] ?? 0;
    expect(resets).toBeGreaterThan(30); // the ambiguous path really ran, many times
    emu.handle.configure({ faultRate: 0 });

    const live = [];
    for await (const key of api.list()) if (key.uuid !== api.selfKey.uuid) live.push(key);
    expect(live).toHaveLength(200);
    const byDescription = new Map(live.map((k) => [k.description, k]));
    expect(byDescription.size).toBe(200);
    const issuedNow = new Set(emu.handle.issuedSecrets());
    for (const [i, w] of wanted.entries()) {
      const key = byDescription.get(w.description);
      expect(key).toBeDefined();
      expect([...key!.permissions].sort()).toEqual([...w.permissions].sort());
      expect(created[i]!.key.uuid).toBe(key!.uuid);
      expect(created[i]!.key.description).toBe(w.description);
      // The secret returned is the key's own, whether it came from the create or from adopting the key.
      expect(issuedNow.has(created[i]!.secret)).toBe(true);
      expect(await api.getSecret(key!.uuid)).toBe(created[i]!.secret);
    }
  } finally {
    await factory.close();
  }
});

test('nothing written to stdout/stderr, traced or put in an error message contains an issued secret', () => {
  expect(recorder.chunks.length).toBeGreaterThan(0);
  expect(issued().length).toBeGreaterThan(20 + 200);
  expect(recorder.leaks(issued())).toEqual([]);
  expect(recorder.chunks.join('\n').toLowerCase()).not.toContain('x-filerobot-key');
});
