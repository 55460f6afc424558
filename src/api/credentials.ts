/**
 * Where a project's admin key and API URL come from. The key comes from an environment variable or a file
 * (never a command-line argument: arguments are visible in `ps`), and is registered with the redactor the
 * moment it is read, so that nothing printed afterwards can show it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CredentialsError } from '../errors';
import { secrets } from '../redact';
import { credentialEnvProblem, credentialFilePathProblem, operatorTrust, type OperatorTrust } from '../trust';

/** The public Scaleflex API. */
export const DEFAULT_API_URL = 'https://api.filerobot.com';

/** The per-project variable name: `SCALEFLEX_API_KEY_<TOKEN>`, upper case, every other character as `_`. */
export function projectKeyVariable(token: string): string {
  return `SCALEFLEX_API_KEY_${token.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The largest credential file read (an admin key is a few dozen bytes; anything bigger is not one). */
export const MAX_CREDENTIAL_FILE_BYTES = 4096;

/**
 * The admin key for a project: the manifest's `credentials.env` or `credentials.file` (relative to `baseDir`,
 * the manifest's directory), else `SCALEFLEX_API_KEY_<TOKEN>`, else `SCALEFLEX_API_KEY`. Registers the value
 * with `secrets.add()`. Throws CredentialsError naming what it looked for.
 *
 * The manifest may come from a pull request, so what it names is checked before anything is read (`src/trust.ts`):
 * a variable must match the operator's allowed names (`SCALEFLEX_*` unless `trust` widens it); a file must be a
 * relative path that stays, after symlinks, inside `realpath(baseDir)`, a regular file (a FIFO, device or
 * directory is refused from `stat`, never opened) of at most 4 KiB, readable by its owner only (as ssh insists
 * for private keys). The file is opened with O_NOFOLLOW|O_NONBLOCK and checked again with `fstat`, so a swap
 * between the checks and the read is caught.
 * @param trust the operator's allowances; default: from `env` (`SCALEFLEX_ALLOWED_CREDENTIAL_ENV`)
 * @returns the key and a human description of its source, e.g. `SCALEFLEX_API_KEY_DEMO` or `file ./demo.key`.
 */
export function resolveCredentials(
  project: { token: string; credentials?: { env?: string; file?: string } },
  env: NodeJS.ProcessEnv,
  baseDir: string,
  trust: OperatorTrust = operatorTrust(env),
): { apiKey: string; source: string } {
  const named = project.credentials;
  const looked: string[] = [];
  if (named?.env) {
    const refused = credentialEnvProblem(named.env, trust);
    if (refused) throw new CredentialsError(`project ${project.token}: ${refused.message}`, { hint: refused.hint });
    const value = env[named.env]?.trim();
    if (value) return found(value, named.env);
    looked.push(`environment variable ${named.env} (unset or empty)`);
  }
  if (named?.file) {
    const shown = `./${path.normalize(named.file).replace(/\\/g, '/')}`;
    const read = readCredentialFile(project.token, named.file, shown, baseDir);
    if (read.value) return found(read.value, `file ${shown}`);
    looked.push(`file ${shown} (${read.missing ?? 'empty'})`);
  }
  if (named?.env || named?.file) {
    throw new CredentialsError(`no admin key for project ${project.token}: looked for ${looked.join(' and ')}`, {
      hint: named.env
        ? `export ${named.env}=<the project's admin key> (the manifest names this variable), or fix credentials in the manifest`
        : `write the project's admin key to ${named.file} (the manifest names this file, mode 600), or fix credentials in the manifest`,
    });
  }
  const perProject = projectKeyVariable(project.token);
  const perProjectValue = env[perProject]?.trim();
  if (perProjectValue) return found(perProjectValue, perProject);
  const shared = env.SCALEFLEX_API_KEY?.trim();
  if (shared) return found(shared, 'SCALEFLEX_API_KEY');
  throw new CredentialsError(`no admin key for project ${project.token}: neither ${perProject} nor SCALEFLEX_API_KEY is set`, {
    hint: `export ${perProject}=<the project's admin key>, or name a variable or file under the project's credentials in the manifest`,
  });
}

/**
 * Reads a manifest-named credential file after the checks `resolveCredentials` describes. Returns its trimmed
 * content, or why there is none (`missing`); throws CredentialsError for a file that must not be read.
 */
function readCredentialFile(token: string, file: string, shown: string, baseDir: string): { value?: string; missing?: string } {
  const refuse = (message: string, hint: string): never => {
    throw new CredentialsError(`project ${token}: credentials.file ${shown} ${message}`, { hint });
  };
  const pathProblem = credentialFilePathProblem(file);
  if (pathProblem) throw new CredentialsError(`project ${token}: ${pathProblem.message}`, { hint: pathProblem.hint });
  let real: string;
  let realBase: string;
  try {
    realBase = fs.realpathSync(baseDir);
    real = fs.realpathSync(path.resolve(baseDir, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { missing: code === 'ENOENT' ? 'not found' : `cannot be read: ${code ?? 'error'}` };
  }
  const inside = path.relative(realBase, real);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    refuse('resolves (through a symlink) outside the manifest\'s directory', "keep the credential file itself inside the manifest's directory tree, not a symlink to elsewhere");
  }
  const before = fs.statSync(real);
  checkCredentialStat(before, shown, refuse);
  let fd: number | undefined;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait for a writer.
    fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') refuse('became a symlink while it was being read', 'run again; if it repeats, look at who changes the file');
    return { missing: `cannot be read: ${code ?? 'error'}` };
  }
  try {
    const now = fs.fstatSync(fd);
    if (now.dev !== before.dev || now.ino !== before.ino) refuse('was replaced while it was being read', 'run again; if it repeats, look at who changes the file');
    checkCredentialStat(now, shown, refuse);
    const buf = Buffer.alloc(MAX_CREDENTIAL_FILE_BYTES + 1);
    let length = 0;
    for (let n; length < buf.length && (n = fs.readSync(fd, buf, length, buf.length - length, null)) > 0; ) length += n;
    if (length > MAX_CREDENTIAL_FILE_BYTES) refuse(`is larger than ${MAX_CREDENTIAL_FILE_BYTES} bytes, so it is not an admin key`, 'put only the admin key in the file');
    return { value: buf.subarray(0, length).toString('utf8').trim() };
  } finally {
    fs.closeSync(fd);
  }
}

/** Kind, size and mode checks of a credential file, from its stat (before opening) and its fstat (after). */
function checkCredentialStat(st: fs.Stats, shown: string, refuse: (message: string, hint: string) => never): void {
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
    refuse(`is ${kind}, not a regular file`, 'name a regular file that holds only the admin key');
  }
  if (st.size > MAX_CREDENTIAL_FILE_BYTES) refuse(`is larger than ${MAX_CREDENTIAL_FILE_BYTES} bytes, so it is not an admin key`, 'put only the admin key in the file');
  // Like ssh with a private key: a key others can read is refused, not used. (Windows has no such mode bits.)
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    refuse(`can be read by others (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')})`, `make it readable by its owner only: chmod 600 ${shown}`);
  }
}
function found(apiKey: string, source: string): { apiKey: string; source: string } {
  secrets.add(apiKey);
  return { apiKey, source };
}

/** The API URL: the `--api-url` flag, then the project's `apiUrl`, then `SCALEFLEX_API_URL`, then the public API. */
export function resolveApiUrl(project: { apiUrl?: string }, flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const chosen = [flag, project.apiUrl, env.SCALEFLEX_API_URL].map((v) => v?.trim()).find((v) => v) ?? DEFAULT_API_URL;
  return chosen.replace(/\/+$/, '');
}
