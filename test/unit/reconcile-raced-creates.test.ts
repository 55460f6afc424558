/** Unit tests of retiring duplicate creates left by two applies racing on one project (in-memory KeysApi). */
import { retireRacedDuplicates, retiredDescription } from '../../src/reconcile/raced-creates';
import type { KeysApi, LiveKey, UpdateKeyInput } from '../../src/model';

function fakeApi(keys: LiveKey[]): KeysApi & { keys: LiveKey[] } {
  const find = (uuid: string) => keys.find((k) => k.uuid === uuid)!;
  return {
    project: 'p',
    keys,
    self: async () => keys[0]!,
    list: async function* () {
      yield* [...keys];
    },
    get: async (uuid) => find(uuid),
    create: async () => {
      throw new Error('not used');
    },
    update: async (uuid: string, input: UpdateKeyInput) => {
      const i = keys.findIndex((k) => k.uuid === uuid);
      keys[i] = { ...keys[i]!, ...input } as LiveKey;
      return keys[i]!;
    },
    setStatus: async (uuids, active) => {
      for (const u of uuids) Object.assign(keys, { [keys.findIndex((k) => k.uuid === u)]: { ...find(u), active } });
      return uuids.length;
    },
    getSecret: async () => 'x'.repeat(32),
  };
}

const key = (uuid: string, description: string, createdAt: string, active = true): LiveKey => ({
  uuid, description, createdAt, active, permissions: ['OBJECTS_LIST'], secretPreview: '****0000',
});

describe('retireRacedDuplicates', () => {
  test.each([
    {
      name: 'this run created the newer twin: its copy is renamed and deactivated',
      live: [key('old', 'k', '2026-01-01T00:00:01Z'), key('mine', 'k', '2026-01-01T00:00:02Z')],
      created: [{ uuid: 'mine', description: 'k' }],
      retired: ['mine'],
    },
    {
      name: 'this run created the older twin: nothing to do (the other run retires its own)',
      live: [key('mine', 'k', '2026-01-01T00:00:01Z'), key('theirs', 'k', '2026-01-01T00:00:02Z')],
      created: [{ uuid: 'mine', description: 'k' }],
      retired: [],
    },
    {
      name: 'equal creation times fall back to uuid order, which both runs agree on',
      live: [key('b-mine', 'k', '2026-01-01T00:00:01Z'), key('a-theirs', 'k', '2026-01-01T00:00:01Z')],
      created: [{ uuid: 'b-mine', description: 'k' }],
      retired: ['b-mine'],
    },
    {
      name: 'a twin that existed when the plan was made is not a race (the plan would have matched it)',
      live: [key('planned', 'k', '2026-01-01T00:00:01Z'), key('mine', 'k', '2026-01-01T00:00:02Z')],
      created: [{ uuid: 'mine', description: 'k' }],
      retired: [],
    },
    {
      name: 'an inactive twin does not count',
      live: [key('old', 'k', '2026-01-01T00:00:01Z', false), key('mine', 'k', '2026-01-01T00:00:02Z')],
      created: [{ uuid: 'mine', description: 'k' }],
      retired: [],
    },
  ])('$name', async ({ live, created, retired }) => {
    const api = fakeApi(live);
    const result = await retireRacedDuplicates(api, created, new Set(['planned']));
    expect(result.map((r) => r.retiredUuid)).toEqual(retired);
    for (const uuid of retired) {
      const k = api.keys.find((x) => x.uuid === uuid)!;
      expect(k.active).toBe(false);
      expect(k.description).toBe(retiredDescription('k', uuid));
    }
  });

  test('the retired description stays within 255 characters', () => {
    expect(retiredDescription('x'.repeat(255), '12345678-aaaa').length).toBe(255);
  });
});
