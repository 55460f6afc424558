/**
 * What an interrupted race leaves behind, end to end against the emulator (30 rounds, in-process CLI for speed):
 * exact twins of a declared key are retired by the next plan instead of refusing the project; and after an apply
 * with --secrets-out, declared keys whose secret the file lacks are listed with the `secrets pull` line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectNoSecretInOutput, liveKeys, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

beforeAll(async () => {
  api = await startTestApi(['twins', 'missing']);
  dir = tempDir();
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('30 rounds: twins left by a killed racing apply are retired by the next apply; the plan after is empty', async () => {
  for (let round = 0; round < 30; round++) {
    const d = `job ${round}`;
    const now = Date.now();
    await api.handle.seedKeys('twins', [
      { description: d, permissions: ['OBJECTS_LIST'], createdAt: new Date(now - 5000).toISOString() },
      { description: d, permissions: ['OBJECTS_LIST'], createdAt: new Date(now - 4000).toISOString() },
    ] as Parameters<typeof api.handle.seedKeys>[1]);
    const keys = Array.from({ length: round + 1 }, (_, i) => `      - description: "job ${i}"\n        permissions: [OBJECTS_LIST]\n`).join('');
    fs.writeFileSync(path.join(dir, 'twins.yaml'), `version: 1\nprojects:\n  - token: twins\n    unmanaged: ignore\n    keys:\n${keys}`);
    const plan = await runInProcess(['plan', '-f', 'twins.yaml', '--detailed-exitcode'], { env: api.env('twins'), cwd: dir });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('a duplicate an interrupted race left');
    expect((await runInProcess(['apply', '-f', 'twins.yaml', '--auto-approve'], { env: api.env('twins'), cwd: dir })).code).toBe(0);
    expect((await runInProcess(['plan', '-f', 'twins.yaml', '--detailed-exitcode'], { env: api.env('twins'), cwd: dir })).code).toBe(0);
    expect((await liveKeys(api.handle, 'twins')).filter((k) => k.description === d && k.active)).toHaveLength(1);
  }
}, 240_000);

test('apply --secrets-out lists declared keys whose secret the file does not hold, with the secrets pull line', async () => {
  await api.handle.seedKeys('missing', [{ description: 'made earlier', permissions: ['OBJECTS_LIST'] }]);
  fs.writeFileSync(
    path.join(dir, 'missing.yaml'),
    'version: 1\nprojects:\n  - token: missing\n    keys:\n      - description: "made earlier"\n        permissions: [OBJECTS_LIST]\n      - description: "new one"\n        permissions: [OBJECTS_LIST]\n',
  );
  const r = await runInProcess(['apply', '-f', 'missing.yaml', '--auto-approve', '--force', '--secrets-out', 'new.env'], { env: api.env('missing'), cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('1 declared key has no secret in new.env');
  expect(r.stderr).toContain('scaleflex-keys secrets pull -f missing.yaml --project missing --description "made earlier" --out new.env');
  expect(fs.readFileSync(path.join(dir, 'new.env'), 'utf8')).toContain('SCALEFLEX_KEY_MISSING_NEW_ONE=');
});
