/**
 * Rotation and expiry planning, table-driven: due / not due / on demand / overlap / after the deadline / every
 * state a killed run can leave behind / expiry / warnings; and the rotation helpers, the rollback steps, the plan
 * file round trip and apply's resume of a half-done rotation (against the in-memory fake).
 */
import type { KeySpec, LiveKey, RotationSpec } from '../../src/model';
import { applyProjectPlan, buildPlan, type Change, checkGuards, countChanges, lifecycleWarnings, parsePlanFile, planProject, planToJson, savedProjectProblems } from '../../src/reconcile';
import { planRollback } from '../../src/reconcile/rollback';
import { parseExpires, parseRetiring, pastDeadline, retiringDescription } from '../../src/reconcile/rotation';
import { DEFAULT_GUARD_OPTIONS } from '../../src/model';
import { ADMIN, entry, FakeKeysApi, live, project } from './reconcile-fixtures';

const DAY = 86_400_000;
const ROTATE: RotationSpec = { everyMs: 90 * DAY, overlapMs: 7 * DAY, every: '90d', overlap: '7d' };
const NOW = new Date('2026-12-10T12:00:00Z');
const OLD = '2026-06-01T00:00:00.000Z';
const FRESH = '2026-11-01T00:00:00.000Z';
const RETIRED = 'ci (rotated 2026-12-10, off after 2026-12-17)';

function brief(c: Change): string {
  switch (c.kind) {
    case 'create':
      return `create "${c.after.description}"`;
    case 'update':
      return `update ${c.uuid} "${c.before.description}"->"${c.after.description}"`;
    case 'activate':
      return `activate ${c.uuid}`;
    case 'deactivate':
      return `deactivate ${c.uuid} (${c.reason})`;
    case 'rotate':
      return `rotate ${c.uuid} -> "${c.after.description}" (${c.trigger}) successor [${c.successor.permissions.join(',')}]`;
  }
}

const rotating = (more: Partial<KeySpec> = {}) => entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'], { rotate: ROTATE, ...more });
const key = (uuid: string, description: string, createdAt = OLD, active = true): LiveKey => live(uuid, description, ['FILE_UPLOAD', 'OBJECTS_LIST'], active, createdAt);

interface Row {
  name: string;
  desired: KeySpec[];
  live: LiveKey[];
  now?: Date;
  rotateNow?: string[];
  expected: string[];
}

