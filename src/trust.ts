/**
 * What a file from a pull request may decide, and what only the operator may. A manifest (or a saved plan)
 * names where each project's API is and where its admin key comes from; plans run on untrusted pull requests,
 * so neither may send a credential to a host of its choosing or read a credential it was not meant to:
 *
 * - API origins: the official Scaleflex API, loopback, and origins the operator allows outside the manifest
 *   (`SCALEFLEX_ALLOWED_API_URLS`, comma-separated, or `--allow-api-url`). `--api-url` and `SCALEFLEX_API_URL`
 *   are the operator's own choice and need no allowance.
 * - Credential variables: names matching `SCALEFLEX_*` by default; the operator widens the list with
 *   `SCALEFLEX_ALLOWED_CREDENTIAL_ENV` (comma-separated names or `PREFIX*` patterns) or `--allow-credential-env`.
 * - Credential files: relative paths that stay inside the manifest's directory tree (the file checks that need
 *   the filesystem — symlinks, kind, size, mode — are in `src/api/credentials.ts`).
 *
 * Pure: the caller passes the environment and flags. `validate` (no network) and the API session use the same
 * checks, so they always agree.
 */
import { isIP } from 'node:net';

/** Origins of the Scaleflex API itself (the seed documents `https://api.filerobot.com/{token}/v5`). */
export const OFFICIAL_API_ORIGINS: readonly string[] = Object.freeze(['https://api.filerobot.com']);

/** Credential variable names a manifest may name unless the operator allows more. */
export const DEFAULT_CREDENTIAL_ENV_PATTERNS: readonly string[] = Object.freeze(['SCALEFLEX_*']);

/** The operator's environment variable listing extra allowed API origins. */
export const ALLOWED_API_URLS_VAR = 'SCALEFLEX_ALLOWED_API_URLS';
/** The operator's environment variable listing extra allowed credential variable names (or `PREFIX*`). */
export const ALLOWED_CREDENTIAL_ENV_VAR = 'SCALEFLEX_ALLOWED_CREDENTIAL_ENV';

/** What the operator (CI configuration, never the manifest) allows. */
export interface OperatorTrust {
  /** Extra API origins (scheme://host[:port]) a manifest or plan may name, beyond the official ones and loopback. */
  readonly allowedApiOrigins: readonly string[];
  /** Credential variable names or `PREFIX*` patterns a manifest may name. */
  readonly allowedCredentialEnv: readonly string[];
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The operator's trust settings from the environment and the CLI flags (flags add to the variables). */
export function operatorTrust(
  env: Readonly<Record<string, string | undefined>>,
  flags: { allowApiUrl?: readonly string[]; allowCredentialEnv?: readonly string[] } = {},
): OperatorTrust {
  const origins = [...list(env[ALLOWED_API_URLS_VAR]), ...(flags.allowApiUrl ?? [])].map(originOf).filter((o): o is string => o !== undefined);
  return {
    allowedApiOrigins: Object.freeze([...new Set(origins)]),
    allowedCredentialEnv: Object.freeze([...DEFAULT_CREDENTIAL_ENV_PATTERNS, ...list(env[ALLOWED_CREDENTIAL_ENV_VAR]), ...(flags.allowCredentialEnv ?? [])]),
  };
}

/** The origin (`scheme://host[:port]`, lower case, default port dropped) of a URL, or undefined if it is not one. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? undefined : u.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

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

/** A problem with an API URL, with what to do about it; undefined when it is acceptable. */
export interface UrlProblem {
  readonly message: string;
  readonly hint: string;
}

/**
 * Whether an API URL is well formed and safe to send a key to: http(s) only, plain http only to loopback, no
 * user:password@, no query string or fragment. Holds for every source of the URL, the operator's included.
 */
export function apiUrlShapeProblem(apiUrl: string): UrlProblem | undefined {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return { message: `the API URL "${apiUrl}" is not a valid URL`, hint: 'give an absolute URL such as https://api.filerobot.com' };
  }
  if (url.username || url.password) {
    return { message: `the API URL ${url.protocol}//${url.host} carries credentials`, hint: 'remove user:password@ from the URL; the admin key comes from an environment variable or a file' };
  }
  if (url.search || url.hash || apiUrl.includes('?') || apiUrl.includes('#')) {
    return { message: `the API URL ${url.origin}${url.pathname} has a query string or fragment`, hint: 'give the base URL only, e.g. https://api.filerobot.com' };
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return undefined;
    return {
      message: `the API URL ${url.origin} uses plain http to a host that is not loopback`,
      hint: 'use https:// (plain http is allowed only for 127.0.0.0/8, ::1 and localhost, e.g. the local emulator)',
    };
  }
  return { message: `the API URL ${url.origin === 'null' ? apiUrl : url.origin} has the unsupported scheme ${url.protocol}`, hint: 'use https://' };
}

/**
 * Whether a manifest or a saved plan may send a credential to `apiUrl`: its shape (see `apiUrlShapeProblem`) and
 * its origin, which must be official, loopback, or allowed by the operator.
 */
export function manifestApiUrlProblem(apiUrl: string, trust: OperatorTrust): UrlProblem | undefined {
  const shape = apiUrlShapeProblem(apiUrl);
  if (shape) return shape;
  const url = new URL(apiUrl);
  const origin = url.origin.toLowerCase();
  if (isLoopbackHost(url.hostname) || OFFICIAL_API_ORIGINS.includes(origin) || trust.allowedApiOrigins.includes(origin)) return undefined;
  return {
    message: `the API origin ${origin} is not allowed: a manifest or a plan file cannot choose where an admin key is sent`,
    hint:
      `allow it outside the manifest, where the CI configuration sets it: ${ALLOWED_API_URLS_VAR}=${origin} ` +
      '(comma-separated) or --allow-api-url; or pass --api-url / SCALEFLEX_API_URL yourself',
  };
}

/** Whether `name` matches one of `patterns` (exact names, or `PREFIX*`). */
export function matchesEnvPattern(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/** Whether a manifest may name the environment variable `name` as a credential source. */
export function credentialEnvProblem(name: string, trust: OperatorTrust): UrlProblem | undefined {
  if (matchesEnvPattern(name, trust.allowedCredentialEnv)) return undefined;
  return {
    message: `credentials.env ${JSON.stringify(name)} is not an allowed credential variable: a manifest may name only ${trust.allowedCredentialEnv.join(', ')}`,
    hint: `rename the variable to start with SCALEFLEX_, or allow it outside the manifest: ${ALLOWED_CREDENTIAL_ENV_VAR}=${name} or --allow-credential-env ${name}`,
  };
}

/**
 * Whether a manifest may name `file` (as written) as a credential file: a relative path that stays inside the
 * manifest's directory tree. Symlinks and the file's kind, size and mode are checked when it is read.
 */
export function credentialFilePathProblem(file: string): UrlProblem | undefined {
  const normalized = file.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized)) {
    return { message: `credentials.file ${JSON.stringify(file)} is an absolute path`, hint: 'give a path relative to the manifest, inside its directory (e.g. keys/demo.key)' };
  }
  let depth = 0;
  for (const part of normalized.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) {
      return { message: `credentials.file ${JSON.stringify(file)} leaves the manifest's directory`, hint: 'keep credential files inside the manifest\'s directory tree (e.g. keys/demo.key)' };
    }
  }
  return undefined;
}
