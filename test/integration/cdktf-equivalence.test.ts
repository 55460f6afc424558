/**
 * The two front ends are one behaviour: against the same emulator state, `plan` of the YAML example and of the
 * synthesized CDKTF example print byte-identical plan documents (and identical text), and after applying one,
 * the other has nothing left to do.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'cdktf';
import { ScaleflexKeysStack } from '../../examples/cdktf/main';
import { expectNoSecretInOutput, ROOT, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const YAML = path.join(ROOT, 'examples', 'scaleflex-keys.yaml');
let api: TestApi;
let dir: string;
let stackFile: string;

const cli = (...args: string[]) => runCli(args, { env: api.env(), cwd: dir });

beforeAll(async () => {
  api = await startTestApi(['demo', 'media-prod']);
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
