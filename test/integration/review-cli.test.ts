/**
 * The review features through the CLI against the emulator: policy in `validate` and `plan` (errors exit 4,
 * warnings print), `plan --format github` annotations on the manifest lines, and `plan --base` labelling changes
 * intent or drift.
 */
import Ajv2020 from 'ajv/dist/2020';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callApi, expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;
const cli = (args: string[], env: Record<string, string | undefined> = api.env()) => runCli(args, { env, cwd: dir });

beforeAll(async () => {
  api = await startTestApi(['rev']);
  dir = tempDir();
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const manifest = (keys: string, policy = '') =>
  `version: 1\n${policy}projects:\n  - token: rev\n    unmanaged: ignore\n    keys:\n${keys}`;

test('a policy error exits 4 in validate and plan (never 2), at the entry line; a warning prints and exits 0', async () => {
  const policy = 'policy:\n  - forbid: [ACCESS_MANAGE]\n    except: ["Deployer"]\n';
  fs.writeFileSync(path.join(dir, 'p.yaml'), manifest('      - description: "CI"\n        permissions: [ACCESS_MANAGE]\n', policy));
  const v = await cli(['validate', '-f', 'p.yaml'], {});
  expect(v.code).toBe(4);
  expect(v.stderr).toMatch(/p\.yaml:\d+:\d+: error: .*forbid/);
  const p = await cli(['plan', '-f', 'p.yaml', '--detailed-exitcode']);
  expect(p.code).toBe(4);
  fs.writeFileSync(path.join(dir, 'w.yaml'), manifest('      - description: "CI"\n        permissions: [OBJECTS_LIST]\n', 'policy:\n  - requireOwner: true\n    severity: warning\n'));
  const w = await cli(['validate', '-f', 'w.yaml'], {});
  expect(w.code).toBe(0);
  expect(w.stderr).toMatch(/warning: .*requireOwner/);
});

test('--policy FILE adds rules the manifest cannot relax', async () => {
  fs.writeFileSync(path.join(dir, 'policy.yaml'), 'policy:\n  - maxPermissions: 1\n');
  fs.writeFileSync(path.join(dir, 'm.yaml'), manifest('      - description: "two"\n        permissions: [OBJECTS_LIST, FILE_UPLOAD]\n'));
  expect((await cli(['validate', '-f', 'm.yaml'], {})).code).toBe(0);
  expect((await cli(['validate', '-f', 'm.yaml', '--policy', 'policy.yaml'], {})).code).toBe(4);
});

test('plan --format github prints annotations at the manifest lines: a warning for a risky grant', async () => {
  fs.writeFileSync(path.join(dir, 'g.yaml'), manifest('      - description: "Cleaner"\n        permissions: [FILE_DELETE]\n'));
  const r = await cli(['plan', '-f', 'g.yaml', '--format', 'github']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^::warning file=g\.yaml,line=6,col=\d+,title=Risky grant%3A FILE_DELETE::.*FILE_DELETE/m);
});

test('plan --base labels a PR edit as intent and a hand-made change as drift', async () => {
  fs.writeFileSync(path.join(dir, 'base.yaml'), manifest('      - description: "a"\n        permissions: [OBJECTS_LIST]\n      - description: "b"\n        permissions: [OBJECTS_LIST]\n'));
  expect((await cli(['apply', '-f', 'base.yaml', '--auto-approve'])).code).toBe(0);
  // Someone widens "b" by hand; the PR edits "a".
  const b = (await liveKeys(api.handle, 'rev')).find((k) => k.description === 'b')!;
  await callApi(api.handle, 'rev', 'PATCH', `/keys/${b.uuid}`, { permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] });
  // The PR also adds a policy rule (a warning, so the plan still exits 0).
  const owner = '        owner: "@team"\n';
  fs.writeFileSync(
    path.join(dir, 'head.yaml'),
    manifest(`      - description: "a"\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n${owner}      - description: "b"\n        permissions: [OBJECTS_LIST]\n${owner}`, 'policy:\n  - requireOwner: true\n    severity: warning\n'),
  );
  const r = await cli(['plan', '-f', 'head.yaml', '--base', 'base.yaml', '--format', 'json']);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout) as { projects: { changes: { uuid: string; origin: string }[] }[]; policy_changes: unknown };
  const origins = Object.fromEntries(doc.projects[0]!.changes.map((c) => [c.uuid, c.origin]));
  expect(origins[b.uuid]).toBe('drift');
  expect(Object.values(origins)).toContain('intent');
  expect(doc.policy_changes).toEqual({ added: ['requireOwner (warning)'], removed: [] });
  // What the CLI prints is what schemas/plan.schema.json documents.
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'plan.schema.json'), 'utf8')) as object;
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  expect(validate(doc) ? [] : validate.errors).toEqual([]);
  // A --policy FILE applies to both sides: its rules are no change the pull request makes.
  fs.writeFileSync(path.join(dir, 'org-policy.yaml'), 'policy:\n  - maxPermissions: 20\n');
  const withFile = await cli(['plan', '-f', 'head.yaml', '--base', 'base.yaml', '--policy', 'org-policy.yaml', '--format', 'json']);
  expect(withFile.code).toBe(0);
  expect((JSON.parse(withFile.stdout) as { policy_changes: unknown }).policy_changes).toEqual({ added: ['requireOwner (warning)'], removed: [] });
  const text = await cli(['plan', '-f', 'head.yaml', '--base', 'base.yaml']);
  expect(text.stdout).toMatch(/Reverts changes made outside git/);
});

