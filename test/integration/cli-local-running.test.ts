/**
 * `--local` next to a running `scaleflex-keys emulator` on the same state dir: the CLI uses that emulator (the lock
 * records where it listens) instead of failing on the lock, and `--state-dir` names the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, runCli, tempDir } from '../helpers/cli';

let dir: string;
let emulator: ChildProcess;
let log = '';

beforeAll(async () => {
  dir = tempDir();
  emulator = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-dir', 'state', '--project', 'demo'], { cwd: dir, env: { PATH: process.env.PATH } });
  emulator.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${log}`)), 20_000);
    emulator.stdout!.on('data', () => {
      if (log.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
});

afterAll(async () => {
  emulator.kill('SIGTERM');
  await new Promise((resolve) => emulator.once('close', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('plan and apply --local --state-dir use the running emulator', async () => {
  fs.writeFileSync(path.join(dir, 'm.yaml'), 'version: 1\nprojects:\n  - token: demo\n    keys:\n      - description: ci\n        permissions: [OBJECTS_LIST]\n');
  const plan = await runCli(['plan', '-f', 'm.yaml', '--local', '--state-dir', 'state'], { env: {}, cwd: dir });
  expect(plan.stderr).toBe('');
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('Plan: 1 to create');
  const apply = await runCli(['apply', '-f', 'm.yaml', '--local', '--state-dir', 'state', '--auto-approve'], { env: {}, cwd: dir });
  expect(apply.code).toBe(0);
  // The running emulator served it: its request log shows the create.
  expect(log).toMatch(/POST \/demo\/v5\/keys 201/);
});

test('a project the running emulator does not serve is a clear error', async () => {
  fs.writeFileSync(path.join(dir, 'other.yaml'), 'version: 1\nprojects:\n  - token: other\n    keys: []\n');
  const r = await runCli(['plan', '-f', 'other.yaml', '--local', '--state-dir', 'state'], { env: {}, cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('project other is not served by the emulator running on state');
  expect(r.stderr).toContain('--project other');
});
