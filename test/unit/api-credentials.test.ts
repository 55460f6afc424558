/** Where the admin key and the API URL come from, and that the key is redacted from the moment it is read. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_API_URL, projectKeyVariable, resolveApiUrl, resolveCredentials } from '../../src/api/credentials';
import { CredentialsError } from '../../src/errors';
import { redact } from '../../src/redact';
import { operatorTrust } from '../../src/trust';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  fs.writeFileSync(path.join(dir, 'demo.key'), '  filekey0123456789abcdef0123456789ab\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'empty.key'), '\n', { mode: 0o600 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const KEY_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const KEY_C = 'cccccccccccccccccccccccccccccccc';

test.each([
  { token: 'demo', expected: 'SCALEFLEX_API_KEY_DEMO' },
  { token: 'my-shop', expected: 'SCALEFLEX_API_KEY_MY_SHOP' },
  { token: 'abc_12', expected: 'SCALEFLEX_API_KEY_ABC_12' },
])('the per-project variable of $token is $expected', ({ token, expected }) => {
  expect(projectKeyVariable(token)).toBe(expected);
});

test.each([
  {
    name: 'the variable the manifest names wins over the defaults',
    project: { token: 'demo', credentials: { env: 'SCALEFLEX_SHOP_ADMIN' } },
    env: { SCALEFLEX_SHOP_ADMIN: KEY_A, SCALEFLEX_API_KEY_DEMO: KEY_B, SCALEFLEX_API_KEY: KEY_C },
    expected: { apiKey: KEY_A, source: 'SCALEFLEX_SHOP_ADMIN' },
  },
  {
    name: 'a variable outside SCALEFLEX_* is read when the operator allows it outside the manifest',
    project: { token: 'demo', credentials: { env: 'SHOP_ADMIN' } },
    env: { SHOP_ADMIN: KEY_A, SCALEFLEX_ALLOWED_CREDENTIAL_ENV: 'SHOP_*', SCALEFLEX_API_KEY: KEY_C },
    expected: { apiKey: KEY_A, source: 'SHOP_ADMIN' },
  },
  {
    name: 'the file the manifest names is read relative to the manifest and trimmed',
    project: { token: 'demo', credentials: { file: 'demo.key' } },
    env: { SCALEFLEX_API_KEY: KEY_C },
    expected: { apiKey: 'filekey0123456789abcdef0123456789ab', source: 'file ./demo.key' },
  },
  {
    name: 'an unset named variable falls to the named file',
    project: { token: 'demo', credentials: { env: 'SCALEFLEX_UNSET', file: 'demo.key' } },
    env: {},
    expected: { apiKey: 'filekey0123456789abcdef0123456789ab', source: 'file ./demo.key' },
  },
  {
    name: 'without manifest credentials the per-project variable comes first',
    project: { token: 'my-shop' },
    env: { SCALEFLEX_API_KEY_MY_SHOP: KEY_B, SCALEFLEX_API_KEY: KEY_C },
    expected: { apiKey: KEY_B, source: 'SCALEFLEX_API_KEY_MY_SHOP' },
  },
  {
    name: 'then the shared variable',
    project: { token: 'demo' },
    env: { SCALEFLEX_API_KEY_DEMO: '  ', SCALEFLEX_API_KEY: KEY_C },
    expected: { apiKey: KEY_C, source: 'SCALEFLEX_API_KEY' },
  },
])('$name', ({ project, env, expected }) => {
  const found = resolveCredentials(project, env, dir);
  expect(found).toEqual(expected);
  expect(redact(`the key is ${found.apiKey}`)).toBe('the key is [REDACTED]');
});

test.each([
  {
    name: 'a named variable that is unset',
    project: { token: 'demo', credentials: { env: 'SCALEFLEX_SHOP_ADMIN' } },
    env: { SCALEFLEX_API_KEY: KEY_C },
    message: /no admin key for project demo: looked for environment variable SCALEFLEX_SHOP_ADMIN \(unset or empty\)/,
    hint: /export SCALEFLEX_SHOP_ADMIN=/,
  },
  {
    name: 'a named file that does not exist',
    project: { token: 'demo', credentials: { file: 'missing.key' } },
    env: {},
    message: /looked for file \.\/missing\.key \(not found\)/,
    hint: /write the project's admin key to missing\.key/,
  },
  {
    name: 'a named file that is empty',
    project: { token: 'demo', credentials: { file: 'empty.key' } },
    env: {},
    message: /file \.\/empty\.key \(empty\)/,
    hint: /empty\.key/,
  },
  {
    name: 'nothing at all',
    project: { token: 'my-shop' },
    env: {},
    message: /no admin key for project my-shop: neither SCALEFLEX_API_KEY_MY_SHOP nor SCALEFLEX_API_KEY is set/,
    hint: /export SCALEFLEX_API_KEY_MY_SHOP=/,
  },
])('a missing credential is a CredentialsError naming what was expected: $name', ({ project, env, message, hint }) => {
  let error: unknown;
  try {
    resolveCredentials(project, env, dir);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CredentialsError);
  expect((error as CredentialsError).message).toMatch(message);
  expect((error as CredentialsError).hint).toMatch(hint);
  expect((error as CredentialsError).code).toBe('CREDENTIALS_MISSING');
});

test.each([
  { name: 'the flag wins', project: { apiUrl: 'https://b' }, flag: 'https://a', env: { SCALEFLEX_API_URL: 'https://c' }, expected: 'https://a' },
  { name: 'then the manifest', project: { apiUrl: 'https://b/' }, flag: undefined, env: { SCALEFLEX_API_URL: 'https://c' }, expected: 'https://b' },
  { name: 'then the environment', project: {}, flag: undefined, env: { SCALEFLEX_API_URL: 'http://127.0.0.1:8787' }, expected: 'http://127.0.0.1:8787' },
  { name: 'then the public API', project: {}, flag: '', env: {}, expected: DEFAULT_API_URL },
])('resolveApiUrl: $name', ({ project, flag, env, expected }) => {
  expect(resolveApiUrl(project, flag, env)).toBe(expected);
});

describe('a manifest cannot make the tool read a credential it was not meant to', () => {
  let tree: string;
  let outside: string;
  beforeAll(() => {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-tree-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-outside-'));
    fs.writeFileSync(path.join(outside, 'stolen.key'), `${KEY_A}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(tree, 'shared.key'), `${KEY_B}\n`, { mode: 0o644 });
    fs.chmodSync(path.join(tree, 'shared.key'), 0o644);
    fs.writeFileSync(path.join(tree, 'big.key'), 'k'.repeat(5 * 1024), { mode: 0o600 });
    fs.symlinkSync(path.join(outside, 'stolen.key'), path.join(tree, 'link.key'));
    fs.symlinkSync('/dev/zero', path.join(tree, 'zero.key'));
    fs.mkdirSync(path.join(tree, 'dir.key'));
    fs.writeFileSync(path.join(tree, 'ok.key'), `${KEY_C}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(tree, 'keys'));
    fs.symlinkSync('../ok.key', path.join(tree, 'keys', 'inside-link.key'));
  });
  afterAll(() => {
    fs.rmSync(tree, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const refusal = (credentials: { env?: string; file?: string }, env: NodeJS.ProcessEnv = {}): CredentialsError => {
    try {
      resolveCredentials({ token: 'demo', credentials }, env, tree);
    } catch (e) {
      if (e instanceof CredentialsError) return e;
      throw e;
    }
    throw new Error('resolveCredentials accepted it');
  };

  test.each([
    { name: 'a group/world-readable (0644) file, with the chmod 600 fix', file: 'shared.key', message: /credentials\.file \.\/shared\.key can be read by others \(mode 644\)/, hint: /^make it readable by its owner only: chmod 600 \.\/shared\.key$/ },
    { name: 'a symlink out of the tree', file: 'link.key', message: /resolves \(through a symlink\) outside the manifest's directory/, hint: /inside the manifest's directory tree/ },
    { name: 'a ../ path', file: '../outside/stolen.key', message: /leaves the manifest's directory/, hint: /inside the manifest's directory tree/ },
    { name: 'an absolute path', file: '/etc/passwd', message: /is an absolute path/, hint: /relative to the manifest/ },
    { name: 'a symlink to /dev/zero', file: 'zero.key', message: /outside the manifest's directory/, hint: /symlink/ },
    { name: 'a directory', file: 'dir.key', message: /\.\/dir\.key is a directory, not a regular file/, hint: /regular file/ },
    { name: 'a 5 KiB file', file: 'big.key', message: /is larger than 4096 bytes/, hint: /only the admin key/ },
  ])('$name is refused before it is read', ({ file, message, hint }) => {
    const err = refusal({ file });
    expect(err.message).toMatch(message);
    expect(err.hint).toMatch(hint);
    expect(err.message).not.toContain(KEY_A);
  });

  test('/dev/zero named through a tree that contains /dev is refused as a device, never read', () => {
    // realpath keeps /dev/zero itself; with the filesystem root as the manifest's directory it is "inside".
    const err = (() => {
      try {
        resolveCredentials({ token: 'demo', credentials: { file: 'dev/zero' } }, {}, '/');
      } catch (e) {
        return e as CredentialsError;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toMatch(/dev\/zero is a device, not a regular file/);
  });

  test('a FIFO is refused at once (the test would hang if it were opened)', () => {
    const fifo = path.join(tree, 'fifo.key');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect(refusal({ file: 'fifo.key' }).message).toMatch(/\.\/fifo\.key is a FIFO, not a regular file/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('a variable outside SCALEFLEX_* is refused even when set, naming how the operator allows it', () => {
    const err = refusal({ env: 'GITHUB_TOKEN' }, { GITHUB_TOKEN: KEY_A });
    expect(err.message).toBe(
      'project demo: credentials.env "GITHUB_TOKEN" is not an allowed credential variable: a manifest may name only SCALEFLEX_*',
    );
    expect(err.hint).toMatch(/SCALEFLEX_ALLOWED_CREDENTIAL_ENV=GITHUB_TOKEN or --allow-credential-env GITHUB_TOKEN/);
    expect(err.message).not.toContain(KEY_A);
  });

  test('an explicit trust overrides the environment', () => {
    expect(resolveCredentials({ token: 'demo', credentials: { env: 'CI_KEY' } }, { CI_KEY: KEY_A }, tree, operatorTrust({}, { allowCredentialEnv: ['CI_KEY'] })).apiKey).toBe(KEY_A);
  });

  test('a 0600 file and a symlink that stays inside the tree are read', () => {
    expect(resolveCredentials({ token: 'demo', credentials: { file: 'ok.key' } }, {}, tree)).toEqual({ apiKey: KEY_C, source: 'file ./ok.key' });
    expect(resolveCredentials({ token: 'demo', credentials: { file: 'keys/inside-link.key' } }, {}, tree).apiKey).toBe(KEY_C);
  });
});
