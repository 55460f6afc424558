/**
 * Where a project's admin key and API URL come from. The key comes from an environment variable or a file
 * (never a command-line argument: arguments are visible in `ps`), and is registered with the redactor the
 * moment it is read, so that nothing printed afterwards can show it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CredentialsError } from '../errors';
import { secrets } from '../redact';

/** The public Scaleflex API. */
export const DEFAULT_API_URL = 'https://api.filerobot.com';

/** The per-project variable name: `SCALEFLEX_API_KEY_<TOKEN>`, upper case, every other character as `_`. */
export function projectKeyVariable(token: string): string {
  return `SCALEFLEX_API_KEY_${token.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * The admin key for a project: the manifest's `credentials.env` or `credentials.file` (relative to `baseDir`,
 * the manifest's directory), else `SCALEFLEX_API_KEY_<TOKEN>`, else `SCALEFLEX_API_KEY`. Registers the value
 * with `secrets.add()`. Throws CredentialsError naming what it looked for.
 * @returns the key and a human description of its source, e.g. `SCALEFLEX_API_KEY_DEMO` or `file ./demo.key`.
 */
export function resolveCredentials(
  project: { token: string; credentials?: { env?: string; file?: string } },
  env: NodeJS.ProcessEnv,
  baseDir: string,
): { apiKey: string; source: string } {
  const named = project.credentials;
  const looked: string[] = [];
  if (named?.env) {
    const value = env[named.env]?.trim();
    if (value) return found(value, named.env);
    looked.push(`environment variable ${named.env} (unset or empty)`);
  }
  if (named?.file) {
    const file = path.resolve(baseDir, named.file);
    const relative = path.relative(baseDir, file);
    const shown = path.isAbsolute(named.file) ? named.file : relative.startsWith('..') ? relative : `./${relative}`;
    let value: string | undefined;
    try {
      value = fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      looked.push(`file ${shown} (${code === 'ENOENT' ? 'not found' : `cannot be read: ${code ?? 'error'}`})`);
    }
    if (value) return found(value, `file ${shown}`);
    if (value !== undefined) looked.push(`file ${shown} (empty)`);
  }
  if (named?.env || named?.file) {
    throw new CredentialsError(`no admin key for project ${project.token}: looked for ${looked.join(' and ')}`, {
      hint: named.env
        ? `export ${named.env}=<the project's admin key> (the manifest names this variable), or fix credentials in the manifest`
        : `write the project's admin key to ${named.file} (the manifest names this file), or fix credentials in the manifest`,
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

function found(apiKey: string, source: string): { apiKey: string; source: string } {
  secrets.add(apiKey);
  return { apiKey, source };
}

/** The API URL: the `--api-url` flag, then the project's `apiUrl`, then `SCALEFLEX_API_URL`, then the public API. */
export function resolveApiUrl(project: { apiUrl?: string }, flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const chosen = [flag, project.apiUrl, env.SCALEFLEX_API_URL].map((v) => v?.trim()).find((v) => v) ?? DEFAULT_API_URL;
  return chosen.replace(/\/+$/, '');
}
