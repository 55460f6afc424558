/**
 * `scaleflex-keys validate` as a user runs it: the built CLI in a child process. Exit codes (0 valid,
 * 1 invalid, 2 usage), the three output formats, clean failures on hostile files, and proof that validate
 * loads neither undici nor cdktf.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const EXAMPLE = path.join(ROOT, 'examples/scaleflex-keys.yaml');

let dir: string;
beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], opts: { cwd?: string; nodeArgs?: string[] } = {}) {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', SCALEFLEX_DEBUG: '' },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const write = (name: string, content: string | Buffer) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};

const INVALID = ['version: 1', 'projcts: []', 'projects:', '  - token: demo', '    keys:', '      - description: CI uploader', '        permissions: [FILE_UPLOD]', ''].join('\n');

test('a valid manifest exits 0 with a one-line summary', () => {
  const r = cli(['validate', '-f', 'examples/scaleflex-keys.yaml']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toBe('examples/scaleflex-keys.yaml: valid (2 projects, 7 keys)\n');
});

test('without -f it validates scaleflex-keys.yaml in the working directory', () => {
  const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
  fs.copyFileSync(EXAMPLE, path.join(cwd, 'scaleflex-keys.yaml'));
  const r = cli(['validate'], { cwd });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('scaleflex-keys.yaml: valid');
});

test('an invalid manifest exits 1 and lists every problem as file:line:col: error: message', () => {
  const file = write('invalid.yaml', INVALID);
  const r = cli(['validate', '-f', file]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').slice(0, 2)).toEqual([
    `${file}:2:1: error: unknown field "projcts" at the top level; did you mean "projects"?`,
    `${file}:7:23: error: unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?`,
  ]);
  expect(r.stderr).toContain('invalid (2 problems)');
});

test('--format json prints an array of {file, line, column, severity, message, path} on stdout', () => {
  const file = write('invalid-json.yaml', INVALID);
  const r = cli(['validate', '-f', file, '--format', 'json']);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual([
    { file, line: 2, column: 1, severity: 'error', message: expect.stringContaining('projcts'), path: '/projcts' },
    { file, line: 7, column: 23, severity: 'error', message: expect.stringContaining('FILE_UPLOD'), path: '/projects/0/keys/0/permissions/0' },
  ]);
});

test('--format json on a valid manifest prints an empty array and exits 0', () => {
  const r = cli(['validate', '-f', 'examples/scaleflex-keys.yaml', '--format', 'json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([]);
});

test('--format github prints one ::error annotation per problem', () => {
  const r = cli(['validate', '-f', 'examples/invalid/unknown-permission.yaml', '--format', 'github']);
  expect(r.code).toBe(1);
  expect(r.stdout.trim().split('\n')).toEqual([
    '::error file=examples/invalid/unknown-permission.yaml,line=7,col=23::unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?',
    '::error file=examples/invalid/unknown-permission.yaml,line=7,col=35::unknown permission "file_upload"; did you mean "FILE_UPLOAD"?',
  ]);
});

describe('usage errors exit 1 (never 2)', () => {
  test.each([
    ['an unknown format', ['validate', '--format', 'xml']],
    ['an unknown flag', ['validate', '--strict']],
    ['a stray argument', ['validate', 'scaleflex-keys.yaml']],
    ['-f without a value', ['validate', '-f']],
    ['both -f and --from-cdktf', ['validate', '-f', 'a.yaml', '--from-cdktf', 'cdk.tf.json']],
  ])('%s', (_name, args) => {
    const r = cli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('broken files exit 1 with a message and no stack trace', () => {
  test.each([
    ['a missing file', () => path.join(dir, 'missing.yaml'), 'manifest not found'],
    ['an empty file', () => write('empty.yaml', ''), 'empty'],
    ['a binary file', () => write('binary.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00])), 'binary'],
    ['invalid UTF-8', () => write('latin1.yaml', Buffer.from([0x76, 0x65, 0x72, 0xe9, 0x0a])), 'UTF-8'],
    ['a root that is not a mapping', () => write('list.yaml', '- a\n- b\n'), 'root must be a mapping'],
    ['an alias bomb', () => path.join(ROOT, 'examples/invalid/alias-bomb.yaml'), 'alias bomb'],
    [
      'a file over 10 MB',
      () => {
        const file = path.join(dir, 'huge.yaml');
        const fd = fs.openSync(file, 'w');
        fs.ftruncateSync(fd, 10 * 1024 * 1024 + 1);
        fs.closeSync(fd);
        return file;
      },
      '10 MB',
    ],
  ])('%s', (_name, make, words) => {
    const r = cli(['validate', '-f', make()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(words);
    expect(r.stderr).toMatch(/:\d+:\d+: error: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

test('validate loads neither undici nor cdktf', () => {
  // A preload records every module in the require cache when the process exits.
  const record = path.join(dir, 'loaded.json');
  const preload = write(
    'record-modules.js',
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = cli(['validate', '-f', 'examples/scaleflex-keys.yaml'], { nodeArgs: ['--require', preload] });
  expect(r.code).toBe(0);
  const loaded: string[] = JSON.parse(fs.readFileSync(record, 'utf8'));
  // The recorder works: the manifest stack is there.
  // A plain manifest is read by the line reader (the fast path's first tier); js-yaml loads only for what it leaves,
  // and `yaml` only for the precise path.
  expect(loaded.some((f) => f.endsWith(path.join('dist', 'manifest', 'yaml-lines.js')))).toBe(true);
  expect(loaded.filter((f) => /[\\/]node_modules[\\/](js-yaml|yaml)[\\/]/.test(f))).toEqual([]);
  expect(loaded.some((f) => f.endsWith(path.join('dist', 'manifest', 'index.js')))).toBe(true);
  const heavy = loaded.filter((f) => /[\\/]node_modules[\\/](undici|cdktf|constructs|@cdktf)[\\/]/.test(f));
  expect(heavy).toEqual([]);
});

test('validate --from-cdktf reports an unreadable stack as a diagnostic and still loads no cdktf', () => {
  const record = path.join(dir, 'loaded-cdktf.json');
  const preload = write(
    'record-modules-cdktf.js',
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = cli(['validate', '--from-cdktf', path.join(dir, 'no-such-stack.json'), '--format', 'json'], { nodeArgs: ['--require', preload] });
  expect(r.code).toBe(1);
  const [diagnostic] = JSON.parse(r.stdout);
  expect(diagnostic).toMatchObject({ file: path.join(dir, 'no-such-stack.json'), severity: 'error' });
  const loaded: string[] = JSON.parse(fs.readFileSync(record, 'utf8'));
  expect(loaded.filter((f) => /[\\/]node_modules[\\/](undici|cdktf|constructs|@cdktf)[\\/]/.test(f))).toEqual([]);
});

test('the README validate examples print exactly what the README shows', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /<!-- section:validate -->([\s\S]*?)<!-- \/section:validate -->/.exec(readme)?.[1] ?? '';
  const blocks = [...section.matchAll(/```console\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const examples: { args: string[]; expected: string }[] = [];
  for (const block of blocks) {
    for (const chunk of block.split(/^\$ /m).slice(1)) {
      const [command, ...output] = chunk.split('\n');
      examples.push({ args: command!.replace(/^scaleflex-keys /, '').split(' '), expected: output.join('\n').trim() });
    }
  }
  expect(examples.length).toBeGreaterThanOrEqual(4);
  for (const { args, expected } of examples) {
    const r = cli(args);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe(expected);
  }
});

describe('validate never prints a secret it reads', () => {
  const secret = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';
  test.each(['text', 'json', 'github'])('a .env secrets file, --format %s', (format) => {
    const file = write('new-keys.env', `# demo: CI uploader\nSCALEFLEX_KEY_DEMO_CI_UPLOADER=${secret}\n`);
    const r = cli(['validate', '-f', file, '--format', format]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout + r.stderr).toContain('[REDACTED]');
  });
});

test('validate reports an apiUrl the operator did not allow at its line, and the JSON carries `related` for duplicates', () => {
  const file = write(
    'untrusted.yaml',
    ['version: 1', 'projects:', '  - token: demo', '    apiUrl: https://keys.attacker.example', '    keys: []', ''].join('\n'),
  );
  const r = cli(['validate', '-f', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${file}:4:13: error: the API origin https://keys.attacker.example is not allowed`);
  const dup = cli(['validate', '-f', 'examples/invalid/duplicate-description.yaml', '--format', 'json']);
  expect(JSON.parse(dup.stdout)[0].related).toEqual([
    { file: 'examples/invalid/duplicate-description.yaml', line: 6, column: 22, message: 'first declared here' },
  ]);
});
