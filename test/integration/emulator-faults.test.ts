/**
 * Injected faults, latency and rate limiting, over real HTTP: each fault kind shows up as a client would see
 * it, fault choice is deterministic for a seed, and rate-limit headers and 429s follow the token bucket.
 */
import { request, type Agent } from 'undici';
import { type EmulatorHandle, startEmulator } from '../../src/emulator';
import { ContractChecker, newAgent, ProjectClient, removeDir, tempStateDir } from './emulator-contract';

let dir: string;
let emulator: EmulatorHandle;
let agent: Agent;
let api: ProjectClient;
let admin: string;

beforeAll(async () => {
  dir = tempStateDir();
  emulator = await startEmulator({ stateDir: dir, port: 0 });
  agent = newAgent();
  api = new ProjectClient(`${emulator.url}/demo/v5`, agent, await ContractChecker.load());
  admin = emulator.adminKey('demo');
});

afterEach(() => {
  emulator.configure({ faultRate: 0, rateLimit: 0, latencyMs: undefined, seed: 1 });
  emulator.resetStats();
});

afterAll(async () => {
  await agent?.close();
  await emulator?.close();
  removeDir(dir);
});

async function countKeys(): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const res: any = await api.call('GET', `/keys${cursor ? `?cursor=${cursor}` : ''}`, { key: admin });
    n += res.body.keys.length;
    cursor = res.body.next_cursor;
  } while (cursor);
  return n;
}

describe('injected faults', () => {
  test.each([
    ['http500', 500, 'INTERNAL', false],
    ['http503', 503, 'UNAVAILABLE', true],
    ['http429', 429, 'RATE_LIMITED', true],
  ] as const)('%s answers %i %s in the contract error form', async (kind, status, code, retryAfter) => {
    emulator.configure({ faultRate: 1, faults: [kind] });
    const res = await api.call('GET', '/keys/self', { key: admin });
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    if (retryAfter) expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(emulator.stats().faults[kind]).toBe(1);
  });

  test('an injected fault on a mutation changes nothing', async () => {
    const before = emulator.issuedSecrets().length;
    emulator.configure({ faultRate: 1, faults: ['http500'] });
    const res = await api.call('POST', '/keys', { key: admin, body: { description: 'never', permissions: [] } });
    expect(res.status).toBe(500);
    expect(emulator.issuedSecrets().length).toBe(before);
  });

  test('reset cuts the connection before any answer', async () => {
    emulator.configure({ faultRate: 1, faults: ['reset'] });
    await expect(api.call('GET', '/keys/self', { key: admin })).rejects.toThrow();
    expect(emulator.stats().faults.reset).toBe(1);
    expect(emulator.stats().byStatus.reset).toBe(1);
  });

  test('stall holds the request past the client timeout, then cuts the connection', async () => {
    emulator.configure({ faultRate: 1, faults: ['stall'], stallMs: 5000 });
    const started = Date.now();
    await expect(
      request(`${emulator.url}/demo/v5/keys/self`, { headers: { 'x-filerobot-key': admin }, headersTimeout: 150, dispatcher: agent }),
    ).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(4000);
    // Without a client timeout the server gives up itself after stallMs.
    emulator.configure({ stallMs: 400 });
    const t0 = Date.now();
    await expect(request(`${emulator.url}/demo/v5/keys/self`, { headers: { 'x-filerobot-key': admin }, dispatcher: agent })).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });

  test('applied-then-reset commits the mutation but loses the answer', async () => {
    const before = await countKeys();
    emulator.configure({ faultRate: 1, faults: ['applied-then-reset'] });
    await expect(api.call('POST', '/keys', { key: admin, body: { description: 'ghost', permissions: [] } })).rejects.toThrow();
    emulator.configure({ faultRate: 0 });
    expect(await countKeys()).toBe(before + 1);
    expect(emulator.stats().faults['applied-then-reset']).toBe(1);
  });

  test('applied-then-reset never answers a read: with only that kind enabled, reads succeed', async () => {
    emulator.configure({ faultRate: 1, faults: ['applied-then-reset'] });
    for (let i = 0; i < 5; i++) expect((await api.call('GET', '/keys/self', { key: admin })).status).toBe(200);
  });

  test('the same seed gives the same faults for the same sequence of requests', async () => {
    const outcomes = async (): Promise<string[]> => {
      emulator.configure({ seed: 42, faultRate: 0.5, faults: ['http500', 'http503', 'http429'] });
      const out: string[] = [];
      for (let i = 0; i < 30; i++) out.push(String((await api.call('GET', '/keys/self', { key: admin })).status));
      return out;
    };
    const first = await outcomes();
    const second = await outcomes();
    expect(second).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
    emulator.configure({ seed: 43 });
    const third: string[] = [];
    for (let i = 0; i < 30; i++) third.push(String((await api.call('GET', '/keys/self', { key: admin })).status));
    expect(third).not.toEqual(first);
  });

  test('a fault rate is the fraction of requests that get a fault', async () => {
    emulator.configure({ seed: 7, faultRate: 0.25, faults: ['http503'] });
    let faults = 0;
    for (let i = 0; i < 200; i++) if ((await api.call('GET', '/keys/self', { key: admin })).status === 503) faults++;
    expect(faults).toBeGreaterThan(25);
    expect(faults).toBeLessThan(80);
  });

  test('close() does not wait for a stalled request', async () => {
    const ownDir = tempStateDir();
    const own = await startEmulator({ stateDir: ownDir, port: 0, faultRate: 1, faults: ['stall'] });
    const pending = request(`${own.url}/demo/v5/keys/self`, { headers: { 'x-filerobot-key': own.adminKey('demo') }, dispatcher: agent }).catch(
      (e: Error) => e,
    );
    while (!own.stats().faults.stall) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await own.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    removeDir(ownDir);
  });
});

