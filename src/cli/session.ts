/**
 * One run's connection to the API: where each project's API is and which admin key it uses (the client's
 * `resolveApiUrl`/`resolveCredentials`, or the local emulator under `--local`), checked against what the operator
 * allows (`src/trust.ts`: a manifest or plan file never chooses where a credential goes), and one client factory
 * per run. Opened only after the desired state is valid: no request is ever sent before.
 */
import * as path from 'node:path';
import { KeysApiFactory, resolveApiUrl, resolveCredentials } from '../api';
import { InsecureUrlError } from '../errors';
import type { CredentialsRef, LiveKey } from '../model';
import { manifestApiUrlProblem, operatorTrust, type OperatorTrust } from '../trust';
import type { ApiFlags } from './arguments/common';
import type { Io } from './io';
import { startLocalApi, type LocalApi } from './local';

type Factory = KeysApiFactory;
/** An opened client: the KeysApi seam plus the key it authenticated as. */
export type OpenedApi = Awaited<ReturnType<Factory['open']>>;
/** What a run needs its key to be allowed to do, and the command name its messages use. */
export type Access = { readonly access: 'read' | 'manage'; readonly purpose: string };

/** The project a session connects to: a manifest project, or a bare token (import). */
export interface ProjectRef {
  readonly token: string;
  readonly apiUrl?: string;
  readonly credentials?: CredentialsRef;
}

/** Whether to trace requests: `--verbose` or `SCALEFLEX_DEBUG=1`. */
export function traceEnabled(flags: Pick<ApiFlags, 'verbose'>, io: Io): boolean {
  const debug = io.env.SCALEFLEX_DEBUG;
  return flags.verbose || (debug !== undefined && debug !== '' && debug !== '0');
}

/** The operator's allowances for this run: environment and flags, never the manifest. */
export function trustFor(flags: Pick<ApiFlags, 'allowApiUrl' | 'allowCredentialEnv'>, io: Io): OperatorTrust {
  return operatorTrust(io.env, { allowApiUrl: flags.allowApiUrl, allowCredentialEnv: flags.allowCredentialEnv });
}

/** Resolved target of one project: URL, key and where the key came from (for messages). */
export interface Target {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly source: string;
}

/** The session; always `close()` it. */
export class ApiSession {
  readonly trust: OperatorTrust;

  private constructor(
    private readonly io: Io,
    private readonly flags: ApiFlags,
    private readonly factory: Factory,
    readonly local: LocalApi | undefined,
    private readonly baseDir: string,
  ) {
    this.trust = trustFor(flags, io);
  }

  /**
   * Loads the client (and, with `--local`, the emulator with `tokens` ensured). `baseDir` is where relative
   * `credentials.file` paths start: the manifest's directory (default: the current directory).
   */
  static async start(io: Io, flags: ApiFlags, tokens: readonly string[], baseDir = io.cwd): Promise<ApiSession> {
    const local = flags.local ? await startLocalApi(io.cwd, tokens, flags.stateDir) : undefined;
    const trace = traceEnabled(flags, io) ? (line: string) => io.err(`trace: ${line}\n`) : undefined;
    const factory = new KeysApiFactory({
      parallelism: flags.parallelism,
      deadlineMs: flags.timeoutSeconds * 1000,
      ...(trace ? { trace } : {}),
    });
    return new ApiSession(io, flags, factory, local, path.resolve(io.cwd, baseDir));
  }

  /**
   * Where `project`'s API is and its admin key: `--api-url`, the manifest's `apiUrl` (which must be an allowed
   * origin), `SCALEFLEX_API_URL`, the public API. Throws CredentialsError naming what it looked for, and
   * InsecureUrlError for an origin the operator did not allow; both before any request.
   */
  resolve(project: ProjectRef): Target {
    if (this.local) return { apiUrl: this.local.url, ...this.local.adminKey(project.token) };
    if (this.flags.apiUrl === undefined && project.apiUrl !== undefined) {
      const problem = manifestApiUrlProblem(project.apiUrl, this.trust);
      if (problem) throw new InsecureUrlError(`project ${project.token}: ${problem.message}`, { hint: problem.hint });
    }
    const apiUrl = resolveApiUrl({ ...(project.apiUrl ? { apiUrl: project.apiUrl } : {}) }, this.flags.apiUrl, this.io.env);
    const cred = resolveCredentials(
      { token: project.token, ...(project.credentials ? { credentials: project.credentials } : {}) },
      this.io.env,
      this.baseDir,
      this.trust,
    );
    return { apiUrl, apiKey: cred.apiKey, source: cred.source };
  }

  /** Opens a checked client for `project` at `target` (resolve it first: nothing is sent until then). */
  async open(project: ProjectRef, target: Target, access: Access): Promise<OpenedApi> {
    return this.factory.open({
      project: project.token,
      apiUrl: target.apiUrl,
      apiKey: target.apiKey,
      credentialSource: target.source,
      access: access.access,
      purpose: access.purpose,
    });
  }

  async close(): Promise<void> {
    try {
      await this.factory.close();
    } finally {
      await this.local?.close();
    }
  }
}

/**
 * How many projects a listing keeps open for `--parallelism`: twice as many. The origin's permits still let
 * `parallelism` pages through at a time (a self check rides free beside them), so the next projects' self checks are
 * answered while the current pages are on the wire, and their first pages wait for a permit, which the answer that
 * frees it hands on at once (the transport reads that answer only after the page it freed has left).
 */
export function openAhead(parallelism: number): number {
  return 2 * parallelism;
}

/** Every live key of a project, through the client's paginated listing. */
export async function listAll(api: OpenedApi): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const key of api.list()) keys.push(key);
  return keys;
}

/** The access the commands need: read for plan and import, manage for apply, secrets pull, deactivate. */
export const READ_FOR_PLAN: Access = { access: 'read', purpose: 'plan' };
export const READ_FOR_IMPORT: Access = { access: 'read', purpose: 'import' };
export const MANAGE_FOR_APPLY: Access = { access: 'manage', purpose: 'apply' };
export const MANAGE_FOR_SECRETS: Access = { access: 'manage', purpose: 'secrets pull' };
