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

test('audit --now and --warn-within report rotations and expiries as of that moment, like plan', async () => {
  const day = 86_400_000;
  const expires = new Date(Date.now() + 25 * day).toISOString().slice(0, 10);
  fs.writeFileSync(
    path.join(dir, 'rot.yaml'),
    'version: 1\nprojects:\n  - token: aud\n    keys:\n' +
      '      - description: uploader\n        permissions: [FILE_UPLOAD, OBJECTS_LIST, FILE_DELETE]\n        rotate: { every: 30d, overlap: 7d }\n' +
      `      - description: hand made\n        permissions: [OBJECTS_LIST]\n        expires: ${expires}\n`,
  );
  const at = (days: number) => new Date(Date.now() + days * day).toISOString();
  const audit = async (...extra: string[]) => {
    const r = await cli(['audit', '-f', 'rot.yaml', '--format', 'json', ...extra]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const by = (d: string) => doc.projects[0].keys.find((k: { description: string }) => k.description === d).lifecycle;
    return { doc, uploader: by('uploader'), handMade: by('hand made') };
  };
  // In 20 days: the rotation (at 30 days) and the expiry (at 25) are within the default 14-day window.
  const soon = await audit('--now', at(20));
  expect(soon.doc.generated_at).toBe(new Date(Date.parse(soon.doc.generated_at)).toISOString());
  expect(soon.uploader.rotation.state).toBe('soon');
  expect(soon.handMade.expiry).toEqual({ at: `${expires}T00:00:00.000Z`, state: 'soon' });
  expect(soon.doc.summary.due_soon).toBe(2);
  // A 2-day window leaves both for later; in 40 days the rotation is overdue and the key has expired.
  const later = await audit('--now', at(20), '--warn-within', '2d');
  expect([later.uploader.rotation.state, later.handMade.expiry.state, later.doc.warn_within_days]).toEqual(['scheduled', 'scheduled', 2]);
  const due = await audit('--now', at(40));
  expect([due.uploader.rotation.state, due.handMade.expiry.state]).toEqual(['overdue', 'expired']);
  expect(due.doc.summary).toMatchObject({ rotation_overdue: 1, expired: 1 });
  const bad = await cli(['audit', '-f', 'rot.yaml', '--now', 'tomorrow']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('--now');
});
