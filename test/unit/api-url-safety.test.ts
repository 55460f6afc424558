/** Transport safety: https everywhere, plain http only to loopback. */
import { assertAllowedApiUrl, assertSafeApiUrl, isLoopbackHost } from '../../src/api/url-safety';
import { isLoopbackHost as trustIsLoopbackHost, operatorTrust } from '../../src/trust';
import { InsecureUrlError } from '../../src/errors';

test.each([
  { url: 'https://api.filerobot.com', ok: true },
  { url: 'https://api.filerobot.com/prefix/', ok: true },
  { url: 'http://127.0.0.1:8787', ok: true },
  { url: 'http://127.12.0.9', ok: true },
  { url: 'http://localhost:8787', ok: true },
  { url: 'http://LOCALHOST', ok: true },
  { url: 'http://emulator.localhost:1', ok: true },
  { url: 'http://[::1]:8787', ok: true },
  { url: 'http://[::ffff:127.0.0.1]:8787', ok: true },
  { url: 'http://api.filerobot.com', ok: false },
  { url: 'http://128.0.0.1', ok: false },
  { url: 'http://10.0.0.1', ok: false },
  { url: 'http://[::2]', ok: false },
  { url: 'http://[::ffff:10.0.0.1]', ok: false },
  { url: 'http://localhost.evil.com', ok: false },
  { url: 'http://127.0.0.1.nip.io', ok: false },
  { url: 'ftp://127.0.0.1', ok: false },
  { url: 'https://user:pass@api.filerobot.com', ok: false },
  { url: 'not a url', ok: false },
  { url: '', ok: false },
  { url: 'https://api.filerobot.com/?token=x', ok: false },
  { url: 'https://api.filerobot.com/#frag', ok: false },
  { url: 'https://api.filerobot.com/?', ok: false },
])('$url is accepted: $ok', ({ url, ok }) => {
  if (ok) expect(assertSafeApiUrl(url)).toBeInstanceOf(URL);
  else expect(() => assertSafeApiUrl(url)).toThrow(InsecureUrlError);
});

test('the refusal of plain http says what is allowed', () => {
  expect(() => assertSafeApiUrl('http://api.example.com')).toThrow(/plain http to a host that is not loopback/);
  try {
    assertSafeApiUrl('http://api.example.com');
  } catch (e) {
    expect((e as InsecureUrlError).hint).toMatch(/127\.0\.0\.0\/8, ::1 and localhost/);
    expect((e as InsecureUrlError).code).toBe('INSECURE_URL');
  }
});

test.each([
  ['127.0.0.1', true],
  ['[::1]', true],
  ['::1', true],
  ['localhost.', true],
  ['0.0.0.0', false],
  ['example.com', false],
])('isLoopbackHost(%s) is %s', (host, expected) => {
  expect(isLoopbackHost(host)).toBe(expected);
});

test('the client and the trust rules share one loopback check', () => {
  expect(isLoopbackHost).toBe(trustIsLoopbackHost);
});

test('a query string or fragment is refused with a hint to give the base URL only', () => {
  expect(() => assertSafeApiUrl('https://api.filerobot.com/v5?x=1')).toThrow(/has a query string or fragment/);
});

test.each([
  { url: 'https://api.filerobot.com', env: {}, ok: true },
  { url: 'http://127.0.0.1:8787', env: {}, ok: true },
  { url: 'https://attacker.example', env: {}, ok: false },
  { url: 'https://keys.example.com/v5', env: { SCALEFLEX_ALLOWED_API_URLS: 'https://keys.example.com' }, ok: true },
  { url: 'http://keys.example.com', env: { SCALEFLEX_ALLOWED_API_URLS: 'http://keys.example.com' }, ok: false },
])('a manifest URL $url with operator allowances $env is allowed: $ok', ({ url, env, ok }) => {
  const trust = operatorTrust(env);
  if (ok) expect(assertAllowedApiUrl(url, trust, 'manifest.yaml apiUrl')).toBeInstanceOf(URL);
  else expect(() => assertAllowedApiUrl(url, trust, 'manifest.yaml apiUrl')).toThrow(InsecureUrlError);
});

test('a manifest URL that is not allowed names its source and how the operator allows it', () => {
  try {
    assertAllowedApiUrl('https://attacker.example', operatorTrust({}), 'manifest.yaml apiUrl');
    throw new Error('accepted');
  } catch (e) {
    const err = e as InsecureUrlError;
    expect(err.message).toBe('manifest.yaml apiUrl: the API origin https://attacker.example is not allowed: a manifest or a plan file cannot choose where an admin key is sent');
    expect(err.hint).toMatch(/SCALEFLEX_ALLOWED_API_URLS=https:\/\/attacker\.example/);
  }
});