describe('latency', () => {
  test('a fixed latency delays every answer', async () => {
    emulator.configure({ latencyMs: 120 });
    const t0 = Date.now();
    await api.call('GET', '/keys/self', { key: admin });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  test('a latency range delays each answer by an amount within it', async () => {
    emulator.configure({ latencyMs: [30, 60] });
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await api.call('GET', '/keys/self', { key: admin });
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(28);
      expect(ms).toBeLessThan(400);
    }
  });
});

describe('rate limiting', () => {
  // Requests go out together, so the bucket (5 tokens, one more every 200 ms) cannot refill enough between
  // them for all 12 to pass, however slow the machine.
  const burst = (key: string, n: number) => Promise.all(Array.from({ length: n }, () => api.call('GET', '/keys/self', { key })));

  test('a key gets its burst, then 429 RATE_LIMITED with Retry-After; RateLimit-* headers on every answer', async () => {
    emulator.configure({ rateLimit: 5 });
    const answers = await burst(admin, 12);
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    expect(ok.length).toBeGreaterThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const a of answers) {
      expect(a.headers['ratelimit-limit']).toBe('5');
      expect(Number(a.headers['ratelimit-remaining'])).toBeLessThanOrEqual(4);
    }
    const remaining = ok.map((a) => Number(a.headers['ratelimit-remaining']));
    expect(remaining).toContain(4); // the first request found a full bucket
    expect(remaining).toContain(0); // and one took the last token before the first refusal
    for (const a of limited) {
      expect(a.body.code).toBe('RATE_LIMITED');
      expect(a.headers['ratelimit-remaining']).toBe('0');
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(a.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    }
  });

  test('buckets are per key, and a bucket refills over time', async () => {
    emulator.configure({ rateLimit: 5 });
    expect((await burst(admin, 12)).some((a) => a.status === 429)).toBe(true);
    const [other] = await emulator.seedKeys('demo', [{ description: 'other caller', permissions: [] }]);
    expect((await api.call('GET', '/keys/self', { key: other!.secret })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 450));
    expect((await api.call('GET', '/keys/self', { key: admin })).status).toBe(200);
  });

  test('without a rate limit the headers show a nominal quota that never runs out', async () => {
    const res = await api.call('GET', '/keys/self', { key: admin });
    expect(Number(res.headers['ratelimit-limit'])).toBeGreaterThan(0);
    expect(res.headers['ratelimit-remaining']).toBe(res.headers['ratelimit-limit']);
  });
});
