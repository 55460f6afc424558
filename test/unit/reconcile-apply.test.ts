/** The apply engine against an in-memory KeysApi: order, re-checks, failure handling, secrets, convergence. */
import { redact } from '../../src/redact';
import { ChangedSincePlanError, GuardRefusedError, ScaleflexApiError } from '../../src/errors';
import type { KeySpec, LiveKey } from '../../src/model';
import { type ApplyEvent, type ProjectPlan, applyProjectPlan, planProject } from '../../src/reconcile';
import { ADMIN, FakeKeysApi, entry, live, project } from './reconcile-fixtures';

async function listAll(api: FakeKeysApi): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const k of api.list()) keys.push(k);
  return keys;
}

async function planAgainst(api: FakeKeysApi, entries: KeySpec[]): Promise<ProjectPlan> {
  return planProject({ desired: project(entries), live: await listAll(api), selfKey: ADMIN, apiUrl: 'http://fake' });
}

function run(api: FakeKeysApi, plan: ProjectPlan, more: { bulkMax?: number; parallelism?: number } = {}) {
  const events: ApplyEvent[] = [];
  const secrets: { uuid: string; description: string; secret: string }[] = [];
  const result = applyProjectPlan(api, plan, {
    bulkMax: more.bulkMax ?? 100,
    parallelism: more.parallelism ?? 4,
    onEvent: (e) => events.push(e),
    onSecret: (s) => void secrets.push(s),
  });
  return { result, events, secrets };
}

const desired = [
  entry('new key', ['FILE_UPLOAD']),
  entry('renamed', ['FILE_UPLOAD', 'OBJECTS_LIST'], { formerDescriptions: ['old'] }),
  entry('sleepy'),
  entry('retired', ['OBJECTS_LIST'], { active: false }),
];
const startKeys = () => [ADMIN, live('u1', 'old'), live('u2', 'sleepy', ['OBJECTS_LIST'], false), live('u3', 'retired'), live('u4', 'stray')];

