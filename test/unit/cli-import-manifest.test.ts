/** Unit tests of import's pure core: live keys -> manifest YAML (sorted, commented, pinned, no secrets). */
import { parse } from 'yaml';
import { importManifest, mergeImport } from '../../src/manifest/dump';
import type { LiveKey, Permission } from '../../src/model';

function key(uuid: string, description: string, permissions: Permission[], active = true, createdAt = '2026-01-01T00:00:00.000Z'): LiveKey {
  return { uuid, description, permissions, active, createdAt, secretPreview: '****abcd' };
}

const admin = key('00000000-0000-4000-8000-000000000000', 'bootstrap admin', ['ACCESS_READ', 'ACCESS_MANAGE', 'OBJECTS_LIST'], true, '2025-12-01T00:00:00.000Z');

describe('importManifest', () => {
  test('writes keys sorted by description with sorted permissions, inactive keys marked, no uuid unless shared', () => {
    const text = importManifest([
      { token: 'demo', selfUuid: admin.uuid, keys: [key('u-2', 'zeta', ['OBJECTS_LIST', 'FILE_UPLOAD']), admin, key('u-3', 'alpha', ['OBJECTS_FETCH'], false)] },
    ]);
    const doc = parse(text);
    expect(doc).toEqual({
      version: 1,
      projects: [
        {
          token: 'demo',
          unmanaged: 'deactivate',
          keys: [
            { description: 'alpha', permissions: ['OBJECTS_FETCH'], active: false },
            { description: 'bootstrap admin', permissions: ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST'] },
            { description: 'zeta', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'] },
          ],
        },
      ],
    });
    expect(text).toContain('# uuid u-3, created 2026-01-01T00:00:00.000Z');
    expect(text).toContain(`# uuid ${admin.uuid}, created 2025-12-01T00:00:00.000Z — the admin key this import ran with`);
    expect(text).toContain('permissions: [FILE_UPLOAD, OBJECTS_LIST]');
  });

  test('pins every key whose description another key shares, ordered by creation date', () => {
    const doc = parse(
      importManifest([
        { token: 'p', keys: [key('b', 'test', ['OBJECTS_LIST'], true, '2026-02-01T00:00:00Z'), key('a', 'test', ['OBJECTS_FETCH'], true, '2026-03-01T00:00:00Z'), key('c', 'other', ['OBJECTS_LIST'])] },
      ]),
    );
    expect(doc.projects[0].keys).toEqual([
      { description: 'other', permissions: ['OBJECTS_LIST'] },
      { description: 'test', permissions: ['OBJECTS_LIST'], uuid: 'b' },
      { description: 'test', permissions: ['OBJECTS_FETCH'], uuid: 'a' },
    ]);
  });

  test('pins a key whose description only a key that cannot be declared shares', () => {
    const doc = parse(importManifest([{ token: 'p', keys: [key('a', 'test', ['OBJECTS_LIST']), key('b', 'test', [], false)] }]));
    expect(doc.projects[0].keys).toEqual([{ description: 'test', permissions: ['OBJECTS_LIST'], uuid: 'a' }]);
  });

  test('sorts projects by token', () => {
    const doc = parse(importManifest([{ token: 'zz', keys: [] }, { token: 'aa', keys: [] }]));
    expect(doc.projects.map((p: { token: string }) => p.token)).toEqual(['aa', 'zz']);
  });

  test.each([
    { name: 'a key without permissions', bad: key('x', 'empty', [], true), why: 'has no permissions' },
    { name: 'a description with trailing whitespace', bad: key('x', 'spaced ', ['OBJECTS_LIST'], true), why: 'leading or trailing whitespace' },
  ])('lists $name in a comment and ignores unmanaged keys when it is active', ({ bad, why }) => {
    const text = importManifest([{ token: 'p', keys: [bad, key('y', 'fine', ['OBJECTS_LIST'])] }]);
    const doc = parse(text);
    expect(doc.projects[0].unmanaged).toBe('ignore');
    expect(doc.projects[0].keys).toEqual([{ description: 'fine', permissions: ['OBJECTS_LIST'] }]);
    expect(text).toContain(why);
    expect(text).toContain('uuid x');
  });

  test('an inactive key that cannot be declared leaves unmanaged at deactivate (it needs nothing)', () => {
    const doc = parse(importManifest([{ token: 'p', keys: [key('x', 'empty', [], false)] }]));
    expect(doc.projects[0].unmanaged).toBe('deactivate');
  });

  test('quotes descriptions YAML would otherwise misread', () => {
    const tricky = ['yes', 'a: b', '#hash', '- dash', '123', 'null', 'unicodé ✓', 'line\nbreak'];
    const doc = parse(importManifest([{ token: 'p', keys: tricky.map((d, i) => key(`u${i}`, d, ['OBJECTS_LIST'])) }]));
    expect(doc.projects[0].keys.map((k: { description: string }) => k.description).sort()).toEqual([...tricky].sort());
  });

  test('is deterministic whatever order the keys were listed in', () => {
    const keys = [key('1', 'b', ['OBJECTS_LIST']), key('2', 'a', ['OBJECTS_LIST']), key('3', 'c', ['OBJECTS_LIST'], false)];
    expect(importManifest([{ token: 'p', keys }])).toBe(importManifest([{ token: 'p', keys: [...keys].reverse() }]));
  });
});

describe('mergeImport', () => {
  const base = [
    '# top comment',
    'version: 1',
    'permissionSets:',
    '  read-only: [OBJECTS_LIST, OBJECTS_FETCH]',
    '  uploads: [FILE_UPLOAD]',
    'projects:',
    '  - token: other # untouched',
    '    keys: []',
    '  - token: p',
    '    unmanaged: deactivate',
    '    keys:',
    '      - description: web # the storefront',
    '        permissionSets: [read-only, uploads]',
    '      - description: gone',
    '        permissions: [OBJECTS_LIST]',
    '',
  ].join('\n');

  test('keeps the permission sets that still fit and lists only the rest as permissions', () => {
    const merged = mergeImport(base, [{ token: 'p', keys: [key('u-1', 'web', ['OBJECTS_LIST', 'OBJECTS_FETCH', 'LABELS_LIST'])] }]);
    expect(merged).toContain('      - description: web # the storefront\n        permissionSets: [read-only]\n        permissions: [LABELS_LIST]\n');
    expect(merged).not.toContain('gone');
    expect(merged).toContain('  - token: other # untouched\n    keys: []\n');
    expect(merged.startsWith('# top comment\n')).toBe(true);
  });

  test('marks a key that is inactive live as active: false, and appends live keys without an entry', () => {
    const merged = parse(
      mergeImport(base, [{ token: 'p', keys: [key('u-1', 'web', ['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_UPLOAD'], false), key('u-2', 'new', ['LABELS_LIST'])] }]),
    );
    expect(merged.projects[1].keys).toEqual([
      { description: 'web', permissionSets: ['read-only', 'uploads'], active: false },
      { description: 'new', permissions: ['LABELS_LIST'] },
    ]);
  });

  test('a project the manifest does not have is appended; unmanaged becomes ignore only when import needs it', () => {
    const merged = parse(mergeImport(base, [{ token: 'zz', keys: [key('u-3', '', [])] }]));
    expect(merged.projects.map((p: { token: string }) => p.token)).toEqual(['other', 'p', 'zz']);
    expect(merged.projects[2].unmanaged).toBe('ignore');
    expect(merged.projects[1].unmanaged).toBe('deactivate');
  });
});
