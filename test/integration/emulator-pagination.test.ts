/**
 * Pagination over real HTTP: no key lost or repeated while keys are created between (and during) pages,
 * and the --max-page-size / --bulk-max knobs.
 */
import type { Agent } from 'undici';
import { type EmulatorHandle, startEmulator } from '../../src/emulator';
import { ContractChecker, newAgent, ProjectClient, removeDir, tempStateDir } from './emulator-contract';

let dir: string;
let emulator: EmulatorHandle;
let agent: Agent;
let checker: ContractChecker;
let api: ProjectClient;
let admin: string;

beforeAll(async () => {
  dir = tempStateDir();
  emulator = await startEmulator({ stateDir: dir, port: 0 });
  agent = newAgent();
  checker = await ContractChecker.load();
  api = new ProjectClient(`${emulator.url}/demo/v5`, agent, checker);
  admin = emulator.adminKey('demo');
  await emulator.seedKeys('demo', Array.from({ length: 300 }, (_, i) => ({ description: `seed-${i}`, permissions: ['OBJECTS_LIST'] })));
});

afterAll(async () => {
  await agent?.close();
  await emulator?.close();
  removeDir(dir);
});

async function snapshotUuids(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await api.call('GET', `/keys?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key: admin });
    out.push(...res.body.keys.map((k: any) => k.uuid));
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
}

test('keys created between pages are neither lost nor repeated, and every earlier key is seen exactly once', async () => {
  const before = await snapshotUuids();
  const seen: string[] = [];
  const createdDuring: string[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await api.call('GET', `/keys?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: admin });
    seen.push(...res.body.keys.map((k: any) => k.uuid));
    cursor = res.body.next_cursor;
    if (createdDuring.length < 60) {
      for (let i = 0; i < 3; i++) {
        const c = await api.call('POST', '/keys', { key: admin, body: { description: `during-${createdDuring.length}`, permissions: [] } });
        createdDuring.push(c.body.key.uuid);
      }
    }
  } while (cursor);
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.slice(0, before.length)).toEqual(before);
  expect(new Set(seen)).toEqual(new Set([...before, ...createdDuring]));
});

test('a listing running alongside 16 concurrent creators loses and repeats nothing', async () => {
  const before = new Set(await snapshotUuids());
  let stop = false;
  const creators = Array.from({ length: 16 }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      await api.call('POST', '/keys', { key: admin, body: { description: `conc-${w}-${n}`, permissions: [] } });
    }
  });
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: any = await api.call('GET', `/keys?limit=10${cursor ? `&cursor=${cursor}` : ''}`, { key: admin });
    seen.push(...res.body.keys.map((k: any) => k.uuid));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor && pages < 200);
  stop = true;
  await Promise.all(creators);
  expect(new Set(seen).size).toBe(seen.length);
  for (const uuid of before) expect(seen).toContain(uuid);
});

test('created_at is strictly increasing in listing order', async () => {
  const res: any = await api.call('GET', '/keys?limit=100', { key: admin });
  const times = res.body.keys.map((k: any) => k.created_at);
  for (let i = 1; i < times.length; i++) expect(times[i] > times[i - 1]).toBe(true);
});

describe('page and bulk limits', () => {
  let small: EmulatorHandle;
  let smallDir: string;
  let smallApi: ProjectClient;
  beforeAll(async () => {
    smallDir = tempStateDir();
    small = await startEmulator({ stateDir: smallDir, port: 0, maxPageSize: 5, bulkMax: 3 });
    smallApi = new ProjectClient(`${small.url}/demo/v5`, agent);
    await small.seedKeys('demo', Array.from({ length: 12 }, (_, i) => ({ description: `s${i}`, permissions: [] })));
  });
  afterAll(async () => {
    await small.close();
    removeDir(smallDir);
  });

  test('maxPageSize is the default page and caps every page, while the contract range stays valid', async () => {
    const key = small.adminKey('demo');
    const page = await smallApi.call('GET', '/keys', { key });
    expect(page.body.keys).toHaveLength(5);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    const clamped = await smallApi.call('GET', '/keys?limit=100', { key });
    expect(clamped.status).toBe(200);
    expect(clamped.body.keys).toHaveLength(5);
    const smaller = await smallApi.call('GET', '/keys?limit=3', { key });
    expect(smaller.body.keys).toHaveLength(3);
    const tooBig = await smallApi.call('GET', '/keys?limit=101', { key });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.msg).toMatch(/from 1 to 100/);
  });

  test('bulkMax caps POST /keys/status', async () => {
    const key = small.adminKey('demo');
    const uuids = (await smallApi.call('GET', '/keys', { key })).body.keys.map((k: any) => k.uuid).slice(1);
    const refused = await smallApi.call('POST', '/keys/status', { key, body: { uuids, active: false } });
    expect(refused.status).toBe(400);
    expect(refused.body.msg).toMatch(/at most 3/);
    const ok = await smallApi.call('POST', '/keys/status', { key, body: { uuids: uuids.slice(0, 3), active: false } });
    expect(ok.body.updated).toBe(3);
  });
});
