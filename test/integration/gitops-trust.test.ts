/**
 * Trustworthy GitOps end to end (real emulator, real CLI processes): a pull request's manifest cannot send a
 * credential anywhere or read one it was not meant to, and a reviewed plan applies exactly what was reviewed —
 * bound to its manifest and credential source, each change to its key's reviewed state, every guard recomputed
 * from a fresh listing — and never locks the team out, whichever key runs.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;
/** A server that must never be contacted: counts every connection. */
let trap: http.Server;
let trapConnections = 0;

const cli = (args: string[], env: Record<string, string | undefined> = api.env()) => runCli(args, { env, cwd: dir });
const key = (description: string, perms = 'OBJECTS_LIST', extra = '') =>
  `      - description: ${JSON.stringify(description)}\n        permissions: [${perms}]\n${extra}`;
function manifest(name: string, projects: Record<string, string>, projectExtra = ''): string {
  const body = Object.entries(projects)
    .map(([token, keys]) => `  - token: ${token}\n${projectExtra}    keys:${keys ? `\n${keys}` : ' []\n'}`)
    .join('');
  fs.writeFileSync(path.join(dir, name), `version: 1\nprojects:\n${body}`);
  return name;
}

beforeAll(async () => {
  api = await startTestApi(['exfil', 'guarded', 'mobile', 'web', 'filecred', 'split', 'race']);
  dir = tempDir();
  trap = http.createServer((_req, res) => res.end('{}'));
  trap.on('connection', () => trapConnections++);
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await new Promise((resolve) => trap.close(resolve));
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a manifest cannot decide where a secret goes', () => {
  const trapUrl = () => `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;

  test.each([
    { name: 'an apiUrl the operator did not allow', extra: '    apiUrl: https://attacker.example\n', words: /not allowed.*SCALEFLEX_ALLOWED_API_URLS/s },
    { name: 'plain http to a host that is not loopback', extra: '    apiUrl: http://attacker.example\n', words: /plain http/ },
    { name: 'an apiUrl with user:password@', extra: '    apiUrl: https://user:pw@api.filerobot.com\n', words: /credentials|user/ },
    { name: 'an apiUrl with a query string', extra: '    apiUrl: https://api.filerobot.com/?x=1\n', words: /query/ },
  ])('$name is refused by validate and by plan, before any request', async ({ extra, words }) => {
    const f = manifest('exfil-url.yaml', { exfil: key('one') }, extra);
    api.handle.resetStats();
    const v = await cli(['validate', '-f', f], {});
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/exfil-url\.yaml:\d+:\d+: error: /);
    const p = await cli(['plan', '-f', f], { ...api.env(), SOME_CI_TOKEN: api.handle.adminKey('exfil') });
    expect(p.code).toBe(1);
    expect(`${p.stdout}${p.stderr}`).toMatch(words);
    expect(api.handle.stats().requests).toBe(0);
  });

  test('an origin the operator allows (environment, outside the manifest) is accepted', async () => {
    const f = manifest('allowed.yaml', { exfil: key('one') }, `    apiUrl: ${api.handle.url}\n`);
    // Loopback is allowed anyway; the allow-list setting is what CI uses for another host.
    const p = await cli(['plan', '-f', f], { ...api.env(), SCALEFLEX_ALLOWED_API_URLS: 'https://api.example.com' });
    expect(p.code).toBe(0);
  });

  test('a credential variable outside SCALEFLEX_* is refused, its value never sent (zero connections)', async () => {
    trapConnections = 0;
    const f = manifest('exfil-env.yaml', { exfil: key('one') }, `    apiUrl: ${trapUrl()}\n    credentials: { env: SOME_CI_TOKEN }\n`);
    const p = await cli(['plan', '-f', f], { SOME_CI_TOKEN: 'ghp_' + 'x'.repeat(36) });
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/SOME_CI_TOKEN/);
    expect(trapConnections).toBe(0);
  });

  test.each([
    { name: 'a ../ path', setup: () => '../outside.key' },
    { name: 'a symlink out of the tree', setup: () => (fs.symlinkSync(path.join(dir, '..'), path.join(dir, 'link-out')), 'link-out/x.key') },
    { name: 'a group/world-readable file (0644)', setup: () => (fs.writeFileSync(path.join(dir, 'open.key'), 'a'.repeat(32), { mode: 0o644 }), fs.chmodSync(path.join(dir, 'open.key'), 0o644), 'open.key') },
    { name: 'a FIFO', setup: () => (require('node:child_process').execFileSync('mkfifo', [path.join(dir, 'pipe.key')]), 'pipe.key') },
  ])('a credentials file that is $name is refused at once, nothing read, zero connections', async ({ setup }) => {
    trapConnections = 0;
    const file = setup();
    const f = manifest('exfil-file.yaml', { exfil: key('one') }, `    apiUrl: ${trapUrl()}\n    credentials: { file: ${JSON.stringify(file)} }\n`);
    const p = await cli(['plan', '-f', f], {});
    expect(p.code).toBe(1);
    expect(trapConnections).toBe(0);
  });
});

describe('a saved plan binds to what was reviewed', () => {
  test('editing live_active (or duplicating it) cannot switch off the mass-deactivation guard', async () => {
    await api.handle.seedKeys('guarded', Array.from({ length: 20 }, (_, i) => ({ description: `g${i}`, permissions: ['OBJECTS_LIST'] })));
    // Keep 5 of 21 active keys (the bootstrap admin stays as the tool's own key): 15 deactivations.
    const f = manifest('guarded.yaml', { guarded: Array.from({ length: 5 }, (_, i) => key(`g${i}`)).join('') });
    const planned = await cli(['plan', '-f', f, '--force', '--out', 'guarded.plan.json']);
    expect(planned.code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'guarded.plan.json'), 'utf8');
    for (const [name, edited] of [
      ['1000', text.replace(/"live_active": \d+/, '"live_active": 1000')],
      ['5', text.replace(/"live_active": \d+/, '"live_active": 5')],
      ['a duplicated key', text.replace(/"live_active": (\d+)/, '"live_active": $1,\n      "live_active": 1000')],
    ] as const) {
      fs.writeFileSync(path.join(dir, `edited-${name}.json`), edited);
      const before = await liveKeys(api.handle, 'guarded');
      const r = await cli(['apply', `edited-${name}.json`]);
      expect([1, 3]).toContain(r.code);
      expect(await liveKeys(api.handle, 'guarded')).toEqual(before);
    }
    // Unedited, it is refused too without --force: the guard is recomputed from the fresh listing.
    const r = await cli(['apply', 'guarded.plan.json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/deactivates 15 of 21 active keys/);
  });

  test('parallel pull requests on different projects both apply (PR-3 mobile, PR-4 web, planned from the same main)', async () => {
    const main0 = { mobile: key('m1'), web: key('w1') };
    manifest('scaleflex-keys.yaml', main0);
    expect((await cli(['apply', '-f', 'scaleflex-keys.yaml', '--auto-approve'])).code).toBe(0);
    manifest('pr3.yaml', { mobile: key('m1') + key('m2'), web: key('w1') });
    manifest('pr4.yaml', { mobile: key('m1'), web: key('w1') + key('w2') });
    expect((await cli(['plan', '-f', 'pr3.yaml', '--out', 'pr3.plan.json'])).code).toBe(0);
    expect((await cli(['plan', '-f', 'pr4.yaml', '--out', 'pr4.plan.json'])).code).toBe(0);
    expect((await cli(['apply', 'pr3.plan.json'])).code).toBe(0);
    // PR-4 merges after PR-3: the merged manifest has both changes.
    manifest('pr4.yaml', { mobile: key('m1') + key('m2'), web: key('w1') + key('w2') });
    const r4 = await cli(['apply', 'pr4.plan.json']);
    expect(r4.stderr).toBe('');
    expect(r4.code).toBe(0);
    expect((await liveKeys(api.handle, 'web')).map((k) => k.description)).toContain('w2');
  });

  test('credentials: {file: ...} in the manifest work with apply plan.json', async () => {
    fs.mkdirSync(path.join(dir, 'keys'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'keys', 'filecred.key'), `${api.handle.adminKey('filecred')}\n`, { mode: 0o600 });
    const f = manifest('filecred.yaml', { filecred: key('one') }, '    credentials: { file: keys/filecred.key }\n');
    const env = { SCALEFLEX_API_URL: api.handle.url };
    expect((await cli(['plan', '-f', f, '--out', 'filecred.plan.json'], env)).code).toBe(0);
    const plan = JSON.parse(fs.readFileSync(path.join(dir, 'filecred.plan.json'), 'utf8'));
    expect(plan.projects[0].credentials).toEqual({ file: 'keys/filecred.key' });
    expect(plan.source).toEqual({ kind: 'yaml', path: 'filecred.yaml' });
    const r = await cli(['apply', 'filecred.plan.json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('a plan with an edited self_uuid is refused', async () => {
    const f = manifest('self.yaml', { filecred: key('one') + key('two') }, '    credentials: { file: keys/filecred.key }\n');
    const env = { SCALEFLEX_API_URL: api.handle.url };
    expect((await cli(['plan', '-f', f, '--out', 'self.plan.json'], env)).code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'self.plan.json'), 'utf8'));
    doc.projects[0].self_uuid = '00000000-0000-4000-8000-000000000000';
    fs.writeFileSync(path.join(dir, 'self.plan.json'), JSON.stringify(doc));
    const r = await cli(['apply', 'self.plan.json'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('self_uuid');
  });
});

describe('never lock the team out, whichever key runs', () => {
  test('a plan made with a read-only key shows, before merge, the refusal apply would hit', async () => {
    const [reader] = await api.handle.seedKeys('split', [{ description: 'PR planner', permissions: ['ACCESS_READ', 'OBJECTS_LIST'] }]);
    const f = manifest('split.yaml', { split: key('PR planner', 'ACCESS_READ, OBJECTS_LIST') + key('app') });
    const env = { SCALEFLEX_API_URL: api.handle.url, SCALEFLEX_API_KEY_SPLIT: reader!.secret };
    for (const format of ['text', 'markdown', 'json']) {
      const r = await cli(['plan', '-f', f, '--format', format], env);
      expect(r.code).toBe(3);
      if (format === 'json') expect(JSON.parse(r.stdout).projects[0].planning_key_access).toBe('read');
      else expect(r.stdout).toMatch(/lacks ACCESS\\?_MANAGE/);
    }
    // Declaring the admin key protected makes the read-only plan clean, and apply with the admin key agrees.
    const selfAdmin = (await liveKeys(api.handle, 'split')).find((k) => k.description.includes('bootstrap'))!;
    const g = manifest('split2.yaml', {
      split: key(selfAdmin.description, selfAdmin.permissions.join(', '), '        protected: true\n') + key('PR planner', 'ACCESS_READ, OBJECTS_LIST') + key('app'),
    });
    expect((await cli(['plan', '-f', g, '--out', 'split.plan.json'], env)).code).toBe(0);
    expect((await cli(['apply', 'split.plan.json'])).code).toBe(0);
  });

  test('a protected key is never deactivated, even with --force', async () => {
    const [k] = await api.handle.seedKeys('split', [{ description: 'deployer', permissions: ['ACCESS_MANAGE', 'ACCESS_READ'] }]);
    const f = manifest('protected.yaml', {
      split: key('deployer', 'ACCESS_MANAGE, ACCESS_READ', '        protected: true\n') + key('PR planner', 'ACCESS_READ, OBJECTS_LIST') + key('app'),
    });
    expect((await cli(['apply', '-f', f, '--auto-approve'])).code).toBe(0);
    manifest('protected.yaml', { split: key('deployer', 'ACCESS_READ', '        protected: true\n') + key('PR planner', 'ACCESS_READ, OBJECTS_LIST') + key('app') });
    const r = await cli(['apply', '-f', f, '--auto-approve', '--force']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/protected: true/);
    expect((await liveKeys(api.handle, 'split')).find((x) => x.uuid === k!.uuid)!.permissions).toContain('ACCESS_MANAGE');
  });

  test('two racing applies with different admin keys never leave the project without an active ACCESS_MANAGE key (30 runs)', async () => {
    /** Whether `secret` still authenticates as an active key holding ACCESS_MANAGE. */
    const isAdmin = async (token: string, secret: string): Promise<boolean> => {
      const res = await fetch(`${api.handle.url}/${token}/v5/keys/self`, { headers: { 'X-Filerobot-Key': secret } });
      if (!res.ok) return false;
      const body = (await res.json()) as { key: { active: boolean; permissions: string[] } };
      return body.key.active && body.key.permissions.includes('ACCESS_MANAGE');
    };
    for (let run = 0; run < 30; run++) {
      const token = `race-${run}`;
      const bootstrap = await api.handle.ensureProject(token);
      const [a, b] = await api.handle.seedKeys(token, [
        { description: 'admin a', permissions: ['ACCESS_MANAGE', 'ACCESS_READ'] },
        { description: 'admin b', permissions: ['ACCESS_MANAGE', 'ACCESS_READ'] },
      ]);
      // Each apply runs with its own admin key and finds the other two unmanaged: it deactivates them.
      const f = manifest(`race-${run}.yaml`, { [token]: '' });
      const env = (secret: string) => ({ SCALEFLEX_API_URL: api.handle.url, [`SCALEFLEX_API_KEY_RACE_${run}`]: secret });
      await Promise.all([cli(['apply', '-f', f, '--auto-approve'], env(a!.secret)), cli(['apply', '-f', f, '--auto-approve'], env(b!.secret))]);
      const admins = await Promise.all([bootstrap, a!.secret, b!.secret].map((secret) => isAdmin(token, secret)));
      expect(admins.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    }
  }, 300_000);
});
