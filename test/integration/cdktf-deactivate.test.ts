/**
 * `scaleflex-keys deactivate`, the command a ScaleflexProject's destroy-time provisioner runs, end to end
 * against the emulator: it deactivates exactly the declared keys (never deletes, never the tool's own key),
 * reads the declaration from a file or from the environment variable Terraform fills, is a no-op when the stack
 * still declares the project with another spec (a replacement), honours the mass-deactivation guard and the
 * confirmation rule, and refuses bad usage before touching anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

type Live = Record<string, { uuid: string; active: boolean }>;
async function live(token: string): Promise<Live> {
  const out: Live = {};
  for (const k of await liveKeys(api.handle, token)) out[k.description] = { uuid: k.uuid, active: k.active };
  return out;
}

function manifest(name: string, token: string, descriptions: string[]): string {
  const file = path.join(dir, name);
  const keys = descriptions.map((d) => `      - description: ${JSON.stringify(d)}\n        permissions: [OBJECTS_LIST]\n`).join('');
  fs.writeFileSync(file, `version: 1\nprojects:\n  - token: ${token}\n    keys:\n${keys}`);
  return file;
}

/** The project spec as a ScaleflexProject's `spec` trigger holds it (what Terraform passes from its state). */
function specText(token: string, descriptions: string[]): string {
  return JSON.stringify({
    token,
    unmanaged: 'deactivate',
    keys: descriptions.map((description) => ({ description, permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [] })),
  });
}

const deactivate = (args: string[], env: Record<string, string> = {}) => runCli(['deactivate', ...args], { env: { ...api.env(), ...env }, cwd: dir });

beforeAll(async () => {
  api = await startTestApi(['alpha', 'beta', 'big']);
  dir = tempDir();
  await api.handle.seedKeys('alpha', [
    { description: 'one', permissions: ['OBJECTS_LIST'] },
    { description: 'two', permissions: ['OBJECTS_LIST'] },
    { description: 'not declared', permissions: ['OBJECTS_LIST'] },
  ]);
  await api.handle.seedKeys('beta', [{ description: 'b1', permissions: ['OBJECTS_LIST'] }]);
  await api.handle.seedKeys(
    'big',
    Array.from({ length: 12 }, (_, i) => ({ description: `k${i}`, permissions: ['OBJECTS_LIST'] })),
  );
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('scaleflex-keys deactivate', () => {
  test.each([
    { name: 'an unset --spec-env variable', args: ['--project', 'alpha', '--spec-env', 'NOT_SET', '--auto-approve'], words: /NOT_SET: the environment variable is not set/ },
    { name: 'two sources at once', args: ['--project', 'alpha', '--spec-env', 'X', '-f', 'a.yaml', '--auto-approve'], words: /give one of --spec-env, -f\/--file and --from-cdktf/ },
    { name: '--skip-if-replaced-in without --spec-env', args: ['--project', 'alpha', '-f', 'm.yaml', '--skip-if-replaced-in', 'cdk.tf.json', '--auto-approve'], words: /give both/ },
    { name: 'a spec of another project', args: ['--project', 'alpha', '--spec-env', 'SPEC', '--auto-approve'], env: { SPEC: specText('beta', ['b1']) }, words: /declares project beta/ },
  ])('refuses $name as a usage error and changes nothing', async ({ args, env, words }) => {
    manifest('m.yaml', 'alpha', ['one']);
    const before = await live('alpha');
    const r = await deactivate(args, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(words);
    expect(await live('alpha')).toEqual(before);
  });

  test('without a terminal it needs --auto-approve and changes nothing', async () => {
    const file = manifest('alpha.yaml', 'alpha', ['one', 'two']);
    const r = await deactivate(['--project', 'alpha', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--auto-approve/);
    expect(Object.values(await live('alpha')).every((k) => k.active)).toBe(true);
  });

  test('deactivates exactly the declared keys of a manifest; a second run has nothing to do', async () => {
    const file = manifest('alpha.yaml', 'alpha', ['one', 'two', 'never created']);
    const before = await live('alpha');
    const r = await deactivate(['--project', 'alpha', '-f', file, '--auto-approve']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Deactivated 2 keys of project alpha.');
    const after = await live('alpha');
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort()); // nothing created, nothing deleted
    expect(after.one?.active).toBe(false);
    expect(after.two?.active).toBe(false);
    expect(after['not declared']?.active).toBe(true);
    const again = await deactivate(['--project', 'alpha', '-f', file, '--auto-approve']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to deactivate');
  });

  test("reads the spec gzipped (Terraform's base64gzip) and never deactivates the key it runs with, saying so", async () => {
    const self = Object.entries(await live('beta')).find(([d]) => d !== 'b1')!;
    const gzipped = gzipSync(specText('beta', ['b1', self[0]])).toString('base64');
    const r = await deactivate(['--project', 'beta', '--spec-env', 'SPEC', '--auto-approve'], { SPEC: gzipped });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stays active: it is the key this tool runs with/);
    const after = await live('beta');
    expect(after.b1?.active).toBe(false);
    expect(after[self[0]]?.active).toBe(true);
  });

  test.each([
    { name: 'the stack declares the project with another spec: a replacement, nothing deactivated', stack: specText('big', ['k0', 'k1', 'k2', 'changed']), deactivated: 0 },
    { name: 'the stack declares the same spec: a destroy', stack: specText('big', ['k0', 'k1', 'k2']), deactivated: 3 },
    { name: 'the stack no longer declares the project: a removal', stack: undefined, deactivated: 3 },
  ])('--skip-if-replaced-in: $name', async ({ stack, deactivated }) => {
    // Each case starts with k0..k2 active.
    for (const [d, k] of Object.entries(await live('big'))) {
      if (['k0', 'k1', 'k2'].includes(d) && !k.active) {
        await fetch(`${api.handle.url}/big/v5/keys/status`, {
          method: 'POST',
          headers: { 'X-Filerobot-Key': api.handle.adminKey('big'), 'content-type': 'application/json' },
          body: JSON.stringify({ uuids: [k.uuid], active: true }),
        });
      }
    }
    const stackFile = path.join(dir, 'cdk.tf.json');
    const resources: Record<string, unknown> = {
      other: { triggers: { scaleflex_keys: 'project', project: 'other', spec: specText('other', []) } },
    };
    if (stack) resources.big = { triggers: { scaleflex_keys: 'project', project: 'big', spec: stack } };
    fs.writeFileSync(stackFile, JSON.stringify({ resource: { null_resource: resources } }));
    const r = await deactivate(['--project', 'big', '--spec-env', 'SPEC', '--skip-if-replaced-in', stackFile, '--auto-approve'], {
      SPEC: specText('big', ['k0', 'k1', 'k2']),
    });
    expect(r.code).toBe(0);
    const after = await live('big');
    expect(['k0', 'k1', 'k2'].filter((d) => !after[d]?.active)).toHaveLength(deactivated);
    if (deactivated === 0) expect(r.stdout).toContain('nothing to deactivate');
  });

  test('the mass-deactivation guard refuses without --force and passes with it', async () => {
    const all = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const file = manifest('big.yaml', 'big', all);
    const before = await live('big');
    const refused = await deactivate(['--project', 'big', '-f', file, '--auto-approve']);
    expect(refused.code).toBe(3);
    expect(refused.stdout + refused.stderr).toMatch(/--force/);
    expect(await live('big')).toEqual(before);
    const forced = await deactivate(['--project', 'big', '-f', file, '--auto-approve', '--force']);
    expect(forced.code).toBe(0);
    const after = await live('big');
    expect(all.every((d) => after[d]?.active === false)).toBe(true);
  });
});
