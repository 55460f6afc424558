/**
 * `plan --format github` annotations: anchored at the manifest line of each entry (as the reconciler's matcher
 * pairs changes with entries: uuid pin, description, former description, a rotation's retiring key), a warning per risky grant, a notice per deactivation, policy findings by
 * severity, escaped per GitHub's rules, with the construct path for CDKTF entries.
 */
import { parseManifestText } from '../../src/manifest';
import type { DesiredState, LiveKey } from '../../src/model';
import { evaluatePolicy, parsePolicyText } from '../../src/policy';
import { planProject } from '../../src/reconcile/diff';
import { buildPlan } from '../../src/reconcile/build';
import { changeEntryLookup, matchEntries, planEntryLookup } from '../../src/reconcile/match';
import { escapeData, escapeProperty, renderAnnotations } from '../../src/render/annotations';

const TEXT = `version: 1
policy:
  - forbid: [ACCESS_MANAGE]
projects:
  - token: demo
    keys:
      - description: new admin
        permissions: [ACCESS_MANAGE, OBJECTS_LIST]
      - description: renamed
        formerDescriptions: [old name]
        permissions: [OBJECTS_LIST, FILE_DELETE]
      - description: retired
        permissions: [OBJECTS_LIST]
        active: false
`;

const live = (uuid: string, description: string, permissions: string[], active = true): LiveKey => ({
  uuid, description, permissions: permissions as LiveKey['permissions'], active, createdAt: '2026-01-01T00:00:00Z', secretPreview: '****0000',
});
const SELF = live('00000000-0000-4000-8000-00000000000f', 'admin', ['ACCESS_MANAGE', 'ACCESS_READ']);
const LIVE = [
  SELF,
  live('00000000-0000-4000-8000-000000000001', 'old name', ['OBJECTS_LIST']),
  live('00000000-0000-4000-8000-000000000002', 'retired', ['OBJECTS_LIST']),
  live('00000000-0000-4000-8000-000000000003', 'stray', ['OBJECTS_LIST']),
];

function setup(): { desired: DesiredState; text: string } {
  const desired = parseManifestText(TEXT, 'keys.yaml').state!;
  return { desired, text: TEXT };
}

test('each change and finding is annotated at its entry line with the right level', () => {
  const { desired } = setup();
  const plan = buildPlan([planProject({ desired: desired.projects[0]!, live: LIVE, selfKey: SELF, apiUrl: 'http://x' })]);
  const findings = evaluatePolicy(desired, parsePolicyText(TEXT, 'keys.yaml', 'manifest'), { now: new Date() });
  const lines = renderAnnotations(plan, { desired, findings, entryOf: planEntryLookup(desired.projects, new Map([['demo', LIVE]])) }).trimEnd().split('\n');
  expect(lines).toEqual([
    '::warning file=keys.yaml,line=7,col=9,title=Risky grant%3A ACCESS_MANAGE::new key "new admin" in demo is granted ACCESS_MANAGE: creates, changes and deactivates API keys and reads their secrets: full control of the project',
    '::warning file=keys.yaml,line=9,col=9,title=Risky grant%3A FILE_DELETE::key "renamed" in demo is granted FILE_DELETE: deletes assets',
    '::notice file=keys.yaml,line=12,col=9,title=Key deactivated::key "retired" in demo (uuid 00000000-0000-4000-8000-000000000002) will be deactivated: the manifest says active: false',
    '::notice file=keys.yaml,line=5,col=5,title=Key deactivated::key "stray" in demo (uuid 00000000-0000-4000-8000-000000000003) will be deactivated: no manifest entry declares it (unmanaged: deactivate)',
    expect.stringMatching(/^::error file=keys\.yaml,line=7,col=9,title=Policy%3A forbid \[ACCESS_MANAGE\]::policy rule forbid \[ACCESS_MANAGE\]: key "new admin" holds ACCESS_MANAGE/),
  ]);
});

test('a pinned entry is found by uuid, and a CDKTF entry names its construct path', () => {
  const { desired } = setup();
  const project = {
    ...desired.projects[0]!,
    keys: [{ description: 'pinned', permissions: [], active: true, formerDescriptions: [], uuid: '00000000-0000-4000-8000-000000000001', source: { file: 'cdk.tf.json', line: 1, column: 1, construct: 'stack/demo/pinned' } }],
  };
  const plan = buildPlan([planProject({ desired: { ...project, keys: [{ ...project.keys[0]!, permissions: ['FILE_DELETE'] }] }, live: LIVE, selfKey: SELF, apiUrl: 'http://x' })]);
  const change = plan.projects[0]!.changes.find((c) => c.kind === 'update')!;
  expect(changeEntryLookup(matchEntries(project.keys, LIVE))(change)?.description).toBe('pinned');
  const out = renderAnnotations(plan, { desired: { projects: [project] }, entryOf: planEntryLookup([project], new Map([['demo', LIVE]])) });
  expect(out).toContain('::warning file=cdk.tf.json,line=1,col=1,title=Risky grant%3A FILE_DELETE::key "pinned" in demo is granted FILE_DELETE: deletes assets (construct stack/demo/pinned)');
});

test('a key a rotation is retiring is annotated at its entry line when its overlap is over', () => {
  const text = 'version: 1\nprojects:\n  - token: demo\n    keys:\n      - description: uploader\n        permissions: [OBJECTS_LIST]\n        rotate: { every: 90d, overlap: 7d }\n';
  const desired = parseManifestText(text, 'keys.yaml').state!;
  const live = [
    SELF,
    { ...LIVE[1]!, uuid: '00000000-0000-4000-8000-000000000011', description: 'uploader', createdAt: '2026-03-01T00:00:00Z' },
    { ...LIVE[1]!, uuid: '00000000-0000-4000-8000-000000000012', description: 'uploader (rotated 2026-03-01, off after 2026-03-08)' },
  ];
  const plan = buildPlan([planProject({ desired: desired.projects[0]!, live, selfKey: SELF, apiUrl: 'http://x', now: new Date('2026-03-10T00:00:00Z') })]);
  const out = renderAnnotations(plan, { desired, entryOf: planEntryLookup(desired.projects, new Map([['demo', live]])) });
  expect(out).toBe(
    '::notice file=keys.yaml,line=5,col=9,title=Key deactivated::key "uploader (rotated 2026-03-01, off after 2026-03-08)" in demo (uuid 00000000-0000-4000-8000-000000000012) will be deactivated: rotated out, its overlap is over\n',
  );
});

test('workflow command data and properties are escaped as GitHub requires', () => {
  expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext');
  expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25');
});
