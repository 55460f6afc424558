/** Matching and diffing: planProject turns (desired, live) into the right changes, or refuses with a clear error. */
import { AmbiguousMatchError, PinnedKeyNotFoundError } from '../../src/errors';
import type { KeySpec, LiveKey, ProjectSpec } from '../../src/model';
import { type Change, planProject } from '../../src/reconcile';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

/** A change as one short line, so that expectations read like a plan. */
function brief(c: Change): string {
  switch (c.kind) {
    case 'create':
      return `create "${c.after.description}" [${c.after.permissions.join(',')}]${c.after.active ? '' : ' inactive'}`;
    case 'update': {
      const parts: string[] = [];
      if (c.before.description !== c.after.description) parts.push(`"${c.before.description}"->"${c.after.description}"`);
      for (const p of c.permissionsAdded) parts.push(`+${p}`);
      for (const p of c.permissionsRemoved) parts.push(`-${p}`);
      return `update ${c.uuid} ${parts.join(' ')}`;
    }
    case 'activate':
      return `activate ${c.uuid}`;
    case 'deactivate':
      return `deactivate ${c.uuid} (${c.reason})`;
    case 'rotate':
      return `rotate ${c.uuid} -> "${c.after.description}" (${c.trigger})`;
  }
}

function plan(desired: ProjectSpec, keys: LiveKey[], selfKey: LiveKey = ADMIN) {
  return planProject({ desired, live: keys, selfKey, apiUrl: 'http://127.0.0.1:1' });
}

interface Row {
  name: string;
  desired: KeySpec[];
  live: LiveKey[];
  unmanaged?: 'deactivate' | 'ignore';
  expected: string[];
}

