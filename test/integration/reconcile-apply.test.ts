/**
 * applyProjectPlan through the real undici client (KeysApiFactory) against the real emulator over loopback:
 * every change kind lands, a second plan is empty, the own key survives, a key changed between plan and apply
 * stops the project, and a created key's secret reaches onSecret only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeysApiFactory, type OpenedKeysApi } from '../../src/api';
import { startEmulator, type EmulatorHandle } from '../../src/emulator';
import { ChangedSincePlanError } from '../../src/errors';
import type { KeySpec, LiveKey, Permission, ProjectSpec } from '../../src/model';
import { type ApplyEvent, type ProjectPlan, applyProjectPlan, planProject } from '../../src/reconcile';

const BULK_MAX = 2;

let stateDir: string;
let emulator: EmulatorHandle;
let factory: KeysApiFactory;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  emulator = await startEmulator({ stateDir, port: 0, projects: ['demo', 'race'], bulkMax: BULK_MAX });
  factory = new KeysApiFactory({ parallelism: 4 });
});

afterAll(async () => {
  await factory?.close();
  await emulator?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

function entry(description: string, permissions: Permission[], more: Partial<KeySpec> = {}): KeySpec {
  return { description, permissions: [...permissions].sort(), active: true, formerDescriptions: [], ...more };
}

async function open(project: string): Promise<OpenedKeysApi> {
  return factory.open({ project, apiUrl: emulator.url, apiKey: emulator.adminKey(project), credentialSource: 'test', access: 'manage', purpose: 'apply' });
}

async function listAll(api: OpenedKeysApi): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const k of api.list()) keys.push(k);
  return keys;
}

async function plan(api: OpenedKeysApi, keys: KeySpec[]): Promise<ProjectPlan> {
  const desired: ProjectSpec = { token: api.project, unmanaged: 'deactivate', keys };
  return planProject({ desired, live: await listAll(api), selfKey: api.selfKey, apiUrl: emulator.url });
}

async function apply(api: OpenedKeysApi, p: ProjectPlan) {
  const events: ApplyEvent[] = [];
  const secrets: { uuid: string; description: string; secret: string }[] = [];
  const result = await applyProjectPlan(api, p, {
    bulkMax: BULK_MAX,
    parallelism: 4,
    onEvent: (e) => events.push(e),
    onSecret: (s) => void secrets.push(s),
  });
  return { result, events, secrets };
}

test('a plan with every change kind is applied over HTTP and planning again finds nothing to do', async () => {
  await emulator.seedKeys('demo', [
    { description: 'Web site', permissions: ['OBJECTS_LIST'] },
    { description: 'Sleepy', permissions: ['OBJECTS_LIST'], active: false },
    { description: 'Retired', permissions: ['OBJECTS_LIST'] },
    { description: 'Stray A', permissions: ['FILE_UPLOAD'] },
    { description: 'Stray B', permissions: ['FILE_UPLOAD'] },
    { description: 'Stray C', permissions: ['FILE_UPLOAD'] },
  ]);
  const desired = [
    entry('CI uploader', ['FILE_UPLOAD', 'OBJECTS_LIST']),
    entry('Parked', ['OBJECTS_LIST'], { active: false }),
    entry('Website', ['OBJECTS_FETCH', 'OBJECTS_LIST'], { formerDescriptions: ['Web site'] }),
    entry('Sleepy', ['OBJECTS_LIST']),
    entry('Retired', ['OBJECTS_LIST'], { active: false }),
  ];
  const api = await open('demo');
  const p = await plan(api, desired);
  expect(p.changes.map((c) => c.kind)).toEqual(['create', 'create', 'update', 'activate', 'deactivate', 'deactivate', 'deactivate', 'deactivate']);

  emulator.resetStats();
  const { result, events, secrets } = await apply(api, p);
  expect(result.failed).toBeUndefined();
  expect(result.notDone).toEqual([]);
  expect(result.done).toHaveLength(p.changes.length);
  // 4 deactivations with a bulk maximum of 2: two status calls, plus one for the activation.
  expect(emulator.stats().byRoute['POST /keys/status']).toBe(3);

  expect(secrets.map((s) => s.description).sort()).toEqual(['CI uploader', 'Parked']);
  for (const s of secrets) expect(emulator.issuedSecrets()).toContain(s.secret);
  const eventText = JSON.stringify(events, (_k, v) => (v instanceof Error ? v.message : v));
  for (const s of secrets) expect(eventText).not.toContain(s.secret);
  expect(JSON.stringify(result)).not.toContain(secrets[0]!.secret);

  const live = await listAll(api);
  const byDescription = new Map(live.map((k) => [k.description, k]));
  expect(byDescription.get('Parked')?.active).toBe(false);
  expect(byDescription.get('Website')?.permissions).toEqual(['OBJECTS_FETCH', 'OBJECTS_LIST']);
  expect(byDescription.get('Sleepy')?.active).toBe(true);
  for (const d of ['Retired', 'Stray A', 'Stray B', 'Stray C']) expect(byDescription.get(d)?.active).toBe(false);
  const self = live.find((k) => k.uuid === api.selfKey.uuid);
  expect(self?.active).toBe(true);
  expect(self?.permissions).toEqual(expect.arrayContaining(['ACCESS_READ', 'ACCESS_MANAGE']));

  expect((await plan(api, desired)).changes).toEqual([]);
});

test('a key changed through the API between plan and apply stops the project before it is touched', async () => {
  const [seeded] = await emulator.seedKeys('race', [{ description: 'Shared', permissions: ['OBJECTS_LIST'] }]);
  const api = await open('race');
  const p = await plan(api, [entry('Shared', ['FILE_UPLOAD', 'OBJECTS_LIST']), entry('Newcomer', ['OBJECTS_LIST'])]);
  await api.update(seeded!.uuid, { permissions: ['LABELS_LIST'] });

  const { result, secrets } = await apply(api, p);
  expect(result.failed?.error).toBeInstanceOf(ChangedSincePlanError);
  expect(result.failed?.error.message).toContain('changed since the plan was made');
  expect((await api.get(seeded!.uuid)).permissions).toEqual(['LABELS_LIST']);
  // The create ran side by side with the update; whatever was done is reported, and planning again converges.
  expect(result.done.length + result.notDone.length + 1).toBe(p.changes.length);
  expect(secrets).toHaveLength(result.done.filter((c) => c.kind === 'create').length);
  const again = await plan(api, [entry('Shared', ['FILE_UPLOAD', 'OBJECTS_LIST']), entry('Newcomer', ['OBJECTS_LIST'])]);
  expect((await apply(api, again)).result.failed).toBeUndefined();
  expect((await plan(api, [entry('Shared', ['FILE_UPLOAD', 'OBJECTS_LIST']), entry('Newcomer', ['OBJECTS_LIST'])])).changes).toEqual([]);
});
