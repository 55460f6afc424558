/**
 * `import --out` never destroys a manifest: an existing file is refused unless `--merge` (edit it in place: the
 * other projects, comments and permission sets stay as written) or `--force`. Round trip against the emulator:
 * the merged manifest validates and plans empty for the imported project. The merged file (uuids and dates
 * normalized) is a golden file in test/golden/import/; accept an intended change with
 * `UPDATE_GOLDEN=1 npx jest test/integration/import-merge.test.ts` and review the diff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseManifestText } from '../../src/manifest';
import { expectNoSecretInOutput, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const GOLDEN = path.join(__dirname, '..', 'golden', 'import');
let api: TestApi;
let dir: string;

const KEEP_PROJECT = [
  '  # The web project is managed by hand; import must not touch it.',
  '  - token: web',
  '    unmanaged: ignore # keys made in the console stay',
  '    keys:',
  '      - description: "web: read-only" # used by the storefront',
  '        permissionSets: [read-only]',
  '',
].join('\n');

const TWO_PROJECTS = [
  '# yaml-language-server: $schema=./node_modules/scaleflex-keys/schemas/scaleflex-keys.schema.json',
  '# Keys of the shop, reviewed in pull requests.',
  'version: 1',
  'permissionSets:',
  '  read-only: [OBJECTS_LIST, OBJECTS_FETCH] # the storefront set',
  'projects:',
  KEEP_PROJECT.trimEnd(),
  '  - token: shop',
  '    keys:',
  '      # the uploader our CI uses',
  '      - description: "CI uploader"',
  '        permissions: [FILE_UPLOAD]',
  '        permissionSets: [read-only]',
  '      - description: "Planned, never created"',
  '        permissions: [OBJECTS_LIST]',
  '',
].join('\n');

function normalize(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<date>');
}

function golden(file: string, actual: string): void {
  const full = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(full)) fs.writeFileSync(full, actual);
  expect(actual).toBe(fs.readFileSync(full, 'utf8'));
}

const cli = (args: string[], env: Record<string, string | undefined> = api.env('shop')) => runInProcess(args, { env, cwd: dir });
const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

beforeAll(async () => {
  api = await startTestApi(['shop', 'web']);
  dir = tempDir();
  await api.handle.seedKeys('shop', [
    { description: 'CI uploader', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST', 'OBJECTS_FETCH'] },
    { description: 'Made in the console', permissions: ['LABELS_LIST'] },
    { description: 'Old', permissions: ['OBJECTS_LIST'], active: false },
  ]);
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('import --merge', () => {
  test('merging a project into a two-project manifest keeps the other project, the comments and the permission sets, and plans empty', async () => {
    fs.writeFileSync(path.join(dir, 'scaleflex-keys.yaml'), TWO_PROJECTS);
    const r = await cli(['import', '--project', 'shop', '--out', 'scaleflex-keys.yaml', '--merge']);
    expect(r.stderr).toContain('Merged 4 keys of shop into scaleflex-keys.yaml');
    expect(r.code).toBe(0);
    const merged = read('scaleflex-keys.yaml');
    expect(merged).toContain(KEEP_PROJECT);
    expect(merged.startsWith(TWO_PROJECTS.split('projects:')[0]!)).toBe(true);
    expect(merged).toContain('      # the uploader our CI uses\n      - description: "CI uploader"\n        permissions: [FILE_UPLOAD]\n        permissionSets: [read-only]\n');
    expect(merged).not.toContain('Planned, never created');
    expect(merged).toContain('Made in the console');
    expect(parseManifestText(merged, 'scaleflex-keys.yaml').diagnostics).toEqual([]);
    const plan = await cli(['plan', '--project', 'shop', '--detailed-exitcode']);
    expect(plan.stdout).toContain('No changes.');
    expect(plan.code).toBe(0);
    golden('merged.yaml', normalize(merged));
  });

  test('merging again changes nothing (the merge is idempotent)', async () => {
    const before = read('scaleflex-keys.yaml');
    expect((await cli(['import', '--project', 'shop', '--out', 'scaleflex-keys.yaml', '--merge'])).code).toBe(0);
    expect(read('scaleflex-keys.yaml')).toBe(before);
  });

  test('a project the manifest does not have yet is appended, the rest unchanged', async () => {
    fs.writeFileSync(path.join(dir, 'web-only.yaml'), TWO_PROJECTS.split('  - token: shop')[0]!);
    const r = await cli(['import', '--project', 'shop', '--out', 'web-only.yaml', '--merge']);
    expect(r.code).toBe(0);
    const merged = read('web-only.yaml');
    expect(merged.startsWith(TWO_PROJECTS.split('  - token: shop')[0]!)).toBe(true);
    expect(merged).toContain('- token: shop');
    expect(parseManifestText(merged, 'web-only.yaml').diagnostics).toEqual([]);
    expect((await cli(['plan', '-f', 'web-only.yaml', '--project', 'shop', '--detailed-exitcode'])).code).toBe(0);
  });
});

describe('import never destroys a manifest', () => {
  test('an existing --out file is refused without --merge or --force, and is left unchanged', async () => {
    fs.writeFileSync(path.join(dir, 'existing.yaml'), TWO_PROJECTS);
    const r = await cli(['import', '--project', 'shop', '--out', 'existing.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('existing.yaml already exists; import does not overwrite a manifest');
    expect(r.stderr).toContain('--merge');
    expect(read('existing.yaml')).toBe(TWO_PROJECTS);
  });

  test('--force replaces the file with the imported projects only', async () => {
    const r = await cli(['import', '--project', 'shop', '--out', 'existing.yaml', '--force']);
    expect(r.code).toBe(0);
    expect(read('existing.yaml')).not.toContain('token: web');
  });

  test('--merge into an invalid manifest names file:line:col, sends no request and changes nothing', async () => {
    const broken = TWO_PROJECTS.replace('unmanaged: ignore', 'unmanagd: ignore');
    fs.writeFileSync(path.join(dir, 'broken.yaml'), broken);
    api.handle.resetStats();
    const r = await cli(['import', '--project', 'shop', '--out', 'broken.yaml', '--merge']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:9:\d+/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(api.handle.stats().requests).toBe(0);
    expect(read('broken.yaml')).toBe(broken);
  });

  test('--merge and --force without --out, or together, are usage errors', async () => {
    expect((await cli(['import', '--project', 'shop', '--merge'])).code).toBe(1);
    expect((await cli(['import', '--project', 'shop', '--out', 'x.yaml', '--merge', '--force'])).code).toBe(1);
    expect(fs.existsSync(path.join(dir, 'x.yaml'))).toBe(false);
  });
});

describe('the $schema modeline', () => {
  test('points at the installed package schema relative to the written file', async () => {
    fs.mkdirSync(path.join(dir, 'infra'), { recursive: true });
    const r = await cli(['import', '--project', 'shop', '--out', 'infra/keys.yaml']);
    expect(r.code).toBe(0);
    expect(read('infra/keys.yaml').split('\n')[0]).toBe('# yaml-language-server: $schema=../node_modules/scaleflex-keys/schemas/scaleflex-keys.schema.json');
    const stdout = await cli(['import', '--project', 'shop']);
    expect(stdout.stdout.split('\n')[0]).toBe('# yaml-language-server: $schema=./node_modules/scaleflex-keys/schemas/scaleflex-keys.schema.json');
  });
});