const rows: Row[] = [
  { name: 'a key older than every is rotated: renamed with its deadline, successor with the same permissions', desired: [rotating()], live: [ADMIN, key('u1', 'ci')], expected: [`rotate u1 -> "${RETIRED}" (due) successor [FILE_UPLOAD,OBJECTS_LIST]`] },
  { name: 'a key younger than every is left alone', desired: [rotating()], live: [ADMIN, key('u1', 'ci', FRESH)], expected: [] },
  { name: 'exactly at every it is due', desired: [rotating()], live: [ADMIN, key('u1', 'ci', new Date(NOW.getTime() - 90 * DAY).toISOString())], expected: [`rotate u1 -> "${RETIRED}" (due) successor [FILE_UPLOAD,OBJECTS_LIST]`] },
  { name: 'an entry without rotate is never due', desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'])], live: [ADMIN, key('u1', 'ci')], expected: [] },
  { name: 'on demand, a young key is rotated (overlap 0 without rotate:)', desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'])], live: [ADMIN, key('u1', 'ci', FRESH)], rotateNow: ['ci'], expected: ['rotate u1 -> "ci (rotated 2026-12-10, off after 2026-12-10)" (on-demand) successor [FILE_UPLOAD,OBJECTS_LIST]'] },
  { name: 'a due key whose permissions differ gets the update only: rotation never changes permissions', desired: [rotating({ permissions: ['OBJECTS_LIST'] })], live: [ADMIN, key('u1', 'ci')], expected: ['update u1 "ci"->"ci"'] },
  { name: 'a due key declared inactive is deactivated, not rotated', desired: [rotating({ active: false })], live: [ADMIN, key('u1', 'ci')], expected: ['deactivate u1 (declared-inactive)'] },
  { name: 'the key the tool runs with is never rotated by a schedule', desired: [entry(ADMIN.description, ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST'], { rotate: ROTATE })], live: [{ ...ADMIN, createdAt: OLD }], expected: [] },
  { name: 'during the overlap: nothing, the retiring key is not unmanaged', desired: [rotating()], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], expected: [] },
  { name: 'on the deadline day: still nothing', desired: [rotating()], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], now: new Date('2026-12-17T23:59:59Z'), expected: [] },
  { name: 'after the deadline: the retiring key is deactivated (reason rotated)', desired: [rotating()], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], now: new Date('2026-12-18T00:00:00Z'), expected: ['deactivate u1 (rotated)'] },
  { name: 'after the deadline with the successor inactive: the old key stays (the only working key), the successor is activated', desired: [rotating()], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH, false)], now: new Date('2026-12-18T00:00:00Z'), expected: ['activate u2'] },
  { name: 'killed after the rename: the successor is created, no second rotation', desired: [rotating()], live: [ADMIN, key('u1', RETIRED)], expected: ['create "ci"'] },
  { name: 'killed after the rename, long past the deadline: created, never deactivated first', desired: [rotating()], live: [ADMIN, key('u1', RETIRED)], now: new Date('2027-01-30T00:00:00Z'), expected: ['create "ci"'] },
  { name: 'killed after the create: nothing (the overlap)', desired: [rotating()], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', '2026-12-10T12:00:01Z')], expected: [] },
  { name: 'an old, already inactive retiring key is left alone', desired: [rotating()], live: [ADMIN, key('u0', 'ci (rotated 2026-01-01, off after 2026-01-08)', '2025-01-01T00:00:00Z', false), key('u2', 'ci', FRESH)], expected: [] },
  { name: 'a retiring-looking key of an undeclared description is unmanaged', desired: [rotating()], live: [ADMIN, key('u9', 'other (rotated 2026-12-10, off after 2026-12-17)'), key('u2', 'ci', FRESH)], expected: ['deactivate u9 (unmanaged)'] },
  { name: 'renamed during the overlap: the retiring key under the former description still belongs to the entry', desired: [rotating({ description: 'ci v2', formerDescriptions: ['ci'] })], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], expected: ['update u2 "ci"->"ci v2"'] },
  { name: 'a pinned entry is never rotated', desired: [rotating({ uuid: 'u1' })], live: [ADMIN, key('u1', 'ci')], expected: [] },
  { name: 'expired: the key is deactivated (reason expired)', desired: [rotating({ expires: '2026-12-01T00:00:00.000Z' })], live: [ADMIN, key('u1', 'ci')], expected: ['deactivate u1 (expired)'] },
  { name: 'expired during a rotation: both keys are deactivated', desired: [rotating({ expires: '2026-12-01T00:00:00.000Z' })], live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], expected: ['deactivate u2 (expired)', 'deactivate u1 (expired)'] },
  { name: 'not yet expired: nothing', desired: [entry('ci', ['FILE_UPLOAD', 'OBJECTS_LIST'], { expires: '2026-12-20T00:00:00.000Z' })], live: [ADMIN, key('u1', 'ci')], expected: [] },
  { name: 'an expired entry with no key is never created', desired: [entry('ci', ['OBJECTS_LIST'], { expires: '2026-12-01T00:00:00.000Z' })], live: [ADMIN], expected: [] },
];

test.each(rows)('$name', ({ desired, live: keys, now, rotateNow, expected }) => {
  const plan = planProject({ desired: project(desired), live: keys, selfKey: ADMIN, apiUrl: 'http://127.0.0.1:1', now: now ?? NOW, ...(rotateNow ? { rotateNow: new Set(rotateNow) } : {}) });
  expect(plan.changes.map(brief)).toEqual(expected);
});

test('a rotation counts one create and one change, and no guard objects to it', () => {
  const plan = planProject({ desired: project([rotating()]), live: [ADMIN, key('u1', 'ci')], selfKey: ADMIN, apiUrl: 'x', now: NOW });
  expect(countChanges(plan)).toEqual({ create: 1, change: 1, deactivate: 0 });
  expect(checkGuards(plan, DEFAULT_GUARD_OPTIONS, [ADMIN, key('u1', 'ci')])).toEqual([]);
});

