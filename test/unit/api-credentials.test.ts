/** Where the admin key and the API URL come from, and that the key is redacted from the moment it is read. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_API_URL, projectKeyVariable, resolveApiUrl, resolveCredentials } from '../../src/api/credentials';
import { CredentialsError } from '../../src/errors';
import { redact } from '../../src/redact';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  fs.writeFileSync(path.join(dir, 'demo.key'), '  filekey0123456789abcdef0123456789ab\n');
  fs.writeFileSync(path.join(dir, 'empty.key'), '\n');
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
    project: { token: 'demo', credentials: { env: 'SHOP_ADMIN' } },
    env: { SHOP_ADMIN: KEY_A, SCALEFLEX_API_KEY_DEMO: KEY_B, SCALEFLEX_API_KEY: KEY_C },
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
    project: { token: 'demo', credentials: { env: 'UNSET', file: 'demo.key' } },
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
    project: { token: 'demo', credentials: { env: 'SHOP_ADMIN' } },
    env: { SCALEFLEX_API_KEY: KEY_C },
    message: /no admin key for project demo: looked for environment variable SHOP_ADMIN \(unset or empty\)/,
    hint: /export SHOP_ADMIN=/,
  },
  {
    name: 'a named file that does not exist',
    project: { token: 'demo', credentials: { file: 'missing.key' } },
    env: {},
    message: /looked for file \.\/missing\.key \(not found\)/,
    hint: /write the project's admin key to missing\.key/,
  },
  {
    name: 'a named file outside the manifest directory',
    project: { token: 'demo', credentials: { file: '../elsewhere/demo.key' } },
    env: {},
    message: /looked for file \.\.\/elsewhere\/demo\.key \(not found\)/,
    hint: /elsewhere/,
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
