/** Output safety and the risk table: user text cannot break the comment or the terminal; risky grants are flagged. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PERMISSIONS } from '../../src/permissions';
import { buildPlan, planProject } from '../../src/reconcile';
import { escapeMarkdown, isRisky, renderMarkdown, renderText, riskReason, RISKY_PERMISSIONS } from '../../src/render';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

describe('escapeMarkdown', () => {
  test.each([
    { input: 'plain words', expected: 'plain words' },
    { input: 'a | b', expected: 'a \\| b' },
    { input: '<img src=x onerror=alert(1)>', expected: '&lt;img src=x onerror=alert\\(1\\)\\>' },
    { input: 'use `code`', expected: 'use \\`code\\`' },
    { input: '*bold* _it_ ~~s~~', expected: '\\*bold\\* \\_it\\_ \\~\\~s\\~\\~' },
    { input: '[link](http://x)', expected: '\\[link\\]\\(http://x\\)' },
    { input: '# heading', expected: '\\# heading' },
    { input: 'ping @octocat', expected: 'ping @&#8203;octocat' },
    { input: 'a &amp; b', expected: 'a &amp;amp; b' },
    { input: 'two\nlines\r\nhere', expected: 'two lines here' },
    { input: 'back\\slash', expected: 'back\\\\slash' },
  ])('escapes $input', ({ input, expected }) => {
    expect(escapeMarkdown(input)).toBe(expected);
  });
});

describe('risky permissions', () => {
  test.each(['ACCESS_MANAGE', 'ACCESS_READ', 'CONFIG_CHANGE', 'FILE_DELETE', 'DIR_DELETE', 'OBJECTS_SHARE_MANAGE'])('%s is risky', (p) => {
    expect(isRisky(p)).toBe(true);
  });
  test.each(['OBJECTS_LIST', 'OBJECTS_FETCH', 'FILE_UPLOAD', 'LABELS_LIST'])('%s is not risky', (p) => {
    expect(isRisky(p)).toBe(false);
  });
  test('every *_DELETE permission is risky, even one Scaleflex adds later', () => {
    for (const p of PERMISSIONS.filter((x) => x.endsWith('_DELETE'))) expect(isRisky(p)).toBe(true);
    expect(riskReason('LABEL_DELETE')).toBe('deletes data');
  });
  test('the README\'s "Risky permissions" table is exactly the table in src/render/risk.ts', () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Risky permissions'), readme.indexOf('### Plan JSON format'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(RISKY_PERMISSIONS);
  });
  test('the table names only real permissions', () => {
    for (const p of Object.keys(RISKY_PERMISSIONS)) expect(PERMISSIONS).toContain(p);
  });

  const plan = buildPlan([
    planProject({
      desired: project([entry('grows', ['ACCESS_READ', 'OBJECTS_LIST']), entry('shrinks', ['OBJECTS_LIST'])]),
      live: [ADMIN, live('u1', 'grows'), live('u2', 'shrinks', ['CONFIG_CHANGE', 'OBJECTS_LIST'])],
      selfKey: ADMIN,
      apiUrl: 'http://x',
    }),
  ]);
  test('a risky grant is flagged in the warning and next to the permission', () => {
    const md = renderMarkdown(plan);
    expect(md).toContain('> - `ACCESS_READ` to “grows” in `demo`');
    expect(md).toContain('  - ➕ `ACCESS_READ` ⚠️ **risky:**');
  });
  test('removing a risky permission is not flagged', () => {
    const md = renderMarkdown(plan);
    expect(md).toContain('  - ➖ `CONFIG_CHANGE`\n');
    expect(md).toContain('This plan grants 1 risky permission:');
  });
  test('text output shows each permission on its own line with + or -', () => {
    const text = renderText(plan, { color: false });
    expect(text).toContain('        + ACCESS_READ\n');
    expect(text).toContain('        - CONFIG_CHANGE\n');
    expect(text.trimEnd().endsWith('Plan: 0 to create, 2 to change, 0 to deactivate.')).toBe(true);
  });
});

describe('text output', () => {
  test('control characters in a description cannot reach the terminal', () => {
    const plan = buildPlan([
      planProject({ desired: project([entry('evil \u001b[2J\u0007 name')]), live: [ADMIN], selfKey: ADMIN, apiUrl: 'http://x' }),
    ]);
    const text = renderText(plan, { color: false });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(text).toContain('+ key "evil \\u001b[2J\\u0007 name"');
  });
});

describe('Markdown size', () => {
  const many = (n: number, token = 'demo') =>
    planProject({
      desired: project(Array.from({ length: n }, (_, i) => entry(`key ${i}`, ['ACCESS_READ', 'FILE_UPLOAD', 'OBJECTS_LIST'])), { token }),
      live: [ADMIN],
      selfKey: ADMIN,
      apiUrl: 'http://x',
    });

  test('a plan of 5,000 new keys still fits in one GitHub comment and says what it left out', () => {
    const md = renderMarkdown(buildPlan([many(5000), many(10, 'other')]));
    expect(md.length).toBeLessThanOrEqual(60_000);
    expect(md).toMatch(/- … \d+ more keys not shown here/);
    expect(md).toMatch(/_This comment leaves out \d+ keys to stay within GitHub's size limit/);
    expect(md.split('<details>').length).toBe(md.split('</details>').length);
    expect(md).toContain('| `other` | 10 | 0 | 0 |');
  });

  test('a plan that fits is not cut', () => {
    const md = renderMarkdown(buildPlan([many(30)]));
    expect(md).not.toContain('not shown here');
    expect(md.match(/➕ \*\*Create\*\*/g)).toHaveLength(30);
  });
});