describe('applyProjectPlan', () => {
  test('applies every change kind in order, and planning again finds nothing to do', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    const { result, events, secrets } = run(api, plan, { parallelism: 1 });
    const r = await result;
    expect(r.failed).toBeUndefined();
    expect(r.notDone).toEqual([]);
    expect(r.done).toHaveLength(plan.changes.length);
    expect(events.every((e) => e.status === 'done')).toBe(true);
    const mutations = api.calls.filter((c) => !c.startsWith('get') && c !== 'list');
    expect(mutations).toEqual(['create new key', 'update u1', 'setStatus true 1', 'setStatus false 2']);
    expect(secrets.map((s) => s.description)).toEqual(['new key']);
    expect((await planAgainst(api, desired)).changes).toEqual([]);
    expect(api.keys.get(ADMIN.uuid)).toEqual(ADMIN);
  });

  test('every existing key is checked against one fresh listing before anything is mutated, with no per-key re-read', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.calls.length = 0;
    await run(api, plan).result;
    const firstMutation = api.calls.findIndex((c) => c !== 'list' && !c.startsWith('get'));
    expect(api.calls.indexOf('list')).toBe(0);
    expect(api.calls.indexOf('list')).toBeLessThan(firstMutation);
    expect(api.calls.filter((c) => c.startsWith('get '))).toEqual([]);
  });

  test('a listing passed in is used as is: no request before the first mutation', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const live = await listAll(api);
    const plan = planProject({ desired: project(desired), live, selfKey: ADMIN, apiUrl: 'http://fake' });
    api.calls.length = 0;
    await applyProjectPlan(api, plan, { bulkMax: 100, parallelism: 1, live, onEvent: () => undefined, onSecret: () => undefined });
    expect(api.calls[0]).toBe('create new key');
  });

  test('the secret of a created key goes only to onSecret, never into events or the result', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const { result, events, secrets } = run(api, await planAgainst(api, desired));
    const r = await result;
    expect(secrets).toHaveLength(1);
    const secret = secrets[0]!.secret;
    expect(secret).toMatch(/^secret-/);
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(JSON.stringify(r)).not.toContain(secret);
    expect(events.find((e) => e.change.kind === 'create')?.uuid).toBe(secrets[0]!.uuid);
  });

  test('a key changed since the plan stops the project with ChangedSincePlanError before any change', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.keys.set('u3', { ...api.keys.get('u3')!, permissions: ['FILE_DELETE'] });
    const { result, events } = run(api, plan);
    const r = await result;
    expect(r.failed?.error).toBeInstanceOf(ChangedSincePlanError);
    expect(r.failed?.error.message).toBe(
      'project demo: key "retired" (uuid u3) changed since the plan was made: permissions are [FILE_DELETE], the plan expected [OBJECTS_LIST]. Run plan again.',
    );
    // Preconditions are checked from one listing before anything is mutated: nothing in the project changes.
    expect(r.notDone.map((c) => c.kind)).toEqual(['create', 'update', 'activate', 'deactivate']);
    expect(r.done).toEqual([]);
    expect(api.keys.get('u3')!.active).toBe(true);
    expect(api.keys.get('u4')!.active).toBe(true);
    expect(events.filter((e) => e.status === 'skipped')).toHaveLength(4);
  });

  test('a key of a to-be-created name that appeared since the plan stops the project before any change', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.keys.set('raced', live('raced', 'new key', ['FILE_UPLOAD'], true));
    const r = await run(api, plan).result;
    expect(r.failed?.error).toBeInstanceOf(ChangedSincePlanError);
    expect(r.failed?.error.message).toBe(
      'project demo: a key named "new key" (uuid raced) appeared since the plan was made; creating another would duplicate it. Run plan again.',
    );
    expect(r.done).toEqual([]);
    expect(api.calls.filter((c) => !c.startsWith('get') && c !== 'list')).toEqual([]);
  });

  test('a new key may take the name of a key the same plan renames away', async () => {
    const api = new FakeKeysApi('demo', [ADMIN, live('u1', 'shared name')]);
    const plan = await planAgainst(api, [entry('renamed', ['OBJECTS_LIST'], { uuid: 'u1' }), entry('shared name', ['FILE_UPLOAD'])]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['create', 'update']);
    const r = await run(api, plan).result;
    expect(r.failed).toBeUndefined();
    expect((await planAgainst(api, [entry('renamed', ['OBJECTS_LIST'], { uuid: 'u1' }), entry('shared name', ['FILE_UPLOAD'])])).changes).toEqual([]);
  });

  test('a change someone else already made counts as done without a call (two applies of one plan)', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.keys.set('u1', { ...api.keys.get('u1')!, description: 'renamed', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'] });
    api.keys.set('u4', { ...api.keys.get('u4')!, active: false });
    const { result, events } = run(api, plan, { parallelism: 1 });
    const r = await result;
    expect(r.failed).toBeUndefined();
    expect(r.done).toHaveLength(plan.changes.length);
    expect(api.calls).not.toContain('update u1');
    expect(api.calls.filter((c) => c.startsWith('setStatus'))).toEqual(['setStatus true 1', 'setStatus false 1']);
    expect(events.filter((e) => e.alreadyDone).map((e) => ('uuid' in e.change ? e.change.uuid : ''))).toEqual(['u1', 'u4']);
    expect((await planAgainst(api, desired)).changes).toEqual([]);
  });

  test('a status change already made for a whole chunk makes no bulk call', async () => {
    const api = new FakeKeysApi('demo', [ADMIN, live('a', 'a'), live('b', 'b')]);
    const plan = await planAgainst(api, []);
    for (const u of ['a', 'b']) api.keys.set(u, { ...api.keys.get(u)!, active: false });
    const r = await run(api, plan).result;
    expect(r.done).toHaveLength(2);
    expect(api.calls.some((c) => c.startsWith('setStatus'))).toBe(false);
  });

  test('a key deleted since the plan is reported as changed since the plan', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.keys.delete('u1');
    const r = await run(api, plan, { parallelism: 1 }).result;
    expect(r.failed?.error).toBeInstanceOf(ChangedSincePlanError);
    expect(r.failed?.error.message).toMatch(/key "old" \(uuid u1\) no longer exists/);
  });

  test('a failure stops the project, reports what was and was not done, and a second run converges', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.failOn = { prefix: 'update u1', error: new ScaleflexApiError({ status: 503, apiCode: 'UNAVAILABLE', msg: 'try later', method: 'PATCH', path: '/keys/u1' }) };
    const r = await run(api, plan, { parallelism: 1 }).result;
    expect(r.done.map((c) => c.kind)).toEqual(['create']);
    expect(r.failed?.change.kind).toBe('update');
    expect(r.notDone.map((c) => c.kind)).toEqual(['activate', 'deactivate', 'deactivate']);
    expect(api.calls.some((c) => c.startsWith('setStatus'))).toBe(false);

    const again = await planAgainst(api, desired);
    expect(again.changes.map((c) => c.kind)).toEqual(['update', 'activate', 'deactivate', 'deactivate']);
    const r2 = await run(api, again).result;
    expect(r2.failed).toBeUndefined();
    expect((await planAgainst(api, desired)).changes).toEqual([]);
    expect([...api.keys.values()].filter((k) => k.description === 'new key')).toHaveLength(1);
  });

  test('a failed bulk status call fails its chunk and stops the project', async () => {
    const api = new FakeKeysApi('demo', startKeys());
    const plan = await planAgainst(api, desired);
    api.failOn = { prefix: 'setStatus false', error: new Error('boom') };
    const r = await run(api, plan).result;
    expect(r.failed?.change.kind).toBe('deactivate');
    expect(r.notDone.map((c) => c.kind)).toEqual(['deactivate']);
    expect(r.done.map((c) => c.kind).sort()).toEqual(['activate', 'create', 'update']);
  });

  test.each([
    { keys: 250, bulkMax: 100, calls: ['setStatus false 100', 'setStatus false 100', 'setStatus false 50'] },
    { keys: 100, bulkMax: 100, calls: ['setStatus false 100'] },
    { keys: 3, bulkMax: 1, calls: ['setStatus false 1', 'setStatus false 1', 'setStatus false 1'] },
  ])('$keys deactivations with bulkMax $bulkMax go in chunks', async ({ keys, bulkMax, calls }) => {
    const others = Array.from({ length: keys }, (_, i) => live(`k${i}`, `key ${i}`));
    const api = new FakeKeysApi('demo', [ADMIN, ...others]);
    const r = await run(api, await planAgainst(api, []), { bulkMax, parallelism: 8 }).result;
    expect(r.done).toHaveLength(keys);
    expect(api.calls.filter((c) => c.startsWith('setStatus'))).toEqual(calls);
  });

  test.each([1, 3, 8])('creates run with at most %i calls in flight', async (parallelism) => {
    const api = new FakeKeysApi('demo', [ADMIN]);
    const plan = await planAgainst(api, Array.from({ length: 20 }, (_, i) => entry(`k${i}`)));
    const r = await run(api, plan, { parallelism }).result;
    expect(r.done).toHaveLength(20);
    expect(api.maxInFlight).toBe(parallelism);
  });

  test('a plan that would lock the own key out is refused before any call', async () => {
    const api = new FakeKeysApi('demo', [ADMIN, live('u1', 'x')]);
    const plan = await planAgainst(api, [entry('bootstrap admin', ['OBJECTS_LIST'])]);
    api.calls.length = 0;
    await expect(run(api, plan).result).rejects.toThrow(GuardRefusedError);
    expect(api.calls).toEqual([]);
  });

  test('a secret sink that fails marks the create failed and points at secrets pull without the secret', async () => {
    const api = new FakeKeysApi('demo', [ADMIN]);
    const plan = await planAgainst(api, [entry('ci')]);
    const r = await applyProjectPlan(api, plan, {
      bulkMax: 100,
      parallelism: 2,
      onEvent: () => undefined,
      onSecret: (s) => Promise.reject(new Error(`disk full while writing ${s.secret}`)),
    });
    const created = [...api.keys.values()].find((k) => k.description === 'ci')!;
    expect(r.failed?.error.message).toBe(
      `project demo: key "ci" was created (uuid ${created.uuid}) but its secret could not be stored: disk full while writing [REDACTED]. Fetch it later with \`scaleflex-keys secrets pull\`.`,
    );
    expect(r.failed?.error.message).not.toContain(`secret-${created.uuid}`);
    expect(redact(`leak secret-${created.uuid}`)).toBe('leak [REDACTED]');
  });
});
