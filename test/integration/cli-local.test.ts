/**
 * The embedded default end to end: `--local` runs the emulator in-process with state in `.scaleflex-local/` of
 * the current directory, and `npm start` (its exact command line, from package.json) applies the example
 * manifest; run twice, the second run prints `No changes.`
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, type EmulatorHandle } from '../../src/emulator';
import { BIN, expectNoSecretInOutput, ROOT, runCli, tempDir } from '../helpers/cli';

let cwd: string;
let handle: EmulatorHandle | undefined;

/** The arguments of `npm start`, as package.json spells them. */
function npmStartArgs(): string[] {
  const script: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const words = script.split(/\s+/);
  expect(words.slice(0, 2)).toEqual(['node', 'dist/cli/bin.js']);
  return words.slice(2);
}

beforeAll(() => {
  cwd = tempDir();
  fs.mkdirSync(path.join(cwd, 'examples'));
  fs.copyFileSync(path.join(ROOT, 'examples', 'scaleflex-keys.yaml'), path.join(cwd, 'examples', 'scaleflex-keys.yaml'));
});

afterAll(async () => {
  // Reopen the local state (the CLI has released its lock) to learn every secret it issued, then scan.
  handle ??= await startEmulator({ stateDir: path.join(cwd, '.scaleflex-local'), port: 0, projects: ['demo'] });
  expectNoSecretInOutput(handle);
  await handle.close();
  fs.rmSync(cwd, { recursive: true, force: true });
});

test('npm start applies the example on the embedded emulator, and the second run prints No changes.', async () => {
  expect(fs.existsSync(BIN)).toBe(true);
  const first = await runCli(npmStartArgs(), { env: {}, cwd });
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/Plan: \d+ to create, 0 to change, 0 to deactivate\./);
  expect(first.stdout).toMatch(/Apply complete: \d+ created, 0 changed, 0 deactivated\./);
  const secretsFile = path.join(cwd, '.scaleflex-local', 'secrets.json');
  expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
  const secrets = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
  expect(Object.keys(secrets).sort()).toEqual(['demo', 'media-prod']);

  const second = await runCli(npmStartArgs(), { env: {}, cwd });
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('No changes.');
  expect(second.stdout).not.toContain('Apply complete');
});

test('plan, import and secrets pull work with --local too', async () => {
  const plan = await runCli(['plan', '-f', 'examples/scaleflex-keys.yaml', '--local', '--detailed-exitcode'], { env: {}, cwd });
  expect(plan.code).toBe(0);
  const imported = await runCli(['import', '--project', 'demo', '--local'], { env: {}, cwd });
  expect(imported.code).toBe(0);
  expect(imported.stdout).toContain('description: CI uploader');
  const pull = await runCli(['secrets', 'pull', '-f', 'examples/scaleflex-keys.yaml', '--local', '--project', 'demo', '--out', 'demo.env'], { env: {}, cwd });
  expect(pull.code).toBe(0);
  const env = fs.readFileSync(path.join(cwd, 'demo.env'), 'utf8');
  expect(env).toMatch(/^SCALEFLEX_KEY_DEMO_CI_UPLOADER=[0-9a-f]{32,}$/m);
  handle = await startEmulator({ stateDir: path.join(cwd, '.scaleflex-local'), port: 0, projects: ['demo'] });
  expect(handle.issuedSecrets()).toEqual(expect.arrayContaining([env.match(/^SCALEFLEX_KEY_DEMO_CI_UPLOADER=(.*)$/m)![1]]));
});
