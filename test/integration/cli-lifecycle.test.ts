/**
 * The CLI end to end against the emulator over HTTP: a key's whole life through `apply -f` (create, rename,
 * permission change, toggle, removal = deactivation, re-activation), the second apply as a no-op, the tool's own
 * key surviving a manifest that omits it, secrets files, and `secrets pull`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allOutput, callApi, expectNoSecretInOutput, liveKeys, runCli, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const P = 'life';
let api: TestApi;
let dir: string;
let adminUuid: string;

function manifest(keys: string): string {
  const file = path.join(dir, 'scaleflex-keys.yaml');
  fs.writeFileSync(file, `version: 1\nprojects:\n  - token: ${P}\n    keys:\n${keys}`);
  return file;
}

const apply = (...extra: string[]) => runCli(['apply', '--auto-approve', ...extra], { env: api.env(), cwd: dir });
const plan = (...extra: string[]) => runCli(['plan', '--detailed-exitcode', ...extra], { env: api.env(), cwd: dir });

async function byDescription(): Promise<Record<string, { uuid: string; permissions: string[]; active: boolean }>> {
  const out: Record<string, { uuid: string; permissions: string[]; active: boolean }> = {};
  for (const k of await liveKeys(api.handle, P)) out[k.description] = { uuid: k.uuid, permissions: [...k.permissions].sort(), active: k.active };
  return out;
}

beforeAll(async () => {
  api = await startTestApi([P]);
  dir = tempDir();
  const self = (await callApi(api.handle, P, 'GET', '/keys/self')) as { key: { uuid: string } };
  adminUuid = self.key.uuid;
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a key through its whole life', () => {
  let uploaderUuid: string;

  test('apply creates the declared keys, prints each, and writes their secrets to a 0600 file', async () => {
    manifest(`      - description: CI uploader\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n      - description: Reader\n        permissions: [OBJECTS_LIST]\n`);
    const r = await apply('--secrets-out', 'secrets.json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\+ created "CI uploader" \(uuid [0-9a-f-]+\)/);
    expect(r.stdout).toMatch(/\+ created "Reader"/);
    expect(r.stdout).toContain('Apply complete: 2 created, 0 changed, 0 deactivated.');
    const live = await byDescription();
    expect(live['CI uploader']).toMatchObject({ permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'], active: true });
    uploaderUuid = live['CI uploader']!.uuid;
    const file = path.join(dir, 'secrets.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(fs.readFileSync(file, 'utf8'));
    const real = (await callApi(api.handle, P, 'GET', `/keys/${uploaderUuid}/secret`)) as { secret: string };
    expect(secrets[P]['CI uploader']).toBe(real.secret);
    expect(Object.keys(secrets[P]).sort()).toEqual(['CI uploader', 'Reader']);
  });

  test('a second apply changes nothing and says so', async () => {
    const before = await liveKeys(api.handle, P);
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No changes.');
    expect(await liveKeys(api.handle, P)).toEqual(before);
    expect((await plan()).code).toBe(0);
  });

  test('a rename (formerDescriptions) and a permission change keep the same key', async () => {
    manifest(
      `      - description: CI publisher\n        formerDescriptions: [CI uploader]\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n` +
        `      - description: Reader\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n`,
    );
    const p = await plan();
    expect(p.code).toBe(2);
    expect(p.stdout).toContain('CI publisher');
    expect(p.stdout).toContain('OBJECTS_FETCH');
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/renamed "CI uploader" -> "CI publisher"/);
    expect(r.stdout).toMatch(/updated "Reader" \(uuid [0-9a-f-]+\): \+OBJECTS_FETCH/);
    const live = await byDescription();
    expect(live['CI publisher']!.uuid).toBe(uploaderUuid);
    expect(live['CI uploader']).toBeUndefined();
    expect(live.Reader!.permissions).toEqual(['OBJECTS_FETCH', 'OBJECTS_LIST']);
  });

  test('active: false deactivates a declared key', async () => {
    manifest(
      `      - description: CI publisher\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n` +
        `      - description: Reader\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n        active: false\n`,
    );
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/- deactivated "Reader"/);
    expect((await byDescription()).Reader!.active).toBe(false);
  });

  test('removing an entry deactivates the key (never deletes it), and the tool\'s own key survives', async () => {
    manifest(`      - description: Reader\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n        active: false\n`);
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/- deactivated "CI publisher" \(uuid [0-9a-f-]+\), not in the manifest/);
    const live = await liveKeys(api.handle, P);
    expect(live.find((k) => k.uuid === uploaderUuid)).toMatchObject({ description: 'CI publisher', active: false });
    expect(live.find((k) => k.uuid === adminUuid)).toMatchObject({ active: true });
    expect(live).toHaveLength(3);
  });

  test('re-declaring keys active activates them again', async () => {
    manifest(
      `      - description: CI publisher\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n` +
        `      - description: Reader\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n`,
    );
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/~ activated "CI publisher"/);
    expect(r.stdout).toMatch(/~ activated "Reader"/);
    const live = await byDescription();
    expect(live['CI publisher']).toMatchObject({ uuid: uploaderUuid, active: true });
    expect(live.Reader!.active).toBe(true);
    expect((await plan()).code).toBe(0);
  });
});

describe('secrets of new keys', () => {
  test('without a sink apply says how to fetch them, and secrets pull writes a merged .env file', async () => {
    manifest(
      `      - description: CI publisher\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n` +
        `      - description: Reader\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n` +
        `      - description: Late key\n        permissions: [OBJECTS_LIST]\n`,
    );
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`scaleflex-keys secrets pull --project ${P} --description "Late key" --out FILE`);
    fs.writeFileSync(path.join(dir, 'app.env'), 'KEEP=1\n');
    const pull = await runCli(['secrets', 'pull', '--project', P, '--out', 'app.env'], { env: api.env(), cwd: dir });
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain('Wrote 3 secrets to app.env');
    const text = fs.readFileSync(path.join(dir, 'app.env'), 'utf8');
    expect(fs.statSync(path.join(dir, 'app.env')).mode & 0o777).toBe(0o600);
    expect(text.startsWith('KEEP=1\n')).toBe(true);
    const late = (await byDescription())['Late key']!;
    const real = (await callApi(api.handle, P, 'GET', `/keys/${late.uuid}/secret`)) as { secret: string };
    expect(text).toContain(`SCALEFLEX_KEY_LIFE_LATE_KEY=${real.secret}\n`);
  });

  test('secrets pull --description fetches only that key into JSON', async () => {
    const pull = await runCli(['secrets', 'pull', '--description', 'Reader', '--out', 'one.json'], { env: api.env(), cwd: dir });
    expect(pull.code).toBe(0);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'one.json'), 'utf8'))[P])).toEqual(['Reader']);
  });

  test('under GitHub Actions every new secret is masked with ::add-mask:: before its key is printed', async () => {
    manifest(`      - description: Masked key\n        permissions: [OBJECTS_LIST]\n`);
    const r = await runCli(['apply', '--auto-approve', '--secrets-out', 'ci.env'], { env: { ...api.env(), GITHUB_ACTIONS: 'true' }, cwd: dir });
    expect(r.code).toBe(0);
    const masked = (await byDescription())['Masked key']!;
    const real = (await callApi(api.handle, P, 'GET', `/keys/${masked.uuid}/secret`)) as { secret: string };
    const maskAt = r.stdout.indexOf(`::add-mask::${real.secret}\n`);
    expect(maskAt).toBeGreaterThanOrEqual(0);
    expect(maskAt).toBeLessThan(r.stdout.indexOf('+ created "Masked key"'));
    expect(fs.readFileSync(path.join(dir, 'ci.env'), 'utf8')).toContain(`SCALEFLEX_KEY_LIFE_MASKED_KEY=${real.secret}`);
    expect(allOutput.length).toBeGreaterThan(0);
  });
});

describe('a failure part-way', () => {
  test('stops the project, reports what was and was not done, exits 1, and the next apply converges', async () => {
    const T = 'broken';
    await api.handle.ensureProject(T);
    const [target] = await api.handle.seedKeys(T, [
      { description: 'to widen', permissions: ['OBJECTS_LIST'] },
      { description: 'to drop', permissions: ['OBJECTS_LIST'] },
    ]);
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(
      file,
      `version: 1\nprojects:\n  - token: ${T}\n    keys:\n` +
        '      - description: to widen\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n' +
        '      - description: brand new\n        permissions: [OBJECTS_LIST]\n',
    );
    const env = { SCALEFLEX_API_URL: api.handle.url, SCALEFLEX_API_KEY_BROKEN: api.handle.adminKey(T) };
    // Someone changes the key by hand after the plan was shown and before the answer.
    const r = await runInProcess(['apply', '-f', file], {
      env,
      cwd: dir,
      stdinIsTTY: true,
      answer: async () => {
        await callApi(api.handle, T, 'PATCH', `/keys/${target!.uuid}`, { permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] });
        return 'yes';
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/key "to widen" \(uuid [0-9a-f-]+\) changed since the plan was made: permissions are \[FILE_UPLOAD, OBJECTS_LIST\]/);
    expect(r.stdout).toMatch(/project broken: stopped after \d of 3 changes; \d not done:/);
    expect(r.stdout).toMatch(/not done:\n(.*\n)*    deactivate "to drop"/);
    expect(r.stderr).toContain('apply stopped part-way in 1 project (broken)');
    expect((await liveKeys(api.handle, T)).find((k) => k.description === 'to drop')!.active).toBe(true);

    const again = await runCli(['apply', '-f', file, '--auto-approve'], { env, cwd: dir });
    expect(again.code).toBe(0);
    const live = await liveKeys(api.handle, T);
    expect(live.find((k) => k.uuid === target!.uuid)!.permissions.sort()).toEqual(['OBJECTS_FETCH', 'OBJECTS_LIST']);
    expect(live.find((k) => k.description === 'to drop')!.active).toBe(false);
    expect(live.filter((k) => k.description === 'brand new')).toHaveLength(1);
    expect((await runCli(['plan', '-f', file, '--detailed-exitcode'], { env, cwd: dir })).code).toBe(0);
  });
});
