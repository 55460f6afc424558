/**
 * `scaleflex-keys audit` end to end: the built CLI against the emulator over HTTP. A read-only key is enough,
 * every format comes out, nothing changes on the server, no secret is printed, and bad input (a broken policy
 * file, no project) fails before any request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectNoSecretInOutput, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;
let env: Record<string, string>;

const MANIFEST = `version: 1
policy:
  - forbid: [ACCESS_MANAGE]
    except: ["auditor*", "admin*"]
  - requireOwner: true
    severity: warning
projects:
  - token: aud
    keys:
      - description: uploader
        permissions: [FILE_UPLOAD, OBJECTS_LIST]
        owner: "@ci"
      - description: risky
        permissions: [ACCESS_MANAGE]
`;

beforeAll(async () => {
  api = await startTestApi(['aud']);
  dir = tempDir();
  await api.handle.seedKeys('aud', [
    { description: 'uploader', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST', 'FILE_DELETE'] },
    { description: 'hand made', permissions: ['OBJECTS_LIST'] },
  ]);
  const [reader] = await api.handle.seedKeys('aud', [{ description: 'auditor (read-only)', permissions: ['ACCESS_READ'] }]);
  env = { SCALEFLEX_API_URL: api.handle.url, SCALEFLEX_API_KEY_AUD: reader!.secret, SOURCE_DATE_EPOCH: '1800000000' };
  fs.writeFileSync(path.join(dir, 'keys.yaml'), MANIFEST);
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], e: Record<string, string | undefined> = env) => runCli(args, { env: e, cwd: dir });

test('audit with a read-only key reports drift, unmanaged keys and policy findings as JSON, and changes nothing', async () => {
  api.handle.resetStats();
  const r = await cli(['audit', '-f', 'keys.yaml', '--format', 'json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.generated_at).toBe('2027-01-15T08:00:00.000Z');
  const keys = doc.projects[0].keys as { description: string; managed: boolean; drift: string[]; owner: string | null }[];
  const by = (d: string) => keys.find((k) => k.description === d)!;
  expect(by('uploader')).toMatchObject({ managed: true, owner: '@ci', drift: ['+FILE_DELETE (live key holds it, manifest does not)'] });
  expect(by('hand made').managed).toBe(false);
  expect(doc.projects[0].missing).toEqual(['risky']);
  expect(doc.projects[0].findings.map((f: { rule: string; description: string }) => `${f.rule} ${f.description}`)).toEqual(['forbid risky', 'requireOwner risky']);
  const stats = api.handle.stats().byRoute as Record<string, number>;
  expect(Object.keys(stats).filter((route) => !route.startsWith('GET '))).toEqual([]);
});

test.each(['markdown', 'html', 'csv', 'sarif'])('audit --format %s --out writes the report atomically', async (format) => {
  const out = `audit.${format}`;
  const r = await cli(['audit', '-f', 'keys.yaml', '--format', format, '--out', out]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`Wrote the ${format} audit of 4 keys in 1 project to ${out}`);
  const text = fs.readFileSync(path.join(dir, out), 'utf8');
  expect(text).toContain(format === 'sarif' ? '"version": "2.1.0"' : 'uploader');
});

test('audit --project without a manifest reports the live keys alone; --findings needs csv', async () => {
  const r = await cli(['audit', '--project', 'aud', '--format', 'csv']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')[0]).toMatch(/^row,project,uuid,description,/);
  // The emulator's bootstrap admin key, the auditor, and the two seeded keys.
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1 + 4);
  const bad = await cli(['audit', '--project', 'aud', '--findings']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('--findings');
});

test('a broken policy file fails at its line before any request, without a stack trace', async () => {
  fs.writeFileSync(path.join(dir, 'org.yaml'), 'policy:\n  - maxAge: soon\n');
  api.handle.resetStats();
  const r = await cli(['audit', '-f', 'keys.yaml', '--policy', 'org.yaml']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('org.yaml:2:13');
  expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  expect(api.handle.stats().requests).toBe(0);
  const none = await cli(['audit']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('--project');
});
