/**
 * `scaleflex-keys deactivate` end to end against the emulator: it deactivates exactly the declared keys (never
 * deletes, never the tool's own key), reads the declaration from a file or from one key's spec
 * (`--key-spec-env`, what a ScaleflexApiKey's destroy-time provisioner runs), is a no-op when the stack still
 * declares the key resource with another spec (a replacement) or another key resource declares the same key (a move), honours the mass-deactivation guard and
 * the confirmation rule, and refuses bad usage before touching anything.
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

/** A key spec as a ScaleflexApiKey's `spec` trigger holds it (what Terraform passes from its state). */
function keySpec(description: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ description, permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [], ...extra });
}

const deactivate = (args: string[], env: Record<string, string> = {}) => runCli(['deactivate', ...args], { env: { ...api.env(), ...env }, cwd: dir });

beforeAll(async () => {
  api = await startTestApi(['alpha', 'beta', 'big', 'gamma']);
  dir = tempDir();
  await api.handle.seedKeys('alpha', [
    { description: 'one', permissions: ['OBJECTS_LIST'] },
    { description: 'two', permissions: ['OBJECTS_LIST'] },
    { description: 'not declared', permissions: ['OBJECTS_LIST'] },
  ]);
  await api.handle.seedKeys('beta', [{ description: 'b1', permissions: ['OBJECTS_LIST'] }]);
  await api.handle.seedKeys('gamma', [
    { description: 'g1', permissions: ['OBJECTS_LIST'] },
    { description: 'g2', permissions: ['OBJECTS_LIST'] },
    { description: 'g3', permissions: ['OBJECTS_LIST'] },
  ]);
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
    { name: 'the removed --spec-env', args: ['--project', 'alpha', '--spec-env', 'X', '--auto-approve'], env: { X: '{}' }, words: /--spec-env was removed/ },
    { name: 'two sources at once', args: ['--project', 'alpha', '--key-spec-env', 'X', '-f', 'a.yaml', '--auto-approve'], words: /give one of --key-spec-env, -f\/--file and --from-cdktf/ },
    { name: '--skip-if-replaced-in without --key-spec-env', args: ['--project', 'alpha', '-f', 'm.yaml', '--skip-if-replaced-in', 'cdk.tf.json', '--auto-approve'], words: /compares with the spec of --key-spec-env/ },
    { name: '--key-resource without --key-spec-env', args: ['--project', 'alpha', '-f', 'm.yaml', '--key-resource', 'x', '--auto-approve'], words: /go with --key-spec-env/ },
    { name: '--key-spec-env with --skip-if-replaced-in but no --key-resource', args: ['--project', 'alpha', '--key-spec-env', 'KEY', '--skip-if-replaced-in', 'cdk.tf.json', '--auto-approve'], env: { KEY: keySpec('one') }, words: /needs --key-resource/ },
    { name: 'an unset --key-spec-env variable', args: ['--project', 'alpha', '--key-spec-env', 'NOT_SET', '--auto-approve'], words: /--key-spec-env NOT_SET: the environment variable is not set/ },
  ] as Array<{ name: string; args: string[]; env?: Record<string, string>; words: RegExp }>)('refuses $name as a usage error and changes nothing', async ({ args, env, words }) => {
    manifest('m.yaml', 'alpha', ['one']);
    const before = await live('alpha');
    const r = await deactivate(args, env);
    expect(r.code).toBe(1);
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

  test('never deactivates the key it runs with, saying so', async () => {
    const self = Object.entries(await live('beta')).find(([d]) => d !== 'b1')!;
    const file = manifest('beta.yaml', 'beta', ['b1', self[0]]);
    const r = await deactivate(['--project', 'beta', '-f', file, '--auto-approve']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stays active: it is the key this tool runs with/);
    const after = await live('beta');
    expect(after.b1?.active).toBe(false);
    expect(after[self[0]]?.active).toBe(true);
  });

  describe('one key (--key-spec-env, a ScaleflexApiKey destroyed)', () => {
    /** Re-activates every key of project gamma, so that each case starts from the same state. */
    async function reset(): Promise<void> {
      const inactive = Object.values(await live('gamma')).filter((k) => !k.active).map((k) => k.uuid);
      if (inactive.length === 0) return;
      await fetch(`${api.handle.url}/gamma/v5/keys/status`, {
        method: 'POST',
        headers: { 'X-Filerobot-Key': api.handle.adminKey('gamma'), 'content-type': 'application/json' },
        body: JSON.stringify({ uuids: inactive, active: true }),
      });
    }
    /** A stack file whose project gamma declares these key resources (name -> key spec text). */
    function stack(keys: Record<string, string>): string {
      const file = path.join(dir, 'gamma.tf.json');
      const resources: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(keys)) resources[name] = { triggers: { scaleflex_keys: 'api-key', project: 'gamma', spec } };
      fs.writeFileSync(file, JSON.stringify({ resource: { null_resource: resources } }));
      return file;
    }
    const key = (args: string[], spec: string, env: Record<string, string> = {}) =>
      deactivate(['--project', 'gamma', '--key-spec-env', 'KEY', ...args, '--auto-approve'], { KEY: spec, ...env });

    beforeEach(reset);

    test('deactivates exactly that key, never deleting; a second run has nothing to do', async () => {
      const before = await live('gamma');
      const r = await key([], keySpec('g1'));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Deactivated 1 key of project gamma.');
      const after = await live('gamma');
      expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
      expect(Object.entries(after).filter(([, k]) => !k.active).map(([d]) => d)).toEqual(['g1']);
      const again = await key([], keySpec('g1'));
      expect(again.stdout).toContain('nothing to deactivate');
    });

    test('matches a renamed key by its former description, and reads the spec gzipped too', async () => {
      const r = await key([], gzipSync(keySpec('renamed g2', { formerDescriptions: ['g2'] })).toString('base64'));
      expect(r.code).toBe(0);
      expect((await live('gamma')).g2?.active).toBe(false);
    });

    test('reads the admin key from --credentials-env', async () => {
      const missing = await key(['--credentials-env', 'GAMMA_ADMIN'], keySpec('g1'), { SCALEFLEX_API_KEY_GAMMA: '' });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('GAMMA_ADMIN');
      const r = await key(['--credentials-env', 'GAMMA_ADMIN'], keySpec('g1'), { SCALEFLEX_API_KEY_GAMMA: '', GAMMA_ADMIN: api.handle.adminKey('gamma'), SCALEFLEX_ALLOWED_CREDENTIAL_ENV: 'GAMMA_ADMIN' });
      expect(r.code).toBe(0);
      expect((await live('gamma')).g1?.active).toBe(false);
    });

    test.each([
      { name: 'its resource is declared with another spec: a replacement, nothing deactivated', keys: { res_g1: keySpec('g1', { permissions: ['FILE_UPLOAD'] }) }, deactivated: [], words: /still declares res_g1 with a newer spec.*nothing to deactivate/ },
      { name: 'its resource is declared with the same spec: a destroy', keys: { res_g1: keySpec('g1'), res_g2: keySpec('g2') }, deactivated: ['g1'] },
      { name: 'its resource is gone: a removal', keys: { res_g2: keySpec('g2') }, deactivated: ['g1'] },
      { name: 'another resource now declares the same key: a move, nothing deactivated', keys: { moved: keySpec('g1') }, deactivated: [], words: /another key resource .* declares the same key.*nothing to deactivate/ },
      { name: 'another resource renamed the key from this description: nothing deactivated', keys: { moved: keySpec('g1 renamed', { formerDescriptions: ['g1'] }) }, deactivated: [] },
      { name: 'only a key of another project has the description: a removal', keys: {}, other: true, deactivated: ['g1'] },
    ] as Array<{ name: string; keys: Record<string, string>; other?: boolean; deactivated: string[]; words?: RegExp }>)('--skip-if-replaced-in: $name', async ({ keys, other, deactivated, words }) => {
      const file = stack(keys);
      if (other) {
        fs.writeFileSync(file, JSON.stringify({ resource: { null_resource: { x: { triggers: { scaleflex_keys: 'api-key', project: 'alpha', spec: keySpec('g1') } } } } }));
      }
      const r = await key(['--skip-if-replaced-in', file, '--key-resource', 'res_g1'], keySpec('g1'));
      expect(r.code).toBe(0);
      if (words) expect(r.stdout).toMatch(words);
      const after = await live('gamma');
      expect(Object.entries(after).filter(([, k]) => !k.active).map(([d]) => d)).toEqual(deactivated);
    });

    /** A spec using every key-lifecycle field a ScaleflexApiKey can declare. */
    const lifecycle = {
      owner: '@platform-team',
      purpose: 'uploads from CI',
      justification: 'needs it',
      rotate: { every: '90d', overlap: '7d' },
      expires: '2030-01-01',
      deliver: [{ exec: ['gh', 'secret', 'set', '{name}'], timeout: 30 }, { file: 'secrets/gamma.env' }],
    };
    test.each([
      { name: 'its resource is declared with the same spec: deactivated', declared: keySpec('g3', lifecycle), deactivated: ['g3'] },
      { name: 'its resource is declared with another owner: a replacement, nothing deactivated', declared: keySpec('g3', { ...lifecycle, owner: '@someone-else' }), deactivated: [], words: /still declares res_g3 with a newer spec/ },
    ] as Array<{ name: string; declared: string; deactivated: string[]; words?: RegExp }>)('a spec carrying owner, rotate, expires and deliver: $name', async ({ declared, deactivated, words }) => {
      const file = stack({ res_g3: declared });
      const r = await key(['--skip-if-replaced-in', file, '--key-resource', 'res_g3'], keySpec('g3', lifecycle));
      expect(r.code).toBe(0);
      if (words) expect(r.stdout).toMatch(words);
      const after = await live('gamma');
      expect(Object.entries(after).filter(([, k]) => !k.active).map(([d]) => d)).toEqual(deactivated);
      expect(Object.keys(after).filter((d) => d.startsWith('g3'))).toEqual(['g3']); // not rotated, nothing created
    });

    test('never deactivates the key it runs with, saying so', async () => {
      const self = Object.keys(await live('gamma')).find((d) => !/^g\d$/.test(d))!;
      const r = await key([], keySpec(self));
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/stays active: it is the key this tool runs with/);
      expect((await live('gamma'))[self]?.active).toBe(true);
    });
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