test('rotation deactivations count towards the mass-deactivation guard like any other', () => {
  const keys = [ADMIN, ...Array.from({ length: 10 }, (_, i) => key(`r${i}`, `k${i} (rotated 2026-12-01, off after 2026-12-08)`)), ...Array.from({ length: 10 }, (_, i) => key(`s${i}`, `k${i}`, FRESH))];
  const desired = project(Array.from({ length: 10 }, (_, i) => entry(`k${i}`, ['FILE_UPLOAD', 'OBJECTS_LIST'], { rotate: ROTATE })));
  const plan = planProject({ desired, live: keys, selfKey: ADMIN, apiUrl: 'x', now: NOW });
  expect(plan.changes.filter((c) => c.kind === 'deactivate' && c.reason === 'rotated')).toHaveLength(10);
  expect(checkGuards(plan, DEFAULT_GUARD_OPTIONS, keys).map((v) => v.guard)).toEqual(['mass-deactivation']);
});

test('warnings: rotations and expiries coming due within the window, and due rotations that cannot be planned', () => {
  const desired = project([rotating(), entry('tmp', ['OBJECTS_LIST'], { expires: '2026-12-20T00:00:00.000Z' }), entry(ADMIN.description, ADMIN.permissions as never, { rotate: ROTATE })]);
  const keys = [{ ...ADMIN, createdAt: OLD }, key('u1', 'ci', '2026-09-15T00:00:00.000Z'), live('u3', 'tmp')];
  const w = lifecycleWarnings({ desired, live: keys, selfKey: ADMIN, apiUrl: 'x', now: NOW, withinMs: 14 * DAY });
  expect(w).toEqual([
    'project demo: rotation of "ci" (uuid u1) comes due 2026-12-14T00:00:00.000Z',
    'project demo: expiry of "tmp" (uuid u3) comes due 2026-12-20T00:00:00.000Z',
    `project demo: rotation of "bootstrap admin" (uuid ${ADMIN.uuid}) is due but not planned: it is the key scaleflex-keys runs with; rotate it by hand with another admin key`,
  ]);
  expect(lifecycleWarnings({ desired, live: keys, selfKey: ADMIN, apiUrl: 'x', now: NOW, withinMs: 3 * DAY })).toHaveLength(1);
});

test('retirement names: parsed back, deadline is the last active day', () => {
  expect(parseRetiring(retiringDescription('CI uploader (prod)', '2026-12-01', '2026-12-08'))).toEqual({ description: 'CI uploader (prod)', rotatedOn: '2026-12-01', offAfter: '2026-12-08' });
  expect(parseRetiring('CI uploader')).toBeUndefined();
  expect(pastDeadline('2026-12-08', new Date('2026-12-08T23:59:59Z'))).toBe(false);
  expect(pastDeadline('2026-12-08', new Date('2026-12-09T00:00:00Z'))).toBe(true);
});

test.each([
  ['2027-03-01', '2027-03-01T00:00:00.000Z'],
  ['2027-03-01T12:30:00Z', '2027-03-01T12:30:00.000Z'],
  ['2027-03-01T12:30:00', '2027-03-01T12:30:00.000Z'],
  ['2027-03-01T12:30:00+02:00', '2027-03-01T10:30:00.000Z'],
  ['2027-02-30', undefined],
  ['tomorrow', undefined],
  ['2027-3-1', undefined],
])('expires %s parses to %s', (text, iso) => {
  expect(parseExpires(text)).toBe(iso);
});

