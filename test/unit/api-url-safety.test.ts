/** Transport safety: https everywhere, plain http only to loopback. */
import { assertSafeApiUrl, isLoopbackHost } from '../../src/api/url-safety';
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
