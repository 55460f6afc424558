/**
 * Test-only knobs of the emulator library (not part of the HTTP contract): `seedKeys` with a `createdAt` in the
 * past, for tests that need old keys, and `extraPermissions` (CLI: `--extra-permission`), for a client facing
 * a Scaleflex that added a 32nd permission.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Agent } from 'undici';
import { type EmulatorHandle, startEmulator } from '../../src/emulator';
import { newAgent, ProjectClient, removeDir, tempStateDir } from './emulator-contract';

const BIN = path.join(__dirname, '../../dist/cli/bin.js');
const dirs: string[] = [];
let agent: Agent;

function stateDir(): string {
  const d = tempStateDir();
  dirs.push(d);
  return d;
}

beforeAll(() => {
  agent = newAgent();
});

afterAll(async () => {
  await agent.close();
  for (const d of dirs) removeDir(d);
});

async function listAll(em: EmulatorHandle, limit: number): Promise<any[]> {
  const api = new ProjectClient(`${em.url}/demo/v5`, agent);
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await api.call('GET', `/keys?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key: em.adminKey('demo') });
    expect(res.status).toBe(200);
    out.push(...res.body.keys);
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
}

describe('seedKeys with createdAt', () => {
  test('old keys take their place in (created_at, uuid) order, every page size lists each key once, and a restart keeps them', async () => {
    const dir = stateDir();
    let em = await startEmulator({ stateDir: dir, port: 0 });
    await em.seedKeys('demo', [{ description: 'new-1', permissions: [] }]);
    const seeded = await em.seedKeys('demo', [
      { description: 'old-2023', permissions: [], createdAt: '2023-06-01T12:00:00Z' },
      { description: 'old-2021', permissions: ['OBJECTS_LIST'], createdAt: '2021-01-01T00:00:00.123456Z' },
      { description: 'old-2023-twin', permissions: [], createdAt: '2023-06-01T12:00:00Z' },
      { description: 'old-offset', permissions: [], createdAt: '2022-03-04T05:06:07+02:00' },
    ]);
    await em.seedKeys('demo', [{ description: 'new-2', permissions: [] }]);

    const all = await listAll(em, 100);
    const order = (k: any): string => `${k.created_at} ${k.uuid}`;
    expect(all.map(order)).toEqual([...all.map(order)].sort());
    expect(all.map((k) => k.description).slice(0, 4)).toEqual(
      expect.arrayContaining(['old-2021', 'old-offset', 'old-2023', 'old-2023-twin']),
    );
    expect(all[0].description).toBe('old-2021');
    expect(all[0].created_at).toBe('2021-01-01T00:00:00.123456Z');
    expect(all[1]).toMatchObject({ description: 'old-offset', created_at: '2022-03-04T03:06:07.000000Z' });
    expect(all[all.length - 1].description).toBe('new-2');
    for (const limit of [1, 2, 3]) expect((await listAll(em, limit)).map((k) => k.uuid)).toEqual(all.map((k) => k.uuid));

    // A key created now still comes last, with a time after every other.
    const api = new ProjectClient(`${em.url}/demo/v5`, agent);
    const fresh: any = await api.call('POST', '/keys', { key: em.adminKey('demo'), body: { description: 'new-3', permissions: [] } });
    expect(fresh.body.key.created_at > all[all.length - 1].created_at).toBe(true);

    await em.close();
    em = await startEmulator({ stateDir: dir, port: 0 });
    try {
      const after = await listAll(em, 2);
      expect(after.map((k) => k.uuid)).toEqual([...all.map((k) => k.uuid), fresh.body.key.uuid]);
      expect(after.find((k) => k.uuid === seeded[1]!.uuid).created_at).toBe('2021-01-01T00:00:00.123456Z');
    } finally {
      await em.close();
    }
  });

  test.each([
    { createdAt: '2999-01-01T00:00:00Z', msg: /not in the past/ },
    { createdAt: 'yesterday', msg: /not an ISO 8601 date-time/ },
    { createdAt: '2021-02-30T00:00:00Z', msg: /not an ISO 8601 date-time/ },
    { createdAt: '2021-13-01T00:00:00Z', msg: /not an ISO 8601 date-time/ },
  ])('createdAt "$createdAt" is refused and nothing is seeded', async ({ createdAt, msg }) => {
    const em = await startEmulator({ stateDir: stateDir(), port: 0 });
    try {
      const before = (await listAll(em, 100)).length;
      await expect(em.seedKeys('demo', [{ description: 'ok', permissions: [] }, { description: 'bad', permissions: [], createdAt }])).rejects.toThrow(msg);
      expect((await listAll(em, 100)).length).toBe(before);
    } finally {
      await em.close();
    }
  });
});

describe('extraPermissions', () => {
  test('a permission beyond the 31 is accepted on create, PATCH and seedKeys and reported back; without the knob it is refused', async () => {
    const em = await startEmulator({ stateDir: stateDir(), port: 0, extraPermissions: ['OBJECTS_TELEPORT'] });
    const plain = await startEmulator({ stateDir: stateDir(), port: 0 });
    try {
      const api = new ProjectClient(`${em.url}/demo/v5`, agent);
      const admin = em.adminKey('demo');
      const created: any = await api.call('POST', '/keys', { key: admin, body: { description: 'future', permissions: ['OBJECTS_TELEPORT', 'OBJECTS_LIST'] } });
      expect(created.status).toBe(201);
      expect(created.body.key.permissions).toEqual(['OBJECTS_LIST', 'OBJECTS_TELEPORT']);
      const got: any = await api.call('GET', `/keys/${created.body.key.uuid}`, { key: admin });
      expect(got.body.key.permissions).toEqual(['OBJECTS_LIST', 'OBJECTS_TELEPORT']);
      const [seeded] = await em.seedKeys('demo', [{ description: 'seeded future', permissions: ['OBJECTS_TELEPORT'] }]);
      const patched: any = await api.call('PATCH', `/keys/${seeded!.uuid}`, { key: admin, body: { permissions: ['OBJECTS_TELEPORT', 'ACCESS_READ'] } });
      expect(patched.body.key.permissions).toEqual(['ACCESS_READ', 'OBJECTS_TELEPORT']);

      const refused: any = await new ProjectClient(`${plain.url}/demo/v5`, agent).call('POST', '/keys', {
        key: plain.adminKey('demo'),
        body: { description: 'future', permissions: ['OBJECTS_TELEPORT'] },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.msg).toMatch(/unknown permission "OBJECTS_TELEPORT"/);
    } finally {
      await em.close();
      await plain.close();
    }
  });

  test.each([
    { name: 'lowercase', extra: ['objects_teleport'], msg: /not a permission name/ },
    { name: 'one of the 31', extra: ['OBJECTS_LIST'], msg: /already one of the 31 permissions/ },
  ])('a $name extra permission is refused at start, before anything is written', async ({ extra, msg }) => {
    const dir = stateDir();
    await expect(startEmulator({ stateDir: dir, port: 0, extraPermissions: extra })).rejects.toThrow(msg);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('the CLI takes --extra-permission NAME (repeatable); a bad name is a usage error (exit 1)', async () => {
    if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
    const dir = stateDir();
    const proc = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-dir', dir, '--quiet', '--extra-permission', 'OBJECTS_TELEPORT', '--extra-permission', 'OBJECTS_FOLD'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m && out.includes('admin key in')) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`exited with ${code}`)));
      });
      const admin = fs.readFileSync(path.join(dir, 'demo.admin-key'), 'utf8').trim();
      const res: any = await new ProjectClient(`${url}/demo/v5`, agent).call('POST', '/keys', {
        key: admin,
        body: { description: 'cli future', permissions: ['OBJECTS_FOLD', 'OBJECTS_TELEPORT'] },
      });
      expect(res.status).toBe(201);
      expect(res.body.key.permissions).toEqual(['OBJECTS_FOLD', 'OBJECTS_TELEPORT']);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }

    const bad = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-dir', stateDir(), '--extra-permission', 'nope'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((resolve) => bad.on('exit', resolve))).toBe(1);
    expect(err).toMatch(/extra permission "nope" is not a permission name/);
  });
});
