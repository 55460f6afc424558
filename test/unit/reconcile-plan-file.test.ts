/** The saved plan: stable JSON, a schema that documents it, a parser that refuses anything else, fingerprints. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PlanFileError } from '../../src/errors';
import { PERMISSIONS } from '../../src/permissions';
import { buildPlan, desiredFingerprint, liveFingerprint, parsePlanFile, planProject, planToJson, countChanges } from '../../src/reconcile';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

function samplePlan() {
  const demo = planProject({
    desired: project([
      entry('new key', ['FILE_UPLOAD']),
      entry('renamed', ['OBJECTS_LIST', 'FILE_DELETE'], { formerDescriptions: ['old name'] }),
      entry('sleepy', ['OBJECTS_LIST']),
      entry('retired', ['OBJECTS_LIST'], { active: false }),
    ]),
    live: [ADMIN, live('u1', 'old name'), live('u2', 'sleepy', ['OBJECTS_LIST'], false), live('u3', 'retired'), live('u4', 'stray')],
    selfKey: ADMIN,
    apiUrl: 'http://127.0.0.1:9/',
  });
  const other = planProject({ desired: project([], { token: 'alpha' }), live: [ADMIN], selfKey: ADMIN, apiUrl: 'http://127.0.0.1:9/' });
  return buildPlan([demo, other]);
}

describe('plan JSON', () => {
  test('projects are sorted by token and the text is stable, sorted and ends with a newline', () => {
    const plan = samplePlan();
    expect(plan.projects.map((p) => p.project)).toEqual(['alpha', 'demo']);
    const text = planToJson(plan);
    expect(text.endsWith('}\n')).toBe(true);
    const doc = JSON.parse(text);
    expect(Object.keys(doc)).toEqual(['format_version', 'projects', 'summary']);
    expect(Object.keys(doc.projects[1])).toEqual([...Object.keys(doc.projects[1])].sort());
    expect(doc.summary).toEqual({ create: 1, change: 2, deactivate: 2 });
    expect(planToJson(samplePlan())).toBe(text);
  });

  test('parsing the JSON gives back the same plan, and writing it again the same text', () => {
    const plan = samplePlan();
    const parsed = parsePlanFile(planToJson(plan), 'plan.json');
    expect(parsed).toEqual(plan);
    expect(Object.isFrozen(parsed.projects[0])).toBe(true);
    expect(planToJson(parsed)).toBe(planToJson(plan));
  });

  test('the schema lists exactly the 31 permissions', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../schemas/plan.schema.json'), 'utf8'));
    expect([...schema.$defs.permission.enum].sort()).toEqual([...PERMISSIONS].sort());
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  const valid = (): any => JSON.parse(planToJson(samplePlan()));
  test.each([
    { name: 'text that is not JSON', text: () => '{nope', error: /plan\.json: not a plan file: invalid JSON/ },
    { name: 'JSON without format_version', text: () => '{"projects": []}', error: /no format_version/ },
    { name: 'a newer format_version', text: () => JSON.stringify({ ...valid(), format_version: 3 }), error: /format_version 3 is not supported; this scaleflex-keys reads format_version 2/ },
    { name: 'an older (format 1) plan', text: () => JSON.stringify({ ...valid(), format_version: 1 }), error: /format_version 1 is not supported; this scaleflex-keys reads format_version 2/ },
    { name: 'a plan with a duplicated key', text: () => JSON.stringify(valid()).replace('"format_version":2', '"format_version":2,"format_version":2'), error: /appears twice in one object/ },
    {
      name: 'an unknown permission',
      text: () => {
        const d = valid();
        d.projects[1].changes[0].after.permissions = ['FILE_TELEPORT'];
        return JSON.stringify(d);
      },
      error: /\/projects\/1\/changes\/0\/after\/permissions\/0: must be equal to one of the allowed values/,
    },
    {
      name: 'a change kind that does not exist (there are no deletes)',
      text: () => {
        const d = valid();
        d.projects[1].changes[0].kind = 'delete';
        return JSON.stringify(d);
      },
      error: /invalid plan file/,
    },
    {
      name: 'a malformed fingerprint',
      text: () => {
        const d = valid();
        d.projects[0].live_fingerprint = 'md5:abc';
        return JSON.stringify(d);
      },
      error: /\/projects\/0\/live_fingerprint: must match pattern/,
    },
    {
      name: 'an extra field (a secret has no place in a plan)',
      text: () => {
        const d = valid();
        d.projects[1].changes[0].secret = 'x';
        return JSON.stringify(d);
      },
      error: /must NOT have additional properties/,
    },
    {
      name: 'permissions_added that do not match before and after',
      text: () => {
        const d = valid();
        const update = d.projects[1].changes.find((c: any) => c.kind === 'update');
        update.permissions_added = [];
        return JSON.stringify(d);
      },
      error: /inconsistent plan file:\n {2}\/projects\/1\/changes\/\d: permissions_added\/permissions_removed do not match/,
    },
    {
      name: 'a deactivation of an inactive key',
      text: () => {
        const d = valid();
        const c = d.projects[1].changes.find((x: any) => x.kind === 'deactivate');
        c.before.active = false;
        return JSON.stringify(d);
      },
      error: /deactivate must go from active true to false/,
    },
    {
      name: 'a summary that does not match the changes',
      text: () => {
        const d = valid();
        d.summary.create = 7;
        return JSON.stringify(d);
      },
      error: /summary does not match the changes/,
    },
  ])('refuses $name with a PlanFileError', ({ text, error }) => {
    const t = text();
    expect(() => parsePlanFile(t, 'plan.json')).toThrow(PlanFileError);
    expect(() => parsePlanFile(t, 'plan.json')).toThrow(error);
  });

  test('counts each key once, by what happens to it in the end', () => {
    expect(countChanges(samplePlan())).toEqual({ create: 1, change: 2, deactivate: 2 });
  });
});

describe('fingerprints', () => {
  const keys = [live('u1', 'a', ['OBJECTS_LIST', 'FILE_UPLOAD']), live('u2', 'b')];
  test('the live fingerprint ignores listing order, permission order, created_at and previews', () => {
    const shuffled = [{ ...keys[1]!, createdAt: '1999-01-01T00:00:00Z', secretPreview: '****zzzz' }, { ...keys[0]!, permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'] as const }];
    expect(liveFingerprint(shuffled as never)).toBe(liveFingerprint(keys));
  });
  test.each([
    { name: 'a description', change: { description: 'c' } },
    { name: 'a permission', change: { permissions: ['OBJECTS_LIST', 'FILE_DELETE'] } },
    { name: 'the active flag', change: { active: false } },
  ])('the live fingerprint changes with $name', ({ change }) => {
    expect(liveFingerprint([{ ...keys[0]!, ...change } as never, keys[1]!])).not.toBe(liveFingerprint(keys));
  });
  test('the live fingerprint changes when a key appears', () => {
    expect(liveFingerprint([...keys, live('u3', 'c')])).not.toBe(liveFingerprint(keys));
  });
  test('the desired fingerprint ignores entry order and source positions but not content', () => {
    const a = project([entry('x', ['OBJECTS_LIST'], { source: { file: 'a', line: 1, column: 1 } }), entry('y')]);
    const b = project([entry('y'), entry('x', ['OBJECTS_LIST'], { source: { file: 'b', line: 9, column: 9 } })]);
    expect(desiredFingerprint(a)).toBe(desiredFingerprint(b));
    expect(desiredFingerprint(project([entry('y'), entry('x', ['FILE_UPLOAD'])]))).not.toBe(desiredFingerprint(a));
    expect(desiredFingerprint({ ...a, unmanaged: 'ignore' })).not.toBe(desiredFingerprint(a));
  });
});
