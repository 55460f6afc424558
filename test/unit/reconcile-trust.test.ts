/**
 * The reconciler's trust rules as pure tables: exact twins retired instead of refusing the project, unknown live
 * permissions kept, the protected-key, last-admin and mass-permission-removal guards stepping across their
 * thresholds, and a saved project checked against its manifest and a fresh listing.
 */
import { AmbiguousMatchError } from '../../src/errors';
import type { LiveKey, Permission } from '../../src/model';
import { DEFAULT_GUARD_OPTIONS, checkGuards, planProject, savedProjectProblems } from '../../src/reconcile';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

const plan = (entries = [entry('ci')], keys: LiveKey[] = [ADMIN], self = ADMIN) => planProject({ desired: project(entries), live: keys, selfKey: self, apiUrl: 'http://x' });
const brief = (p: ReturnType<typeof plan>) => p.changes.map((c) => `${c.kind} ${'uuid' in c ? c.uuid : c.after.description}${c.kind === 'deactivate' ? ` (${c.reason})` : ''}`);

describe('exact twins left by an interrupted race', () => {
  test('two active keys with one description and permissions, created seconds apart, are matched to the oldest and the newer retired', () => {
    const p = plan([entry('ci')], [ADMIN, live('t1', 'ci', ['OBJECTS_LIST'], true, '2026-01-01T00:00:00.000Z'), live('t2', 'ci', ['OBJECTS_LIST'], true, '2026-01-01T00:00:03.000Z')]);
    expect(brief(p)).toEqual(['update t2', 'deactivate t2 (duplicate)']);
    expect(p.changes[0]!.after.description).toMatch(/^ci \(duplicate t2, retired by scaleflex-keys\)$/);
  });

  test.each([
    { name: 'different permissions', b: live('t2', 'ci', ['FILE_UPLOAD'], true, '2026-01-01T00:00:03.000Z') },
    { name: 'one inactive', b: live('t2', 'ci', ['OBJECTS_LIST'], false, '2026-01-01T00:00:03.000Z') },
    { name: 'created hours apart', b: live('t2', 'ci', ['OBJECTS_LIST'], true, '2026-01-01T05:00:00.000Z') },
  ])('keys with $name are still an ambiguity', ({ b }) => {
    expect(() => plan([entry('ci')], [ADMIN, live('t1', 'ci'), b])).toThrow(AmbiguousMatchError);
  });
});

describe('permissions this version does not know', () => {
  test('are kept on an update, never removed, and carried in the plan', () => {
    const key = live('u1', 'ci', ['OBJECTS_LIST', 'NEW_PERMISSION_32' as Permission]);
    const p = plan([entry('ci', ['FILE_UPLOAD'])], [ADMIN, key]);
    expect(p.changes).toHaveLength(1);
    const c = p.changes[0]!;
    expect(c.kind).toBe('update');
    if (c.kind !== 'update') return;
    expect(c.permissionsRemoved).toEqual(['OBJECTS_LIST']);
    expect(c.after.unknownPermissions).toEqual(['NEW_PERMISSION_32']);
  });

  test('a key whose only difference is an unknown permission plans nothing', () => {
    expect(plan([entry('ci')], [ADMIN, live('u1', 'ci', ['OBJECTS_LIST', 'NEW_PERMISSION_32' as Permission])]).changes).toEqual([]);
  });
});

describe('guards that nothing overrides', () => {
  const manager = (uuid: string, description: string) => live(uuid, description, ['ACCESS_MANAGE', 'ACCESS_READ']);

  test('protected-key: a protected key is never deactivated or stripped, even with --force', () => {
    const keys = [ADMIN, manager('d1', 'deployer')];
    const off = plan([entry('deployer', ['ACCESS_MANAGE', 'ACCESS_READ'], { protected: true, active: false })], keys);
    expect(checkGuards(off, { ...DEFAULT_GUARD_OPTIONS, force: true }, keys).map((v) => v.guard)).toEqual(['protected-key']);
    const stripped = plan([entry('deployer', ['ACCESS_READ'], { protected: true })], keys);
    expect(checkGuards(stripped, DEFAULT_GUARD_OPTIONS, keys).map((v) => v.guard)).toEqual(['protected-key']);
    const kept = plan([entry('deployer', ['ACCESS_MANAGE', 'ACCESS_READ'], { protected: true })], keys);
    expect(checkGuards(kept, DEFAULT_GUARD_OPTIONS, keys)).toEqual([]);
  });

  test('last-admin: a plan made with a read-only key that deactivates the only admin key is refused', () => {
    const reader = live('r1', 'reader', ['ACCESS_READ']);
    const keys = [ADMIN, reader];
    const p = plan([entry('reader', ['ACCESS_READ'])], keys, reader);
    expect(p.planningKeyAccess).toBe('read');
    expect(checkGuards(p, { ...DEFAULT_GUARD_OPTIONS, force: true }, keys).map((v) => v.guard)).toEqual(['last-admin']);
    // Another admin key left active, or a new one created first, satisfies it.
    const withSecond = plan([entry('reader', ['ACCESS_READ']), entry('deployer', ['ACCESS_MANAGE', 'ACCESS_READ'])], [...keys, manager('d1', 'deployer')], reader);
    expect(checkGuards(withSecond, DEFAULT_GUARD_OPTIONS, [...keys, manager('d1', 'deployer')])).toEqual([]);
    const created = plan([entry('reader', ['ACCESS_READ']), entry('new admin', ['ACCESS_MANAGE'])], keys, reader);
    expect(checkGuards(created, DEFAULT_GUARD_OPTIONS, keys)).toEqual([]);
  });
});

