/**
 * Drift vs intent: every change of a PR's plan labelled against the target branch's manifest planned on the same
 * live keys, and the labelled plan's golden renderings (test/golden/audit/labelled-plan.{txt,md,json}).
 * `UPDATE_GOLDEN=1 npx jest test/unit/audit-labels.test.ts` accepts an intended change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { labelChanges, policyChanges } from '../../src/audit';
import { parseManifestText } from '../../src/manifest';
import type { LiveKey } from '../../src/model';
import { parsePolicyText } from '../../src/policy';
import { buildPlan } from '../../src/reconcile/build';
import { planProject } from '../../src/reconcile/diff';
import { planToDocument } from '../../src/reconcile/plan-file';
import { labelPlanDocument, renderLabelledMarkdown, renderLabelledText } from '../../src/render/labels';

const GOLDEN = path.join(__dirname, '..', 'golden', 'audit');
function golden(file: string, actual: string): void {
  const full = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(full, actual);
  expect(actual).toBe(fs.readFileSync(full, 'utf8'));
}

const manifest = (policy: string, keys: string) => `version: 1\n${policy}projects:\n  - token: demo\n    keys:\n${keys}`;
const k = (d: string, perms: string) => `      - description: ${d}\n        permissions: [${perms}]\n`;

const BASE = manifest('', k('A', 'OBJECTS_LIST') + k('B', 'OBJECTS_LIST, FILE_UPLOAD') + k('C', 'OBJECTS_LIST'));
const HEAD = manifest('policy:\n  - requireOwner: true\n', k('A', 'OBJECTS_LIST, FILE_UPLOAD') + k('B', 'OBJECTS_LIST, FILE_UPLOAD') + k('C', 'OBJECTS_LIST, LABELS_LIST') + k('D', 'OBJECTS_LIST'));

const key = (n: number, description: string, permissions: string[]): LiveKey => ({
  uuid: `00000000-0000-4000-8000-00000000000${n}`, description, permissions: permissions as LiveKey['permissions'], active: true, createdAt: '2026-01-01T00:00:00Z', secretPreview: `****000${n}`,
});
const SELF = key(9, 'admin', ['ACCESS_MANAGE', 'ACCESS_READ']);
// B gained FILE_DELETE and C gained CONFIG_CHANGE in the hub; E was created there.
const LIVE = [SELF, key(1, 'A', ['OBJECTS_LIST']), key(2, 'B', ['OBJECTS_LIST', 'FILE_UPLOAD', 'FILE_DELETE']), key(3, 'C', ['OBJECTS_LIST', 'CONFIG_CHANGE']), key(5, 'E', ['OBJECTS_LIST'])];

const head = parseManifestText(HEAD, 'keys.yaml').state!;
const base = parseManifestText(BASE, 'base.yaml').state!;
const live = new Map([['demo', LIVE]]);
// The self key is left out of the desired keys on purpose: `unmanaged: deactivate` spares it.
const plan = buildPlan([planProject({ desired: head.projects[0]!, live: LIVE, selfKey: SELF, apiUrl: 'https://api.example' })]);
const labels = labelChanges(plan, { baseDesired: base, live });
const policy = policyChanges(parsePolicyText(BASE, 'base.yaml', 'manifest'), parsePolicyText(HEAD, 'keys.yaml', 'manifest'));

test('each change is labelled intent, drift or both', () => {
  const got = plan.projects[0]!.changes.map((c, i) => `${c.kind} ${c.after.description}: ${labels[0]!.origins[i]}`);
  expect(got.sort()).toEqual([
    'create D: intent',
    'deactivate E: drift',
    'update A: intent',
    'update B: drift',
    'update C: intent+drift',
  ]);
});

test('policy changes between base and head are listed', () => {
  expect(policy).toEqual({ added: ['requireOwner (error)'], removed: [] });
});

test('a project the base does not declare is all intent', () => {
  const l = labelChanges(plan, { baseDesired: { projects: [] }, live });
  expect(new Set(l[0]!.origins)).toEqual(new Set(['intent']));
});

describe('golden labelled plan', () => {
  test('text', () => golden('labelled-plan.txt', renderLabelledText(plan, labels, policy)));
  test('markdown', () => golden('labelled-plan.md', renderLabelledMarkdown(plan, labels, policy)));
  test('json carries origin on every change', () => {
    const doc = labelPlanDocument(planToDocument(plan), labels, policy) as { projects: { changes: { origin: string }[] }[] };
    expect(doc.projects[0]!.changes.every((c) => ['intent', 'drift', 'intent+drift'].includes(c.origin))).toBe(true);
    golden('labelled-plan.json', `${JSON.stringify(doc, null, 2)}\n`);
  });
});

describe('the labelled plan JSON against schemas/plan.schema.json', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'plan.schema.json'), 'utf8')) as object;
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  const doc = labelPlanDocument(planToDocument(plan), labels, policy) as { projects: { changes: { origin: string }[] }[]; policy_changes: object };

  test('the golden labelled plan (origin on every change, policy_changes) is valid', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'labelled-plan.json'), 'utf8')) as unknown;
    expect(validate(golden) ? [] : validate.errors).toEqual([]);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
  });

  test('the schema constrains both: an unknown origin or a malformed policy_changes is invalid', () => {
    const badOrigin = structuredClone(doc);
    badOrigin.projects[0]!.changes[0]!.origin = 'revert';
    expect(validate(badOrigin)).toBe(false);
    expect(validate({ ...doc, policy_changes: { added: ['requireOwner (error)'] } })).toBe(false);
    expect(validate({ ...doc, policy_changes: { added: [], removed: [], kept: [] } })).toBe(false);
  });
});
