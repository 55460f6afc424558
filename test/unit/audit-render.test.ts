/**
 * The audit model and its five renderers: golden files for every format (test/golden/audit/*), and the facts
 * a reviewer relies on — risk tiers, managed vs unmanaged, drift, rotation and expiry status, summary counts, CSV formula neutralising,
 * HTML escaping and self-containment, SARIF validity (against the SARIF 2.1.0 JSON Schema) and stable
 * fingerprints. To accept an intended change: `UPDATE_GOLDEN=1 npx jest test/unit/audit-render.test.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { buildAudit, lifecyclePhrases, MATRIX_PERMISSIONS, PERMISSION_AREAS, riskTier } from '../../src/audit';
import { PERMISSIONS } from '../../src/permissions';
import { renderAuditCsv, AUDIT_CSV_COLUMNS } from '../../src/render/audit-csv';
import { renderAuditHtml } from '../../src/render/audit-html';
import { renderAuditJson } from '../../src/render/audit-json';
import { renderAuditMarkdown } from '../../src/render/audit-markdown';
import { renderAuditSarif } from '../../src/render/audit-sarif';
import { fixture, LIVE, NOW } from './audit-fixture';

const GOLDEN = path.join(__dirname, '..', 'golden', 'audit');

function golden(file: string, actual: string): void {
  const full = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(full, actual);
  if (!fs.existsSync(full)) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(fs.readFileSync(full, 'utf8'));
}

const { desired, rules } = fixture();
const report = buildAudit({ live: LIVE, desired, rules, now: NOW, olderThanDays: 365 });
const bare = buildAudit({ live: LIVE, now: NOW });

describe('golden audit renderings', () => {
  test('markdown matches its golden file', () => golden('account.md', renderAuditMarkdown(report)));
  test('html matches its golden file', () => golden('account.html', renderAuditHtml(report)));
  test('csv matches its golden file', () => golden('account.csv', renderAuditCsv(report)));
  test('csv with --findings matches its golden file', () => golden('account.findings.csv', renderAuditCsv(report, { findings: true })));
  test('json matches its golden file', () => golden('account.json', renderAuditJson(report)));
  test('sarif matches its golden file', () => golden('account.sarif', renderAuditSarif(report, { version: '0.0.0-test' })));
  test('markdown without a manifest matches its golden file', () => golden('live-only.md', renderAuditMarkdown(bare)));
});

test('the matrix groups all 31 permissions by area, each exactly once', () => {
  expect([...MATRIX_PERMISSIONS].sort()).toEqual([...PERMISSIONS].sort());
  expect(PERMISSION_AREAS.map((a) => a.area)).toEqual(['objects', 'files', 'directories', 'configuration', 'collections', 'labels', 'sharing', 'approval', 'access']);
});

test.each([
  { permissions: ['ACCESS_MANAGE', 'OBJECTS_LIST'], tier: 'critical' },
  { permissions: ['FILE_DELETE'], tier: 'high' },
  { permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'], tier: 'write' },
  { permissions: ['OBJECTS_LIST', 'LABELS_LIST'], tier: 'read' },
  { permissions: ['FILE_TELEPORT'], tier: 'write' },
])('permissions $permissions are risk tier $tier', ({ permissions, tier }) => {
  expect(riskTier(permissions)).toBe(tier);
});

test('the audit tells managed from unmanaged keys, finds drift, missing entries and the summary counts', () => {
  const demo = report.projects.find((p) => p.token === 'demo')!;
  const by = (d: string) => demo.keys.find((k) => k.description === d)!;
  expect(by('Deployer')).toMatchObject({ managed: true, owner: '@platform', risk: 'critical', drift: [] });
  expect(by('uploader')).toMatchObject({ managed: true, owner: '@ci', risk: 'high' });
  expect(by('uploader').drift).toEqual(['renamed: live "uploader", manifest "CI uploader"', '+FILE_DELETE (live key holds it, manifest does not)']);
  expect(by('Gallery reader').drift).toEqual(['inactive (manifest: active)']);
  expect(by('=HYPERLINK("http://x")')).toMatchObject({ managed: false, risk: 'read' });
  expect(demo.missing).toEqual(['Not yet created']);
  expect(report.summary).toMatchObject({ projects: 2, keys: 10, activeKeys: 8, accessManage: 2, unmanagedActive: 2, old: 2, inactive: 2, drifted: 2 });
  // forbid (shop Admin), requireOwner x2 (Gallery reader, Not yet created), maxAge (Deployer, the =HYPERLINK key).
  expect(report.projects.flatMap((p) => p.findings.map((f) => `${f.severity} ${f.rule} ${f.project}/${f.description}`)).sort()).toEqual([
    'error forbid shop/Admin',
    'error maxAge demo/=HYPERLINK("http://x")',
    'error maxAge demo/Deployer',
    'warning requireOwner demo/Gallery reader',
    'warning requireOwner demo/Not yet created',
  ]);
});

test('each key shows its rotation and expiry status as plan judges it, and the summary counts them', () => {
  const shop = report.projects.find((p) => p.token === 'shop')!;
  const by = (d: string) => shop.keys.find((k) => k.description === d)!;
  expect(by('Admin').lifecycle).toEqual({ rotation: { dueAt: '2026-05-30T09:00:00.000Z', state: 'overdue' }, expiry: { at: '2026-12-10T00:00:00.000Z', state: 'soon' } });
  expect(by('Feed sync').lifecycle).toEqual({ rotation: { dueAt: '2026-12-12T09:00:00.000Z', state: 'soon' } });
  expect(by('Campaign 2026').lifecycle).toEqual({ expiry: { at: '2026-11-30T00:00:00.000Z', state: 'expired' } });
  // The key being rotated out belongs to its entry (not unmanaged) and does not repeat the entry's findings.
  const retiring = by('Feed sync (rotated 2026-11-28, off after 2026-11-30)');
  expect(retiring).toMatchObject({ managed: true, owner: 'ops', findings: 0, lifecycle: { retiring: { rotatedOn: '2026-11-28', offAfter: '2026-11-30', pastDeadline: true } } });
  expect(lifecyclePhrases(retiring)).toEqual(['retiring: past its deadline 2026-11-30, the next plan deactivates it']);
  expect(by('Hand-made').lifecycle).toEqual({});
  expect(report.summary).toMatchObject({ rotationOverdue: 1, expired: 1, retiring: 1, dueSoon: 2 });
  expect(report.warnWithinDays).toBe(14);

  // On the deadline day the retiring key is still in its overlap; with no warning window nothing is "soon".
  const earlier = buildAudit({ live: LIVE, desired, now: new Date('2026-11-30T12:00:00Z'), warnWithinMs: 0 });
  const shop2 = earlier.projects.find((p) => p.token === 'shop')!.keys;
  expect(shop2.map((k) => [k.description, lifecyclePhrases(k)])).toEqual([
    ['Admin', ['rotation overdue (due 2026-05-30T09:00:00Z)', 'expires 2026-12-10']],
    ['Campaign 2026', ['expired 2026-11-30']],
    ['Feed sync', ['rotation due 2026-12-12T09:00:00Z']],
    ['Feed sync (rotated 2026-11-28, off after 2026-11-30)', ['retiring: off after 2026-11-30']],
    ['Hand-made', []],
  ]);
  expect(earlier.summary).toMatchObject({ rotationOverdue: 1, expired: 1, retiring: 1, dueSoon: 0 });
  // Without a manifest there is no rotation or expiry to report.
  expect(bare.projects.flatMap((p) => p.keys).every((k) => lifecyclePhrases(k).length === 0)).toBe(true);
});

test('which entry owns a key is what the reconciler matcher says, also for exact twins and an ambiguous match', () => {
  const { parseManifestText } = require('../../src/manifest');
  const state = parseManifestText(
    'version: 1\nprojects:\n  - token: t\n    keys:\n      - description: twin\n        permissions: [OBJECTS_LIST]\n        owner: "@a"\n' +
      '      - description: dup\n        permissions: [OBJECTS_LIST]\n        owner: "@b"\n      - description: renamed\n        formerDescriptions: [old]\n        permissions: [OBJECTS_LIST]\n        owner: "@c"\n',
    'm.yaml',
  ).state;
  const k = (n: number, description: string, createdAt: string, permissions = ['OBJECTS_LIST']) => ({
    uuid: `00000000-0000-4000-8000-00000000000${n}`, description, permissions, active: true, createdAt, secretPreview: '****',
  });
  // Two exact twins (a race's leftovers: same content, seconds apart), two keys "dup" that are not twins (the
  // permissions differ: an ambiguity, so the plan is refused), a renamed key, and a key no entry claims.
  const live = [
    k(1, 'twin', '2026-01-01T00:00:00Z'), k(2, 'twin', '2026-01-01T00:00:05Z'),
    k(3, 'dup', '2026-01-01T00:00:00Z'), k(4, 'dup', '2026-02-01T00:00:00Z', ['FILE_UPLOAD']),
    k(5, 'old', '2026-01-01T00:00:00Z'), k(6, 'stray', '2026-01-01T00:00:00Z'),
  ];
  const audit = buildAudit({ live: new Map([['t', live]]), desired: state, now: NOW });
  const owners = Object.fromEntries(audit.projects[0]!.keys.map((key) => [key.uuid.slice(-1), [key.managed, key.owner ?? null]]));
  expect(owners).toEqual({ 1: [true, '@a'], 2: [true, '@a'], 3: [true, '@b'], 4: [true, '@b'], 5: [true, '@c'], 6: [false, null] });
  expect(audit.projects[0]!.driftError).toMatch(/ambiguous match/);
});

test('a policy applies to live keys even without a manifest', () => {
  const live = buildAudit({ live: LIVE, rules, now: NOW });
  expect(live.withManifest).toBe(false);
  expect(live.summary.unmanagedActive).toBe(0);
  expect(live.projects.flatMap((p) => p.findings).filter((f) => f.rule === 'forbid').map((f) => f.description)).toEqual(['Admin']);
});

test('the CSV has the documented header, one row per key, and neutralises formula cells', () => {
  const csv = renderAuditCsv(report);
  const lines = csv.trimEnd().split('\n');
  expect(lines[0]).toBe(AUDIT_CSV_COLUMNS.join(','));
  expect(lines).toHaveLength(1 + 10);
  expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
  expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  expect(readme).toContain(AUDIT_CSV_COLUMNS.join(','));
});

test('the HTML page is self-contained, escapes user text and marks up the table accessibly', () => {
  const html = renderAuditHtml(report);
  expect(html).not.toMatch(/<script>alert/);
  expect(html).toContain('old &lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
  expect(html).not.toMatch(/@import|url\(/);
  expect(html).toContain("default-src 'none'");
  expect(html).toMatch(/<caption>/);
  expect(html).toContain('<th scope="colgroup" class="a" colspan="10" title="files">files</th>');
  expect(html.match(/<th scope="row">/g)!.length).toBeGreaterThanOrEqual(10);
});

test('the SARIF log is valid SARIF 2.1.0, anchored at manifest lines, with fingerprints that survive moved lines', () => {
  const schema = JSON.parse(fs.readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
  // The SARIF 2.1.0 schema is written in JSON Schema draft-04, with one pattern that only parses without the u flag.
  const ajv = new AjvDraft04({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const log = JSON.parse(renderAuditSarif(report, { version: '1.2.3' }));
  expect(validate(log) ? [] : validate.errors).toEqual([]);
  const forbid = log.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'scaleflex-keys/forbid');
  expect(forbid.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'scaleflex-keys.yaml' }, region: { startLine: 26, startColumn: 9 } });

  // The same findings with the manifest shifted down by two lines keep their fingerprints.
  const { parseManifestText } = require('../../src/manifest');
  const { parsePolicyText } = require('../../src/policy');
  const { MANIFEST } = require('./audit-fixture');
  const shifted = `# audited\n# keys\n${MANIFEST}`;
  const again = buildAudit({ live: LIVE, desired: parseManifestText(shifted, 'scaleflex-keys.yaml').state, rules: parsePolicyText(shifted, 'scaleflex-keys.yaml', 'manifest'), now: NOW });
  const prints = (l: { runs: { results: { partialFingerprints: object }[] }[] }) => l.runs[0]!.results.map((r) => r.partialFingerprints);
  const log2 = JSON.parse(renderAuditSarif(again, { version: '1.2.3' }));
  expect(prints(log2)).toEqual(prints(log));
  expect(new Set(prints(log).map((p) => JSON.stringify(p))).size).toBe(log.runs[0].results.length);
});
