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
  const text = await cli(['plan', '-f', 'head.yaml', '--base', 'base.yaml']);
  expect(text.stdout).toMatch(/Reverts changes made outside git/);
});
