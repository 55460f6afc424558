/**
 * A Scaleflex that added a 32nd permission (the emulator's test-only `extraPermissions`): plans keep it on the key,
 * never remove it, warn about it, and a saved plan carrying it applies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

beforeAll(async () => {
  api = await startTestApi(['newer'], { extraPermissions: ['ASSET_TELEPORT'] } as Parameters<typeof startTestApi>[1]);
  dir = tempDir();
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a live key holding a permission this version does not know keeps it through plan --out and apply plan.json', async () => {
  const [k] = await api.handle.seedKeys('newer', [{ description: 'ci', permissions: ['OBJECTS_LIST', 'ASSET_TELEPORT'] }]);
  fs.writeFileSync(path.join(dir, 'm.yaml'), 'version: 1\nprojects:\n  - token: newer\n    unmanaged: ignore\n    keys:\n      - description: ci\n        permissions: [FILE_UPLOAD]\n');
  const plan = await runCli(['plan', '-f', 'm.yaml', '--out', 'p.json'], { env: api.env(), cwd: dir });
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('permission ASSET_TELEPORT is unknown to this version of scaleflex-keys; it is kept');
  expect(plan.stdout).not.toMatch(/- ASSET_TELEPORT/);
  const apply = await runCli(['apply', 'p.json'], { env: api.env(), cwd: dir });
  expect(apply.stderr).toBe('');
  expect(apply.code).toBe(0);
  const after = (await liveKeys(api.handle, 'newer')).find((x) => x.uuid === k!.uuid)!;
  expect(after.permissions.sort()).toEqual(['ASSET_TELEPORT', 'FILE_UPLOAD']);
  // And the next plan has nothing to do: the unknown permission is not a difference.
  const again = await runCli(['plan', '-f', 'm.yaml', '--detailed-exitcode'], { env: api.env(), cwd: dir });
  expect(again.code).toBe(0);
});
