/**
 * Requests `apply` sends, asserted exactly (the API's latency makes every round trip count): one self check, one
 * listing, and per change kind only what the API needs — no per-key re-read — against the real emulator.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectNoSecretInOutput, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

beforeAll(async () => {
  api = await startTestApi(['deact', 'perms', 'saved', 'deact2k']);
  dir = tempDir();
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const seed = (token: string, n: number) =>
  api.handle.seedKeys(token, Array.from({ length: n }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST'] })));

test('250 deactivations: 1 self check, 3 list pages, 3 bulk calls — nothing else', async () => {
  await seed('deact', 250);
  fs.writeFileSync(path.join(dir, 'deact.yaml'), 'version: 1\nprojects:\n  - token: deact\n    keys: []\n');
  api.handle.resetStats();
  const r = await runCli(['apply', '-f', 'deact.yaml', '--auto-approve', '--force'], { env: api.env('deact'), cwd: dir });
  expect(r.code).toBe(0);
  expect(api.handle.stats().byRoute).toEqual({ 'GET /keys/self': 1, 'GET /keys': 3, 'POST /keys/status': 3 });
});

test("2,000 deactivations (bench:apply's first row): 1 self check, 21 list pages, 20 bulk calls of 100", async () => {
  await seed('deact2k', 2000);
  fs.writeFileSync(path.join(dir, 'deact2k.yaml'), 'version: 1\nprojects:\n  - token: deact2k\n    keys: []\n');
  api.handle.resetStats();
  const r = await runCli(['apply', '-f', 'deact2k.yaml', '--auto-approve', '--force'], { env: api.env('deact2k'), cwd: dir });
  expect(r.code).toBe(0);
  // 2,000 keys and the admin key: 2,001 keys in pages of 100.
  expect(api.handle.stats().byRoute).toEqual({ 'GET /keys/self': 1, 'GET /keys': 21, 'POST /keys/status': 20 });
  expect(r.stdout).toContain('2000 deactivated');
}, 60_000);

test('120 permission changes: 1 self check, 2 list pages, one PATCH per key', async () => {
  await seed('perms', 120);
  const keys = Array.from({ length: 120 }, (_, k) => `      - description: "key ${k}"\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n`).join('');
  fs.writeFileSync(path.join(dir, 'perms.yaml'), `version: 1\nprojects:\n  - token: perms\n    unmanaged: ignore\n    keys:\n${keys}`);
  api.handle.resetStats();
  const r = await runCli(['apply', '-f', 'perms.yaml', '--auto-approve'], { env: api.env('perms'), cwd: dir });
  expect(r.code).toBe(0);
  expect(api.handle.stats().byRoute).toEqual({ 'GET /keys/self': 1, 'GET /keys': 2, 'PATCH /keys/{uuid}': 120 });
});

test('a saved plan of 150 deactivations: the planning listing, then at apply 1 self check, 2 pages, 2 bulk calls', async () => {
  await seed('saved', 150);
  fs.writeFileSync(path.join(dir, 'saved.yaml'), 'version: 1\nprojects:\n  - token: saved\n    keys: []\n');
  expect((await runCli(['plan', '-f', 'saved.yaml', '--out', 'saved.plan.json', '--force'], { env: api.env('saved'), cwd: dir })).code).toBe(0);
  api.handle.resetStats();
  const r = await runCli(['apply', 'saved.plan.json', '--force'], { env: api.env('saved'), cwd: dir });
  expect(r.code).toBe(0);
  expect(api.handle.stats().byRoute).toEqual({ 'GET /keys/self': 1, 'GET /keys': 2, 'POST /keys/status': 2 });
});