const rows: Row[] = [
  { name: 'an empty manifest against only the admin key changes nothing', desired: [], live: [ADMIN], expected: [] },
  { name: 'a new entry is created', desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'])], live: [ADMIN], expected: ['create "ci" [FILE_UPLOAD,OBJECTS_LIST]'] },
  { name: 'an entry declared inactive is created inactive', desired: [entry('ci', ['OBJECTS_LIST'], { active: false })], live: [ADMIN], expected: ['create "ci" [OBJECTS_LIST] inactive'] },
  { name: 'an identical key needs nothing', desired: [entry('ci')], live: [ADMIN, live('u1', 'ci')], expected: [] },
  { name: 'permission order on the live side does not matter', desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'])], live: [ADMIN, live('u1', 'ci', ['OBJECTS_LIST', 'FILE_UPLOAD'])], expected: [] },
  {
    name: 'added and removed permissions are listed separately',
    desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'])],
    live: [ADMIN, live('u1', 'ci', ['FILE_DELETE', 'OBJECTS_LIST'])],
    expected: ['update u1 +FILE_UPLOAD -FILE_DELETE'],
  },
  {
    name: 'a former description makes a rename',
    desired: [entry('ci uploader', ['OBJECTS_LIST'], { formerDescriptions: ['ci'] })],
    live: [ADMIN, live('u1', 'ci')],
    expected: ['update u1 "ci"->"ci uploader"'],
  },
  {
    name: 'a rename and a permission change are one update',
    desired: [entry('new', ['FILE_UPLOAD'], { formerDescriptions: ['old'] })],
    live: [ADMIN, live('u1', 'old', ['OBJECTS_LIST'])],
    expected: ['update u1 "old"->"new" +FILE_UPLOAD -OBJECTS_LIST'],
  },
  {
    name: 'the current description wins over a former one held by another key',
    desired: [entry('new', ['OBJECTS_LIST'], { formerDescriptions: ['old'] })],
    live: [ADMIN, live('u1', 'old'), live('u2', 'new')],
    expected: ['deactivate u1 (unmanaged)'],
  },
  {
    name: 'a pin matches by uuid and renames the key',
    desired: [entry('renamed', ['OBJECTS_LIST'], { uuid: 'u2' })],
    live: [ADMIN, live('u1', 'renamed'), live('u2', 'whatever')],
    expected: ['update u2 "whatever"->"renamed"', 'deactivate u1 (unmanaged)'],
  },
  {
    name: 'a pinned key is not a candidate for an unpinned entry with the same description',
    desired: [entry('dup', ['OBJECTS_LIST'], { uuid: 'u1' }), entry('dup2', ['OBJECTS_LIST'], { formerDescriptions: ['dup'] })],
    live: [ADMIN, live('u1', 'dup'), live('u2', 'dup')],
    expected: ['update u2 "dup"->"dup2"'],
  },
  { name: 'an inactive key declared active is activated', desired: [entry('ci')], live: [ADMIN, live('u1', 'ci', ['OBJECTS_LIST'], false)], expected: ['activate u1'] },
  {
    name: 'an active key declared inactive is deactivated as declared',
    desired: [entry('ci', ['OBJECTS_LIST'], { active: false })],
    live: [ADMIN, live('u1', 'ci')],
    expected: ['deactivate u1 (declared-inactive)'],
  },
  {
    name: 'a rename of a key to be reactivated is an update then an activation',
    desired: [entry('b', ['OBJECTS_LIST'], { formerDescriptions: ['a'] })],
    live: [ADMIN, live('u1', 'a', ['OBJECTS_LIST'], false)],
    expected: ['update u1 "a"->"b"', 'activate u1'],
  },
  { name: 'an active unmanaged key is deactivated', desired: [], live: [ADMIN, live('u1', 'legacy')], expected: ['deactivate u1 (unmanaged)'] },
  { name: 'an inactive unmanaged key needs nothing', desired: [], live: [ADMIN, live('u1', 'legacy', ['OBJECTS_LIST'], false)], expected: [] },
  { name: 'unmanaged keys are left alone under unmanaged: ignore', desired: [], live: [ADMIN, live('u1', 'legacy')], unmanaged: 'ignore', expected: [] },
  { name: 'the tool’s own key survives a manifest that omits it', desired: [entry('ci')], live: [ADMIN, live('u1', 'ci')], expected: [] },
  {
    name: 'an explicit entry that drops the own key’s ACCESS_MANAGE is planned (the guard refuses it later)',
    desired: [entry('bootstrap admin', ['ACCESS_READ', 'OBJECTS_LIST'])],
    live: [ADMIN],
    expected: [`update ${ADMIN.uuid} -ACCESS_MANAGE`],
  },
  {
    name: 'an explicit entry declaring the own key inactive is planned (the guard refuses it later)',
    desired: [entry('bootstrap admin', ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST'], { active: false })],
    live: [ADMIN],
    expected: [`deactivate ${ADMIN.uuid} (declared-inactive)`],
  },
  {
    name: 'changes come in apply order: creates, updates, activations, deactivations',
    desired: [entry('z new'), entry('b', ['FILE_UPLOAD']), entry('c'), entry('a new')],
    live: [ADMIN, live('u1', 'b'), live('u2', 'c', ['OBJECTS_LIST'], false), live('u3', 'old')],
    expected: ['create "a new" [OBJECTS_LIST]', 'create "z new" [OBJECTS_LIST]', 'update u1 +FILE_UPLOAD -OBJECTS_LIST', 'activate u2', 'deactivate u3 (unmanaged)'],
  },
];

describe('planProject', () => {
  test.each(rows)('$name', ({ desired, live: keys, unmanaged, expected }) => {
    const p = plan(project(desired, unmanaged ? { unmanaged } : {}), keys);
    expect(p.changes.map(brief)).toEqual(expected);
  });

  test('each change carries the state apply must find right before it', () => {
    const p = plan(project([entry('b', ['FILE_UPLOAD'], { formerDescriptions: ['a'], active: false })]), [ADMIN, live('u1', 'a')]);
    expect(p.changes.map((c) => [c.kind, 'before' in c ? c.before : null, c.after])).toEqual([
      ['update', { description: 'a', permissions: ['OBJECTS_LIST'], active: true }, { description: 'b', permissions: ['FILE_UPLOAD'], active: true }],
      ['deactivate', { description: 'b', permissions: ['FILE_UPLOAD'], active: true }, { description: 'b', permissions: ['FILE_UPLOAD'], active: false }],
    ]);
  });

  test('the plan is frozen and carries counts, fingerprints and the own key', () => {
    const p = plan(project([entry('ci')]), [ADMIN, live('u1', 'x', ['OBJECTS_LIST'], false)]);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.changes[0])).toBe(true);
    expect(p).toMatchObject({ project: 'demo', selfUuid: ADMIN.uuid, liveKeys: 2, liveActive: 1, unmanaged: 'deactivate' });
    expect(p.liveFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p.desiredFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('the same input in another order gives the same plan', () => {
    const desired = [entry('a'), entry('b', ['FILE_UPLOAD']), entry('c')];
    const keys = [ADMIN, live('u1', 'b'), live('u2', 'old'), live('u3', 'older')];
    const one = plan(project(desired), keys);
    const two = plan(project([...desired].reverse()), [...keys].reverse());
    expect(two).toEqual(one);
  });

  test('a missing pinned uuid is an error naming the entry and the uuid', () => {
    const e = entry('ci', ['OBJECTS_LIST'], { uuid: 'nope', source: { file: 'm.yaml', line: 7, column: 5 } });
    expect(() => plan(project([e]), [ADMIN])).toThrow(PinnedKeyNotFoundError);
    expect(() => plan(project([e]), [ADMIN])).toThrow(/key "ci" \(m\.yaml:7:5\) pins uuid nope/);
  });

  test('two live keys with the entry’s description are an ambiguity listing each candidate and its uuid line', () => {
    const keys = [ADMIN, live('u2', 'ci', ['FILE_UPLOAD', 'OBJECTS_LIST'], false, '2026-03-01T00:00:00Z'), live('u1', 'ci', [], true, '2026-01-01T00:00:00Z')];
    let error: unknown;
    try {
      plan(project([entry('ci')]), keys);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AmbiguousMatchError);
    const message = (error as Error).message;
    expect(message).toContain('key "ci" matches 2 live keys by description');
    expect(message).toContain('uuid: u1    # created_at 2026-01-01T00:00:00Z, active, permissions: (none)');
    expect(message).toContain('uuid: u2    # created_at 2026-03-01T00:00:00Z, inactive, permissions: FILE_UPLOAD, OBJECTS_LIST');
    expect(message.indexOf('uuid: u1')).toBeLessThan(message.indexOf('uuid: u2'));
  });

  test('two live keys with a former description are an ambiguity too', () => {
    const keys = [ADMIN, live('u1', 'old'), live('u2', 'old')];
    expect(() => plan(project([entry('new', ['OBJECTS_LIST'], { formerDescriptions: ['old'] })]), keys)).toThrow(/matches 2 live keys by former description/);
  });

  test('pinning one of two same-named keys resolves the ambiguity and leaves the other unmanaged', () => {
    const keys = [ADMIN, live('u1', 'ci'), live('u2', 'ci')];
    const p = plan(project([entry('ci', ['OBJECTS_LIST'], { uuid: 'u2' })]), keys);
    expect(p.changes.map(brief)).toEqual(['deactivate u1 (unmanaged)']);
  });
});
