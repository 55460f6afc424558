/**
 * `show plan.json` against `plan`: for the same plan, `show` prints exactly what `plan` printed (text, Markdown,
 * JSON), offline — the show runs get no credentials and no API URL. The normalized outputs (uuids, dates and
 * secret previews vary per emulator run) are also kept as golden files in test/golden/show/; to accept an
 * intended change run `UPDATE_GOLDEN=1 npx jest test/integration/show-plan.test.ts` and review the diff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callApi, expectNoSecretInOutput, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const GOLDEN = path.join(__dirname, '..', 'golden', 'show');
let api: TestApi;
let dir: string;

/** Replaces what differs between emulator runs with stable placeholders. */
function normalize(text: string, url: string): string {
  return text
    .split(url)
    .join('http://emulator')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<date>')
    .replace(/\*{4}[0-9A-Za-z_-]{4}/g, '****<prev>')
    .replace(/sha256:[0-9a-f]+/g, 'sha256:<digest>');
}

function golden(file: string, actual: string): void {
  const full = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(full)) fs.writeFileSync(full, actual);
  expect(actual).toBe(fs.readFileSync(full, 'utf8'));
}

beforeAll(async () => {
  api = await startTestApi(['alpha', 'beta']);
  dir = tempDir();
  // Live keys to change and to deactivate, so that the plan has every kind of change.
  await callApi(api.handle, 'alpha', 'POST', '/keys', { description: 'Widen me', permissions: ['OBJECTS_LIST'] });
  await callApi(api.handle, 'beta', 'POST', '/keys', { description: 'Stray', permissions: ['FILE_UPLOAD'] });
  fs.writeFileSync(
    path.join(dir, 'scaleflex-keys.yaml'),
    [
      'version: 1',
      'projects:',
      '  - token: alpha',
      '    unmanaged: ignore',
      '    keys:',
      '      - description: "Widen me"',
      '        permissions: [OBJECTS_LIST, FILE_UPLOAD]',
      '      - description: "New *uploader* @someone"',
      '        permissions: [FILE_UPLOAD, ACCESS_MANAGE]',
      '  - token: beta',
      '    unmanaged: deactivate',
      '    keys: []',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('show renders a saved plan exactly as plan did', () => {
  test.each(['text', 'markdown', 'json'] as const)('show --format %s equals plan with the same format for the same plan, with no credentials', async (format) => {
    const planned = await runInProcess(['plan', '--format', format, '--out', `${format}.plan.json`], { env: api.env(), cwd: dir });
    expect([0, 3]).toContain(planned.code);
    const shown = await runInProcess(['show', `${format}.plan.json`, '--format', format], { env: {}, cwd: dir });
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(planned.stdout);
    expect(shown.stdout).toContain('Widen me');
    golden(`plan.${format === 'markdown' ? 'md' : format === 'json' ? 'json' : 'txt'}`, normalize(shown.stdout, api.handle.url));
  });

  test('show defaults to text', async () => {
    const text = await runInProcess(['show', 'text.plan.json'], { env: {}, cwd: dir });
    expect(text.stdout).toBe((await runInProcess(['show', 'text.plan.json', '--format', 'text'], { env: {}, cwd: dir })).stdout);
  });
});

describe('show refuses bad input clearly', () => {
  test('a missing plan file exits 1 naming the file, without a stack trace', async () => {
    const r = await runInProcess(['show', 'nope.json'], { env: {}, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read the plan file nope.json: ENOENT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a file that is not a plan exits 1 naming the file', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"hello": 1}\n');
    const r = await runInProcess(['show', 'bad.json'], { env: {}, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.json: not a plan file');
  });

  test('without a plan file it is a usage error (exit 1)', async () => {
    const r = await runInProcess(['show'], { env: {}, cwd: dir });
    expect(r.code).toBe(1);
  });
});
