/** Unit tests of the secrets file: format choice, merging (.json and .env), atomic 0600 writes, CI masking. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretsFileError } from '../../src/errors';
import {
  envVarName,
  mergeSecrets,
  preflightSecretsFile,
  protectSecret,
  SecretSink,
  secretsFormatFor,
  writeSecretsFile,
  type KeySecret,
} from '../../src/cli/secrets-file';
import type { Io } from '../../src/cli/io';
import { redact } from '../../src/redact';

const s = (project: string, description: string, secret: string, uuid = `uuid-${description}`): KeySecret => ({ project, description, secret, uuid });

function captureIo(env: NodeJS.ProcessEnv = {}): Io & { stdout: string[]; raw: string[] } {
  const stdout: string[] = [];
  const raw: string[] = [];
  return {
    env, cwd: process.cwd(), stdoutIsTTY: false, stdinIsTTY: false, stdout, raw,
    out: (t) => void stdout.push(redact(t)),
    err: (t) => void stdout.push(redact(t)),
    readLine: async () => undefined,
    unredactedOut: (t) => void raw.push(t),
  };
}

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('secretsFormatFor', () => {
  test.each([
    ['secrets.json', undefined, 'json'],
    ['.env', undefined, 'env'],
    ['prod.env', undefined, 'env'],
    ['.env.local', undefined, 'env'],
    ['dir/SECRETS.ENV', undefined, 'env'],
    ['secrets.txt', undefined, 'json'],
    ['secrets.json', 'env', 'env'],
    ['.env', 'json', 'json'],
  ])('%s with --format %s is %s', (file, explicit, expected) => {
    expect(secretsFormatFor(file, explicit)).toBe(expected);
  });
});

describe('envVarName', () => {
  test.each([
    ['demo', 'CI uploader', 'SCALEFLEX_KEY_DEMO_CI_UPLOADER'],
    ['my-shop', 'web: read-only (v2)', 'SCALEFLEX_KEY_MY_SHOP_WEB_READ_ONLY_V2'],
    ['p', '✓✓', 'SCALEFLEX_KEY_P_KEY'],
  ])('project %s, description %s -> %s', (project, description, expected) => {
    expect(envVarName(project, description)).toBe(expected);
  });
});

describe('mergeSecrets', () => {
  test('json: a map of projects to descriptions to secrets, sorted, merged with what is there', () => {
    const first = mergeSecrets(undefined, [s('demo', 'b', 'secret-b-0000'), s('demo', 'a', 'secret-a-0000')], 'json');
    expect(JSON.parse(first)).toEqual({ demo: { a: 'secret-a-0000', b: 'secret-b-0000' } });
    const second = mergeSecrets(first, [s('demo', 'a', 'secret-a-1111'), s('other', 'c', 'secret-c-0000')], 'json');
    expect(second).toBe(`${JSON.stringify({ demo: { a: 'secret-a-1111', b: 'secret-b-0000' }, other: { c: 'secret-c-0000' } }, null, 2)}\n`);
  });

  test('json: keys sharing a description keep both secrets, named with their uuid', () => {
    const out = JSON.parse(mergeSecrets(undefined, [s('p', 'test', 'secret-1-xxxx', 'u1'), s('p', 'test', 'secret-2-xxxx', 'u2')], 'json'));
    expect(out).toEqual({ p: { 'test (u1)': 'secret-1-xxxx', 'test (u2)': 'secret-2-xxxx' } });
  });

  test.each([
    ['not JSON', '{oops'],
    ['an array', '[]'],
    ['a project that is not a map', '{"demo": "x"}'],
    ['a non-string secret', '{"demo": {"a": 1}}'],
  ])('json: refuses to merge into %s', (_name, existing) => {
    expect(() => mergeSecrets(existing, [s('demo', 'a', 'secret-a-0000')], 'json', 'f.json')).toThrow(SecretsFileError);
  });

  test('env: appends commented lines and replaces an existing variable in place, keeping other lines; the comment names the new key', () => {
    const existing = 'OTHER=1\n# demo: a (old)\nSCALEFLEX_KEY_DEMO_A=old-secret-000\n';
    const out = mergeSecrets(existing, [s('demo', 'a', 'new-secret-aaaa'), s('demo', 'b', 'new-secret-bbbb', 'ub')], 'env');
    expect(out).toBe('OTHER=1\n# demo: a (uuid-a)\nSCALEFLEX_KEY_DEMO_A=new-secret-aaaa\n# demo: b (ub)\nSCALEFLEX_KEY_DEMO_B=new-secret-bbbb\n');
  });

  test('env: six descriptions that spell one variable, written one batch at a time, all survive, each comment above its own secret', () => {
    const names = ['CI uploader', 'CI-uploader', 'ci_uploader', 'CI.uploader', 'CI  uploader', 'ci uploader'];
    let text: string | undefined;
    names.forEach((d, i) => (text = mergeSecrets(text, [s('demo', d, `secret-${i}-xxxxxxxx`, `u${i}000000`)], 'env')));
    // And once more, as a second run would: nothing moves.
    const again = names.reduce<string | undefined>((t, d, i) => mergeSecrets(t, [s('demo', d, `secret-${i}-xxxxxxxx`, `u${i}000000`)], 'env'), text);
    expect(again).toBe(text);
    const lines = text!.trimEnd().split('\n');
    const vars = lines.filter((l) => l.includes('='));
    expect(new Set(vars.map((l) => l.split('=')[0])).size).toBe(6);
    names.forEach((d, i) => {
      const at = lines.indexOf(lines.find((l) => l.endsWith(`=secret-${i}-xxxxxxxx`))!);
      expect(lines[at - 1]).toBe(`# demo: ${d} (u${i}000000)`);
    });
  });

  test('env: two descriptions that spell the same variable both survive', () => {
    const out = mergeSecrets(undefined, [s('p', 'ci-key', 'secret-1-xxxx', 'aaaa1111'), s('p', 'ci key', 'secret-2-xxxx', 'bbbb2222')], 'env');
    const vars = out.split('\n').filter((l) => l.includes('='));
    expect(vars).toEqual(['SCALEFLEX_KEY_P_CI_KEY=secret-2-xxxx', 'SCALEFLEX_KEY_P_CI_KEY_AAAA1111=secret-1-xxxx']);
  });
});

describe('writing the file', () => {
  test('writes mode 0600 atomically, merging with the existing file and leaving no temp file', async () => {
    const file = path.join(dir, 'secrets.json');
    fs.writeFileSync(file, JSON.stringify({ keep: { k: 'kept-secret-1234' } }), { mode: 0o644 });
    await writeSecretsFile(file, [s('demo', 'a', 'secret-a-0000')], 'json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ demo: { a: 'secret-a-0000' }, keep: { k: 'kept-secret-1234' } });
    expect(fs.readdirSync(dir)).toEqual(['secrets.json']);
  });

  test('a file that cannot be merged is left untouched', async () => {
    const file = path.join(dir, 'secrets.json');
    fs.writeFileSync(file, 'not json');
    await expect(writeSecretsFile(file, [s('demo', 'a', 'secret-a-0000')], 'json')).rejects.toThrow(/not valid JSON/);
    expect(fs.readFileSync(file, 'utf8')).toBe('not json');
  });

  test('preflight refuses an unparseable file and an unwritable directory, and creates a missing one', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '[1]');
    await expect(preflightSecretsFile(bad, 'json')).rejects.toThrow(SecretsFileError);
    fs.writeFileSync(path.join(dir, 'a-file'), '');
    await expect(preflightSecretsFile(path.join(dir, 'a-file', 's.json'), 'json')).rejects.toThrow(SecretsFileError);
    await expect(preflightSecretsFile(path.join(dir, 'new', 'dir', 's.json'), 'json')).resolves.toBeUndefined();
    expect(fs.statSync(path.join(dir, 'new', 'dir')).isDirectory()).toBe(true);
    await expect(preflightSecretsFile(path.join(dir, 'fresh.env'), 'env')).resolves.toBeUndefined();
  });

  test('the sink coalesces concurrent secrets into the file and each add resolves once written', async () => {
    const file = path.join(dir, 'out.env');
    const io = captureIo();
    const sink = new SecretSink(io, file, 'env');
    await Promise.all(Array.from({ length: 25 }, (_, i) => sink.add(s('demo', `key ${i}`, `secret-value-${i}-xxxxxxxx`))));
    expect(sink.written).toBe(25);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('SCALEFLEX_KEY_'));
    expect(lines).toHaveLength(25);
    expect(io.stdout.join('') + io.raw.join('')).toBe('');
  });
});

describe('the sink at scale', () => {
  test('2,000 secrets added out of order in small batches give exactly the bytes of one sorted merge', async () => {
    const file = path.join(dir, 'many.json');
    fs.writeFileSync(file, JSON.stringify({ other: { keep: 'kept-secret-1234' } }));
    const sink = new SecretSink(captureIo(), file, 'json');
    const entries = Array.from({ length: 2000 }, (_, i) => s(i % 3 ? 'big' : 'small', `key ${(i * 7919) % 2000}`, `secret-${i}-xxxxxxxxxxxx`, `u${i}`));
    for (let i = 0; i < entries.length; i += 8) await Promise.all(entries.slice(i, i + 8).map((e) => sink.add(e)));
    const expected = mergeSecrets(JSON.stringify({ other: { keep: 'kept-secret-1234' } }), entries, 'json');
    expect(fs.readFileSync(file, 'utf8')).toBe(expected);
    expect(Object.keys(JSON.parse(expected).big)).toHaveLength(1333);
  });
});

describe('protectSecret', () => {
  test('under GitHub Actions prints ::add-mask:: with the real value, bypassing the redactor', () => {
    const io = captureIo({ GITHUB_ACTIONS: 'true' });
    protectSecret(io, 'a-new-secret-value-1234567890');
    expect(io.raw).toEqual(['::add-mask::a-new-secret-value-1234567890\n']);
    expect(redact('x a-new-secret-value-1234567890 y')).toBe('x [REDACTED] y');
  });

  test('elsewhere prints nothing and still registers the secret with the redactor', () => {
    const io = captureIo({});
    protectSecret(io, 'another-secret-value-0987654321');
    expect(io.raw).toEqual([]);
    expect(io.stdout).toEqual([]);
    expect(redact('another-secret-value-0987654321')).toBe('[REDACTED]');
  });
});

describe('concurrent writers', () => {
  test('two sinks writing one file at once keep every secret (30 rounds, .json and .env)', async () => {
    for (let round = 0; round < 30; round++) {
      for (const format of ['json', 'env'] as const) {
        const file = path.join(dir, `shared-${round}.${format}`);
        const sinks = [new SecretSink(captureIo(), file, format), new SecretSink(captureIo(), file, format)];
        await Promise.all(
          sinks.flatMap((sink, w) => Array.from({ length: 6 }, (_, i) => sink.add(s('demo', `w${w} key ${i}`, `secret-${round}-${w}-${i}-xxxxxxxx`, `u${w}${i}`)))),
        );
        const text = fs.readFileSync(file, 'utf8');
        for (let w = 0; w < 2; w++) for (let i = 0; i < 6; i++) expect(text).toContain(`secret-${round}-${w}-${i}-xxxxxxxx`);
        expect(fs.existsSync(`${file}.lock`)).toBe(false);
      }
    }
  });

  test('a FIFO as the secrets file is refused before anything changes', async () => {
    const fifo = path.join(dir, 'fifo.env');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    await expect(preflightSecretsFile(fifo, 'env')).rejects.toThrow(/not a regular file/);
  });
});
