/**
 * The two front ends are one behaviour: against the same emulator state, `plan` of the YAML example and of the
 * synthesized CDKTF example print byte-identical plan documents (and identical text), and after applying one,
 * the other has nothing left to do. The same holds for a stack that rotates, expires and delivers keys, whose
 * `file` sinks land next to its cdk.tf.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { ScaleflexKeysStack } from '../../examples/cdktf/main';
import { Permission, ScaleflexApiKey, ScaleflexProject } from '../../src/cdktf';
import { expectNoSecretInOutput, liveKeys, ROOT, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const YAML = path.join(ROOT, 'examples', 'scaleflex-keys.yaml');
let api: TestApi;
let dir: string;
let stackFile: string;

const cli = (...args: string[]) => runCli(args, { env: api.env(), cwd: dir });

beforeAll(async () => {
  api = await startTestApi(['demo', 'media-prod', 'life']);
  dir = tempDir();
  // A live state that gives every kind of change: a rename, permission changes, a deactivation by
  // declaration, an unmanaged key in each policy, a re-activation.
  await api.handle.seedKeys('demo', [
    { description: 'PIM import', permissions: ['OBJECTS_LIST'] },
    { description: 'Website gallery', permissions: ['OBJECTS_LIST', 'FILE_DELETE'] },
    { description: 'Legacy mobile app', permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH'] },
    { description: 'Old intern key', permissions: ['FILE_DELETE'] },
  ]);
  await api.handle.seedKeys('media-prod', [
    { description: 'Config auditor', permissions: ['CONFIG_LIST', 'ACCESS_READ'], active: false },
    { description: 'Made in the hub', permissions: ['OBJECTS_LIST'] },
  ]);
  // The CDKTF example, synthesized as `npm run synth` does (same stack class, same App defaults).
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  const app = new App({ outdir });
  new ScaleflexKeysStack(app, 'scaleflex-keys');
  app.synth();
  stackFile = path.join(dir, 'cdk.tf.json');
  fs.copyFileSync(path.join(outdir, 'stacks', 'scaleflex-keys', 'cdk.tf.json'), stackFile);
  fs.rmSync(outdir, { recursive: true, force: true });
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the YAML example and the CDKTF example', () => {
  test('validate the same projects and keys', async () => {
    const [yaml, cdktf] = await Promise.all([cli('validate', '-f', YAML), cli('validate', '--from-cdktf', stackFile)]);
    expect([yaml.code, cdktf.code]).toEqual([0, 0]);
    expect(cdktf.stdout.replace(stackFile, 'FILE')).toBe(yaml.stdout.replace(YAML, 'FILE'));
  });

  test('give byte-identical plan JSON against the same emulator state', async () => {
    const yaml = await cli('plan', '--format', 'json', '-f', YAML);
    const cdktf = await cli('plan', '--format', 'json', '--from-cdktf', stackFile);
    expect(yaml.code).toBe(0);
    expect(cdktf.code).toBe(0);
    expect(cdktf.stdout).toBe(yaml.stdout);
    // The plan is not trivially equal: it has every kind of change.
    const kinds = new Set(
      (JSON.parse(yaml.stdout) as { projects: { changes: { kind: string }[] }[] }).projects.flatMap((p) => p.changes.map((c) => c.kind)),
    );
    expect([...kinds].sort()).toEqual(['activate', 'create', 'deactivate', 'update']);
  });

  test('give identical text plans', async () => {
    const [yaml, cdktf] = [await cli('plan', '-f', YAML), await cli('plan', '--from-cdktf', stackFile)];
    expect(cdktf.stdout).toBe(yaml.stdout);
    expect(yaml.stdout).toMatch(/Plan: \d+ to create, \d+ to change, \d+ to deactivate\./);
  });

  test('converge to the same state: after apply --from-cdktf, the YAML plan is empty', async () => {
    const applied = await cli('apply', '--auto-approve', '--from-cdktf', stackFile);
    expect(applied.code).toBe(0);
    const yaml = await cli('plan', '--detailed-exitcode', '-f', YAML);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain('No changes.');
  });
});

describe('a stack with owners, rotation, expiry and delivery, and the equivalent YAML manifest', () => {
  /** Long before the test clock: due for rotation under `every: 90d`. */
  const OLD = '2026-06-01T00:00:00Z';
  const NOW = '2026-12-10T12:00:00Z';
  let lifeStack: string;
  let lifeYaml: string;

  beforeAll(async () => {
    await api.handle.seedKeys('life', [
      { description: 'CI uploader', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'], createdAt: OLD },
      { description: 'Contractor', permissions: ['OBJECTS_LIST'] },
    ] as Parameters<typeof api.handle.seedKeys>[1]);
    const outdir = path.join(dir, 'cdktf.out');
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'life');
    const life = new ScaleflexProject(stack, 'life', { token: 'life', unmanaged: 'ignore', rotate: { every: '90d', overlap: '7d' }, deliver: [{ file: 'secrets/life.env' }] });
    new ScaleflexApiKey(life, 'uploader', { description: 'CI uploader', permissions: [Permission.FILE_UPLOAD, Permission.OBJECTS_LIST], owner: '@platform-team', purpose: 'uploads from CI' });
    new ScaleflexApiKey(life, 'contractor', { description: 'Contractor', permissions: [Permission.OBJECTS_LIST], expires: '2026-12-01', justification: 'temporary' });
    new ScaleflexApiKey(life, 'feed', { description: 'Feed reader', permissions: [Permission.OBJECTS_LIST], rotate: { every: '1y', overlap: '14d' }, deliver: [{ file: 'secrets/feed.json' }] });
    app.synth();
    lifeStack = path.join(outdir, 'stacks', 'life', 'cdk.tf.json');
    lifeYaml = path.join(dir, 'life.yaml');
    fs.writeFileSync(
      lifeYaml,
      `version: 1
projects:
  - token: life
    unmanaged: ignore
    rotate: { every: 90d, overlap: 7d }
    deliver: [{ file: secrets/life.env }]
    keys:
      - { description: CI uploader, permissions: [FILE_UPLOAD, OBJECTS_LIST], owner: "@platform-team", purpose: uploads from CI }
      - { description: Contractor, permissions: [OBJECTS_LIST], expires: "2026-12-01", justification: temporary }
      - description: Feed reader
        permissions: [OBJECTS_LIST]
        rotate: { every: 1y, overlap: 14d }
        deliver: [{ file: secrets/feed.json }]
`,
    );
  });

  test('give byte-identical plan JSON: a rotation, an expiry and a create', async () => {
    const yaml = await cli('plan', '--format', 'json', '--now', NOW, '-f', lifeYaml);
    const cdktf = await cli('plan', '--format', 'json', '--now', NOW, '--from-cdktf', lifeStack);
    expect([yaml.code, cdktf.code]).toEqual([0, 0]);
    expect(cdktf.stdout).toBe(yaml.stdout);
    const text = await cli('plan', '--now', NOW, '--from-cdktf', lifeStack);
    expect(text.stdout).toContain('"CI uploader (rotated 2026-12-10, off after 2026-12-17)"');
    expect(text.stdout).toMatch(/- key "Contractor" .*\n.*\(expired: its entry's expires has come\)/);
    expect(text.stdout).toMatch(/\+ key "Feed reader"[\s\S]*→ file secrets\/feed\.json/);
    expect(text.stdout).toContain('Plan: 2 to create, 1 to change, 1 to deactivate.');
  });

  test("apply --from-cdktf delivers to file sinks relative to the stack's directory; then the YAML plan is empty", async () => {
    const applied = await cli('apply', '--auto-approve', '--now', NOW, '--from-cdktf', lifeStack);
    expect(applied.code).toBe(0);
    const stackDir = path.dirname(lifeStack);
    const env = fs.readFileSync(path.join(stackDir, 'secrets', 'life.env'), 'utf8');
    expect(env).toMatch(/^SCALEFLEX_KEY_LIFE_CI_UPLOADER=\S+$/m);
    expect(env).not.toContain('FEED_READER');
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(stackDir, 'secrets', 'feed.json'), 'utf8')).life)).toEqual(['Feed reader']);
    expect(fs.statSync(path.join(stackDir, 'secrets', 'life.env')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dir, 'secrets'))).toBe(false);
    const live = await liveKeys(api.handle, 'life');
    expect(live.filter((k) => k.description === 'Contractor').map((k) => k.active)).toEqual([false]);
    const yaml = await cli('plan', '--detailed-exitcode', '--now', NOW, '-f', lifeYaml);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain('No changes.');
  });
});
