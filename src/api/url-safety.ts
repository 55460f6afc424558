/**
 * Transport safety for the API URL: `https` everywhere, plain `http` only to a loopback address (the local
 * emulator). Keys travel in a header, so a plain-http URL to any other host would put an admin key on the wire.
 * TLS certificates are always verified: nothing in the client sets `rejectUnauthorized: false`.
 */
import { isIP } from 'node:net';
import { InsecureUrlError } from '../errors';

/** True for `localhost` (and `*.localhost`), 127.0.0.0/8, `::1` and IPv4-mapped 127.0.0.0/8. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(.+)$/.exec(host);
    if (mapped) {
      const tail = mapped[1]!;
      if (isIP(tail) === 4) return tail.split('.')[0] === '127';
      // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
      const hi = tail.split(':')[0] ?? '';
      return tail.includes(':') && parseInt(hi, 16) >> 8 === 0x7f;
    }
  }
  return false;
}

/**
 * Parses and checks an API URL. Returns the parsed URL; throws InsecureUrlError for a malformed URL, a scheme
 * other than http(s), plain http to a non-loopback host, or credentials embedded in the URL.
 */
export function assertSafeApiUrl(apiUrl: string): URL {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new InsecureUrlError(`the API URL "${apiUrl}" is not a valid URL`, {
      hint: 'give an absolute URL such as https://api.filerobot.com (flag --api-url, manifest apiUrl or SCALEFLEX_API_URL)',
    });
  }
  if (url.username || url.password) {
    throw new InsecureUrlError(`the API URL ${url.protocol}//${url.host} carries credentials`, {
      hint: 'remove user:password@ from the URL; the admin key comes from an environment variable or a file',
    });
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return url;
    throw new InsecureUrlError(`the API URL ${url.origin} uses plain http to a host that is not loopback`, {
      hint: 'use https:// (plain http is allowed only for 127.0.0.0/8, ::1 and localhost, e.g. the local emulator)',
    });
  }
  throw new InsecureUrlError(`the API URL ${url.origin || apiUrl} has the unsupported scheme ${url.protocol}`, {
    hint: 'use https://',
  });
}
