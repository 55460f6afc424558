/**
 * `scaleflex-keys emulator` run in-process through `main()`: bad knobs are usage errors (exit 1) that start
 * nothing, and a good run prints the URL and admin-key paths, serves, and stops with exit 0 on SIGTERM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/io';
import { redact } from '../../src/redact';
import { removeDir, tempStateDir } from './emulator-contract';

function captureIo(cwd: string): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    env: {},
    cwd,
    stdoutIsTTY: false,
    stdinIsTTY: false,
    out: (t) => void (out += redact(t)),
    err: (t) => void (err += redact(t)),
    readLine: async () => undefined,
    stdout: () => out,
    stderr: () => err,
  };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test.each([
  [['--latency', '9..1'], /maximum below its minimum/],
  [['--latency', 'soon'], /MS or MIN\.\.MAX/],
  [['--faults', 'http500,meteor'], /unknown fault kind "meteor"/],
  [['--project', 'bad token'], /not a valid project token/],
  [['--fault-rate', '1.5'], /from 0 to 1/],
  [['--rate-limit', '-1'], /whole number/],
])('emulator %j is a usage error (exit 1, never 2) and creates no state', async (args, message) => {
  const dir = tempStateDir();
  dirs.push(dir);
  const io = captureIo(dir);
  const code = await main(['emulator', '--port', '0', '--state-dir', path.join(dir, 'state'), ...args], io);
  expect(code).toBe(1);
  expect(io.stderr()).toMatch(message);
  expect(fs.existsSync(path.join(dir, 'state'))).toBe(false);
});

test('a run prints the URL and each admin-key path (not the key), serves requests, and SIGTERM stops it with exit 0', async () => {
  const dir = tempStateDir();
  dirs.push(dir);
  const io = captureIo(dir);
  const running = main(['emulator', '--port', '0', '--state-dir', 'st', '--project', 'alpha', '--project', 'beta', '--seed', '3'], io);
  while (!io.stdout().includes('project beta')) await new Promise((r) => setTimeout(r, 10));
  const url = /listening on (http:\/\/\S+)/.exec(io.stdout())![1]!;
  const keyFile = path.join(dir, 'st', 'alpha.admin-key');
  expect(io.stdout()).toContain(`admin key in ${keyFile}`);
  const admin = fs.readFileSync(keyFile, 'utf8').trim();
  expect(io.stdout()).not.toContain(admin);
  expect(io.stdout()).not.toContain('[REDACTED]'); // not even an attempt that the redactor caught

  const res = await fetch(`${url}/alpha/v5/keys/self`, { headers: { 'X-Filerobot-Key': admin } });
  expect(res.status).toBe(200);
  await res.text();
  await new Promise((r) => setTimeout(r, 20));
  expect(io.stdout()).toMatch(/^GET \/alpha\/v5\/keys\/self 200 \d+ms \S+$/m);
  expect(io.stdout()).not.toContain(admin);

  process.emit('SIGTERM', 'SIGTERM');
  expect(await running).toBe(0);
  expect(fs.existsSync(path.join(dir, 'st', 'emulator.lock'))).toBe(false);
});