describe('every exit path of the policy through the CLI, at each severity', () => {
  // One create planned (so --detailed-exitcode has changes to report) by a key that breaks `forbid`.
  const write = (file: string, severity: 'error' | 'warning') =>
    fs.writeFileSync(
      path.join(dir, file),
      manifest('      - description: "cleaner"\n        permissions: [FILE_DELETE]\n', `policy:\n  - forbid: [FILE_DELETE]\n    severity: ${severity}\n`),
    );
  beforeAll(() => {
    write('sev-error.yaml', 'error');
    write('sev-warning.yaml', 'warning');
  });
  const rows: { command: string[]; severity: 'error' | 'warning'; code: number; why: string }[] = [
    { command: ['validate'], severity: 'error', code: 4, why: 'an error refuses' },
    { command: ['validate'], severity: 'warning', code: 0, why: 'a warning prints' },
    { command: ['plan'], severity: 'error', code: 4, why: 'an error refuses the plan' },
    { command: ['plan'], severity: 'warning', code: 0, why: 'a warning prints' },
    { command: ['plan', '--detailed-exitcode'], severity: 'error', code: 4, why: 'the policy wins over "changes" (never 2)' },
    { command: ['plan', '--detailed-exitcode'], severity: 'warning', code: 2, why: 'changes, and the warning printed' },
    { command: ['plan', '--format', 'github'], severity: 'error', code: 4, why: 'annotations, then the refusal' },
    { command: ['audit', '--format', 'json'], severity: 'error', code: 0, why: 'audit reports findings, whatever they are' },
    { command: ['audit', '--format', 'json'], severity: 'warning', code: 0, why: 'audit reports findings, whatever they are' },
  ];
  test.each(rows)('$command at $severity exits $code: $why', async ({ command, severity, code }) => {
    const r = await cli([...command, '-f', `sev-${severity}.yaml`], command[0] === 'validate' ? {} : api.env());
    expect(r.code).toBe(code);
    if (command[0] === 'audit') {
      const doc = JSON.parse(r.stdout) as { projects: { findings: { rule: string; severity: string }[] }[] };
      expect(doc.projects[0]!.findings).toEqual([expect.objectContaining({ rule: 'forbid', severity })]);
    } else if (command.includes('github')) {
      expect(r.stdout).toMatch(new RegExp(`^::${severity} file=sev-${severity}\\.yaml,line=9,.*forbid`, 'm'));
    } else {
      expect(r.stderr).toMatch(new RegExp(`sev-${severity}\\.yaml:9:9: ${severity}: policy rule forbid \\[FILE_DELETE\\]`));
    }
  });

  test.each([['validate'], ['plan'], ['audit', '--format', 'json']])('a malformed rule makes %s exit 1 at its line, before any request', async (...command) => {
    fs.writeFileSync(path.join(dir, 'bad-rule.yaml'), manifest('      - description: "c"\n        permissions: [OBJECTS_LIST]\n', 'policy:\n  - maxPermissions: 0\n'));
    api.handle.resetStats();
    const r = await cli([...command, '-f', 'bad-rule.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad-rule\.yaml:3:\d+: error: .*maxPermissions/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect(api.handle.stats().requests).toBe(0);
  });
});