describe('mass-permission-removal guard', () => {
  /** `active` active keys (admin among them) of which the manifest strips a permission from `stripped`. */
  const case_ = (active: number, stripped: number) => {
    const others = Array.from({ length: active - 1 }, (_, i) => live(`u${String(i).padStart(3, '0')}`, `key ${i}`, ['LABELS_LIST', 'OBJECTS_LIST']));
    const keys = [ADMIN, ...others];
    const entries = [entry('bootstrap admin', ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST']), ...others.map((k, i) => entry(k.description, i < stripped ? ['LABELS_LIST'] : ['LABELS_LIST', 'OBJECTS_LIST']))];
    return { p: plan(entries, keys), keys };
  };
  test.each([
    { active: 9, stripped: 8, refused: false },
    { active: 10, stripped: 3, refused: false },
    { active: 10, stripped: 4, refused: true },
    { active: 21, stripped: 20, refused: true },
  ])('$stripped of $active stripped: refused $refused', ({ active, stripped, refused }) => {
    const { p, keys } = case_(active, stripped);
    expect(checkGuards(p, DEFAULT_GUARD_OPTIONS, keys).map((v) => v.guard)).toEqual(refused ? ['mass-permission-removal'] : []);
    expect(checkGuards(p, { ...DEFAULT_GUARD_OPTIONS, forcePermissionRemoval: true }, keys)).toEqual([]);
    if (refused) expect(checkGuards(p, DEFAULT_GUARD_OPTIONS, keys)[0]!.flag).toBe('--force-permission-removal');
  });
});

describe('a saved project against its manifest and a fresh listing', () => {
  const desired = project([entry('website', ['OBJECTS_LIST', 'OBJECTS_FETCH'])]);
  const start = [ADMIN, live('w1', 'website'), live('s1', 'stray')];
  const saved = planProject({ desired, live: start, selfKey: ADMIN, apiUrl: 'http://x' });

  test('applies when nothing it touches moved, even if other keys did', () => {
    expect(savedProjectProblems({ saved, desired, live: [...start, live('n1', 'someone else')], selfKey: ADMIN })).toEqual([]);
  });
  test('a key it changes that moved is refused, saying how', () => {
    const moved = [ADMIN, live('w1', 'website', ['FILE_DELETE', 'OBJECTS_LIST']), live('s1', 'stray')];
    expect(savedProjectProblems({ saved, desired, live: moved, selfKey: ADMIN })[0]).toContain('"website" permissions changed since the plan: +FILE_DELETE');
  });
  test('a changed manifest is refused', () => {
    const edited = project([entry('website', ['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_DELETE'])]);
    expect(savedProjectProblems({ saved, desired: edited, live: start, selfKey: ADMIN })[0]).toContain('the manifest changed since this plan was made');
  });
  test('a self_uuid that is no key of the project is refused', () => {
    expect(savedProjectProblems({ saved: { ...saved, selfUuid: 'nope' }, desired, live: start, selfKey: ADMIN })[0]).toContain('self_uuid');
  });
  test('a change added to the file by hand is refused', () => {
    const extra = { ...saved, changes: [...saved.changes, { kind: 'deactivate' as const, reason: 'unmanaged' as const, uuid: 'w1', createdAt: '', secretPreview: '', before: { description: 'website', permissions: ['OBJECTS_LIST'] as Permission[], active: true }, after: { description: 'website', permissions: ['OBJECTS_LIST'] as Permission[], active: false } }] };
    expect(savedProjectProblems({ saved: extra, desired, live: start, selfKey: ADMIN }).join('\n')).toMatch(/not what the manifest asks for|changed since/);
  });
});
