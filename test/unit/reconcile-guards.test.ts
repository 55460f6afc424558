/** The guards: self-lockout (nothing overrides it) and mass deactivation (30% once there are 10 active keys). */
import { type GuardOptions, type ProjectPlan, DEFAULT_GUARD_OPTIONS, checkGuards, planProject } from '../../src/reconcile';
import type { LiveKey } from '../../src/model';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

/** A project with `active` active keys (the admin key among them) of which the manifest keeps all but `dropped`. */
function projectDeactivating(active: number, dropped: number): ProjectPlan {
  const others: LiveKey[] = Array.from({ length: active - 1 }, (_, i) => live(`u${String(i).padStart(3, '0')}`, `key ${i}`));
  const kept = others.slice(dropped).map((k) => entry(k.description));
  return planProject({ desired: project(kept), live: [ADMIN, ...others], selfKey: ADMIN, apiUrl: 'http://x' });
}

const opts = (more: Partial<GuardOptions> = {}): GuardOptions => ({ ...DEFAULT_GUARD_OPTIONS, ...more });

describe('mass-deactivation guard', () => {
  test.each([
    { active: 9, dropped: 8, refused: false, why: 'below 10 active keys the ratio is not checked' },
    { active: 10, dropped: 3, refused: false, why: 'exactly 30% is allowed' },
    { active: 10, dropped: 4, refused: true, why: '40% of 10 is too many' },
    { active: 11, dropped: 3, refused: false, why: '27% of 11 is allowed' },
    { active: 11, dropped: 4, refused: true, why: '36% of 11 is too many' },
    { active: 20, dropped: 6, refused: false, why: 'exactly 30% of 20 is allowed' },
    { active: 20, dropped: 7, refused: true, why: '35% of 20 is too many' },
  ])('$active active keys, $dropped deactivated: refused=$refused ($why)', ({ active, dropped, refused }) => {
    const p = projectDeactivating(active, dropped);
    expect(p.changes.filter((c) => c.kind === 'deactivate')).toHaveLength(dropped);
    expect(checkGuards(p, opts()).map((v) => v.guard)).toEqual(refused ? ['mass-deactivation'] : []);
  });

  test('the refusal names the flag and gives the numbers', () => {
    expect(checkGuards(projectDeactivating(11, 4), opts())).toEqual([
      {
        guard: 'mass-deactivation',
        project: 'demo',
        flag: '--force',
        message:
          'plan deactivates 4 of 11 active keys (36.4%) in project demo, more than --max-deactivate-ratio 0.3 allows; re-run with --force if intended',
      },
    ]);
  });

  test('--force lets a mass deactivation through', () => {
    expect(checkGuards(projectDeactivating(11, 8), opts({ force: true }))).toEqual([]);
  });

  test.each([
    { ratio: 0.5, dropped: 5, refused: false },
    { ratio: 0.5, dropped: 6, refused: true },
    { ratio: 0, dropped: 1, refused: true },
  ])('--max-deactivate-ratio $ratio with $dropped of 10 deactivated: refused=$refused', ({ ratio, dropped, refused }) => {
    expect(checkGuards(projectDeactivating(10, dropped), opts({ maxDeactivateRatio: ratio })).length > 0).toBe(refused);
  });

  test.each([
    { min: 5, active: 5, dropped: 2, refused: true },
    { min: 6, active: 5, dropped: 2, refused: false },
  ])('a minimum of $min active keys with $active active: refused=$refused', ({ min, active, dropped, refused }) => {
    expect(checkGuards(projectDeactivating(active, dropped), opts({ minActiveForRatio: min })).length > 0).toBe(refused);
  });
});

describe('self-lockout guard', () => {
  const planFor = (entries: ReturnType<typeof entry>[], keys: LiveKey[] = [ADMIN]) =>
    planProject({ desired: project(entries), live: keys, selfKey: ADMIN, apiUrl: 'http://x' });

  test.each([
    { name: 'dropping ACCESS_MANAGE', perms: ['ACCESS_READ', 'OBJECTS_LIST'], active: true, lost: /removes ACCESS_MANAGE from key "bootstrap admin"/ },
    { name: 'dropping ACCESS_READ', perms: ['ACCESS_MANAGE', 'OBJECTS_LIST'], active: true, lost: /removes ACCESS_READ from key/ },
    { name: 'dropping both', perms: ['OBJECTS_LIST'], active: true, lost: /removes ACCESS_MANAGE and ACCESS_READ from key/ },
    { name: 'declaring it inactive', perms: ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST'], active: false, lost: /deactivates key "bootstrap admin"/ },
  ] as const)('$name on the own key is refused, even with --force', ({ perms, active, lost }) => {
    const p = planFor([entry('bootstrap admin', [...perms], { active })]);
    for (const force of [false, true]) {
      const v = checkGuards(p, opts({ force }));
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({ guard: 'self-lockout', flag: null });
      expect(v[0]!.message).toMatch(lost);
      expect(v[0]!.message).toContain('No flag overrides this guard, not even --force');
    }
  });

  test('other permission changes of the own key are allowed', () => {
    const p = planFor([entry('admin', ['ACCESS_MANAGE', 'ACCESS_READ'], { formerDescriptions: ['bootstrap admin'] })]);
    expect(p.changes).toHaveLength(1);
    expect(checkGuards(p, opts())).toEqual([]);
  });

  test('omitting the own key from the manifest plans nothing for it', () => {
    const p = planFor([], [ADMIN, live('u1', 'x')]);
    expect(p.changes.map((c) => ('uuid' in c ? c.uuid : ''))).toEqual(['u1']);
    expect(checkGuards(p, opts())).toEqual([]);
  });

  test('the key applying now is protected too when it differs from the one that planned', () => {
    const p = planFor([], [ADMIN, live('u1', 'other admin', ['ACCESS_MANAGE', 'ACCESS_READ'])]);
    expect(checkGuards(p, opts()).map((v) => v.guard)).toEqual([]);
    expect(checkGuards(p, opts({ selfUuid: 'u1' })).map((v) => v.guard)).toEqual(['self-lockout']);
  });
});
