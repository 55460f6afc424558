/**
 * The package installs and runs the way the README's Install section says: `npm pack` (its `prepare` builds it),
 * the tarball installed into a fresh consumer project, then `npx scaleflex-keys validate / plan --local /
 * apply --local --auto-approve` there. A YAML-only install gets no cdktf (optional peers), and the schema the
 * manifest's modeline names from node_modules/ is self-contained and validates the manifest. Uses the npm registry
 * for the package's dependencies.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { ROOT, tempDir } from '../helpers/cli';

const run = promisify(execFile);
jest.setTimeout(180_000);

let dir: string;
let consumer: string;

/** The environment of the npm and npx children: no credential, no CI variable of ours, no colour. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SCALEFLEX_') && !k.startsWith('npm_') && !k.startsWith('GITHUB_')) e[k] = v;
  return { ...e, NO_COLOR: '1' };
}

const npx = (...args: string[]) => run('npx', ['--no-install', 'scaleflex-keys', ...args], { cwd: consumer, env: env() });

const MANIFEST = [
  '# yaml-language-server: $schema=./node_modules/scaleflex-keys/schemas/scaleflex-keys.schema.json',
  'version: 1',
  'projects:',
  '  - token: demo',
  '    unmanaged: ignore',
  '    keys:',
  '      - description: CI uploader',
  '        permissions: [FILE_UPLOAD]',
  '',
].join('\n');

beforeAll(async () => {
  dir = tempDir();
  consumer = path.join(dir, 'consumer');
  fs.mkdirSync(consumer);
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, env: env() });
  const tarball = path.join(dir, packed.stdout.trim().split('\n').pop()!);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'keys-gitops', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: consumer, env: env() });
  fs.writeFileSync(path.join(consumer, 'scaleflex-keys.yaml'), MANIFEST);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('npx scaleflex-keys validates, plans and applies in a fresh project that installed the packed tarball', async () => {
  const validate = await npx('validate');
  expect(validate.stdout + validate.stderr).toMatch(/valid/i);
  const plan = await npx('plan', '--local');
  expect(plan.stdout).toContain('Plan: 1 to create, 0 to change, 0 to deactivate.');
  const apply = await npx('apply', '--local', '--auto-approve');
  expect(apply.stdout).toContain('Apply complete: 1 created, 0 changed, 0 deactivated.');
  const again = await npx('plan', '--local', '--detailed-exitcode');
  expect(again.stdout).toContain('No changes.');
});

test('a YAML-only install gets no cdktf, constructs or provider (optional peers)', () => {
  for (const name of ['cdktf', 'constructs', '@cdktf/provider-null']) {
    expect(fs.existsSync(path.join(consumer, 'node_modules', name))).toBe(false);
  }
});

test('the schema the modeline names exists there, is self-contained and validates the manifest', () => {
  const file = path.join(consumer, 'node_modules', 'scaleflex-keys', 'schemas', 'scaleflex-keys.schema.json');
  const text = fs.readFileSync(file, 'utf8');
  const refs = [...text.matchAll(/"\$ref"\s*:\s*"([^"]*)"/g)].map((m) => m[1]!);
  expect(refs.filter((r) => !r.startsWith('#'))).toEqual([]);
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(text));
  expect(validate(parse(MANIFEST))).toBe(true);
  expect(validate(parse(MANIFEST.replace('FILE_UPLOAD', 'FILE_UPLOD')))).toBe(false);
});