test('a rotate change round-trips through the plan file, and an edited one is refused', () => {
  const plan = buildPlan([planProject({ desired: project([rotating()]), live: [ADMIN, key('u1', 'ci')], selfKey: ADMIN, apiUrl: 'x', now: NOW })]);
  const text = planToJson(plan);
  expect(parsePlanFile(text, 'p.json')).toEqual(plan);
  expect(() => parsePlanFile(text.replace('"off_after": "2026-12-17"', '"off_after": "2026-12-31"'), 'p.json')).toThrow(/rotation's after.description/);
  const deact = buildPlan([planProject({ desired: project([rotating()]), live: [ADMIN, key('u1', RETIRED), key('u2', 'ci', FRESH)], selfKey: ADMIN, apiUrl: 'x', now: new Date('2026-12-18T00:00:00Z') })]);
  expect(parsePlanFile(planToJson(deact), 'p.json')).toEqual(deact);
});

describe('apply of a rotation (in-memory fake)', () => {
  const opts = (secrets: string[]) => ({ bulkMax: 100, parallelism: 4, onEvent: () => undefined, onSecret: (s: { secret: string }) => void secrets.push(s.secret) });

  test('renames first, then creates the successor with the same permissions, and hands over its secret', async () => {
    const api = new FakeKeysApi('demo', [ADMIN, key('u1', 'ci')]);
    const plan = planProject({ desired: project([rotating()]), live: [...api.keys.values()], selfKey: ADMIN, apiUrl: 'x', now: NOW });
    const secrets: string[] = [];
    const result = await applyProjectPlan(api, plan, opts(secrets));
    expect(result.failed).toBeUndefined();
    expect(api.calls.filter((c) => !c.startsWith('list'))).toEqual([expect.stringMatching(/^update u1/), expect.stringMatching(/^create/)]);
    const successor = [...api.keys.values()].find((k) => k.description === 'ci')!;
    expect([...successor.permissions].sort()).toEqual(['FILE_UPLOAD', 'OBJECTS_LIST']);
    expect(secrets).toEqual([`secret-${successor.uuid}`]);
    expect(api.keys.get('u1')).toMatchObject({ description: RETIRED, active: true });
  });

  test('the same plan applied after a run killed between rename and create only creates; applied again, does nothing', async () => {
    const api = new FakeKeysApi('demo', [ADMIN, key('u1', 'ci')]);
    const plan = planProject({ desired: project([rotating()]), live: [...api.keys.values()], selfKey: ADMIN, apiUrl: 'x', now: NOW });
    api.keys.set('u1', { ...api.keys.get('u1')!, description: RETIRED });
    await applyProjectPlan(api, plan, opts([]));
    expect(api.calls.filter((c) => c.startsWith('update'))).toEqual([]);
    expect([...api.keys.values()].filter((k) => k.description === 'ci')).toHaveLength(1);
    const again = await applyProjectPlan(api, plan, opts([]));
    expect(again.failed).toBeUndefined();
    expect([...api.keys.values()].filter((k) => k.description === 'ci')).toHaveLength(1);
  });
});

test('rollback steps: reactivate, move the successor out of the way, restore the name, then switch the successor off', () => {
  const entries = [rotating()];
  const keys = [ADMIN, key('u1', RETIRED, OLD, false), key('u2', 'ci', FRESH)];
  const rb = planRollback(entries[0]!, entries, keys, NOW);
  expect('changes' in rb && rb.changes.map(brief)).toEqual([
    'activate u1',
    'update u2 "ci"->"ci (rolled back 2026-12-10)"',
    `update u1 "${RETIRED}"->"ci"`,
    'deactivate u2 (declared-inactive)',
  ]);
  // Killed after step 2: finished by running it again.
  const mid = [ADMIN, key('u1', RETIRED), key('u2', 'ci (rolled back 2026-12-10)', FRESH)];
  const rest = planRollback(entries[0]!, entries, mid, NOW);
  expect('changes' in rest && rest.changes.map(brief)).toEqual([`update u1 "${RETIRED}"->"ci"`, 'deactivate u2 (declared-inactive)']);
  // Killed after step 3.
  const late = planRollback(entries[0]!, entries, [ADMIN, key('u1', 'ci'), key('u2', 'ci (rolled back 2026-12-10)', FRESH)], NOW);
  expect('changes' in late && late.changes.map(brief)).toEqual(['deactivate u2 (declared-inactive)']);
  expect(planRollback(entries[0]!, entries, [ADMIN, key('u1', 'ci')], NOW)).toEqual({ nothing: expect.stringContaining('nothing to roll back') });
});

test('a saved plan with a rotation applies at the clock it was made for, and is refused at another', () => {
  const desired = project([rotating()]);
  const keys = [ADMIN, key('u1', 'ci')];
  const saved = planProject({ desired, live: keys, selfKey: ADMIN, apiUrl: 'x', now: NOW });
  expect(savedProjectProblems({ saved, desired, live: keys, selfKey: ADMIN, now: NOW })).toEqual([]);
  // A day later the retirement would carry other dates: not what was reviewed.
  expect(savedProjectProblems({ saved, desired, live: keys, selfKey: ADMIN, now: new Date(NOW.getTime() + DAY) })).toEqual([
    expect.stringContaining('the plan\'s change "rotate "ci" (uuid u1)" is not what the manifest asks for'),
  ]);
  // Killed after the rename: the rest of the saved rotation (its create) is still what the manifest asks for.
  const renamed = [ADMIN, key('u1', RETIRED)];
  expect(savedProjectProblems({ saved, desired, live: renamed, selfKey: ADMIN, now: NOW })).toEqual([]);
});
