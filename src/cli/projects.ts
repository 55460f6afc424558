/**
 * Where the commands meet the API: which projects a run covers, where each one's API is and which admin key
 * it uses (the client's `resolveApiUrl`/`resolveCredentials`, or the embedded emulator under `--local`), one
 * client factory per run, and planning every project concurrently (bounded by `--parallelism`) so that one
 * project's failure never hides another's plan.
 */
import { UsageError } from '../errors';
import type { DesiredState, LiveKey, ProjectSpec } from '../model';
import type { GuardViolation, ProjectPlan } from '../reconcile';
import type { Io } from './io';
import { runBounded } from '../bounded';
import { startLocalApi, type LocalApi } from './local';

/** The API options every API command shares (declared in main.ts's `addApiOptions`). */
export interface ApiFlags {
  readonly apiUrl?: string;
  readonly local?: boolean;
  readonly parallelism?: number;
  readonly verbose?: boolean;
}

/** The guard options plan and apply share (declared in main.ts's `addGuardOptions`). */
export interface GuardFlags {
  readonly force?: boolean;
  readonly maxDeactivateRatio?: number;
  readonly minActiveForRatio?: number;
}

type Api = typeof import('../api');
type Factory = InstanceType<Api['KeysApiFactory']>;
/** An opened client: the KeysApi seam plus the key it authenticated as. */
export type OpenedApi = Awaited<ReturnType<Factory['open']>>;
/** What the client decides permissions by. */
export type ApiCommand = 'plan' | 'apply' | 'import' | 'secrets pull';

/** The project a session connects to: a manifest project, or a bare token (import, saved plans). */
export interface ProjectRef {
  readonly token: string;
  readonly apiUrl?: string;
  readonly credentials?: ProjectSpec['credentials'];
}

/** Projects named by `--project` (every project when none), in manifest order; unknown names are a usage error. */
export function selectProjects(state: DesiredState, wanted: readonly string[] | undefined): ProjectSpec[] {
  if (!wanted || wanted.length === 0) return [...state.projects];
  const known = new Set(state.projects.map((p) => p.token));
  const unknown = wanted.filter((t) => !known.has(t));
  if (unknown.length) {
    throw new UsageError(
      `--project ${unknown.map((t) => `"${t}"`).join(', ')}: not in the manifest (it declares ${[...known].join(', ') || 'no projects'})`,
    );
  }
  const set = new Set(wanted);
  return state.projects.filter((p) => set.has(p.token));
}

/** Whether to trace requests: `--verbose` or `SCALEFLEX_DEBUG=1`. */
export function traceEnabled(flags: ApiFlags, io: Io): boolean {
  return Boolean(flags.verbose) || (io.env.SCALEFLEX_DEBUG !== undefined && io.env.SCALEFLEX_DEBUG !== '' && io.env.SCALEFLEX_DEBUG !== '0');
}

/**
 * One run's connection to the API: a client factory (one pool per origin) and, under `--local`, the embedded
 * emulator. Always `close()` it.
 */
export class ApiSession {
  private constructor(
    private readonly io: Io,
    private readonly flags: ApiFlags,
    private readonly api: Api,
    readonly factory: Factory,
    readonly local: LocalApi | undefined,
    private readonly baseDir: string,
  ) {}

  /**
   * Loads the client (and, with `--local`, starts the emulator with `tokens` ensured). `baseDir` is where
   * relative `credentials.file` paths start: the manifest's directory (default: the current directory).
   */
  static async start(io: Io, flags: ApiFlags, tokens: readonly string[], baseDir = io.cwd): Promise<ApiSession> {
    const api = await import('../api');
    const local = flags.local ? await startLocalApi(io.cwd, tokens) : undefined;
    const trace = traceEnabled(flags, io) ? (line: string) => io.err(`trace: ${line}\n`) : undefined;
    const factory = new api.KeysApiFactory({
      parallelism: flags.parallelism ?? 8,
      ...(trace ? { trace } : {}),
    });
    return new ApiSession(io, flags, api, factory, local, baseDir);
  }

  /**
   * Where `project`'s API is and its admin key. `fallbackUrl` is used after `--api-url` and before the
   * manifest/env/default chain (a saved plan's recorded URL). Throws CredentialsError naming what it looked for.
   */
  resolve(project: ProjectRef, fallbackUrl?: string): { apiUrl: string; apiKey: string; source: string } {
    if (this.local) {
      return { apiUrl: this.local.url, ...this.local.adminKey(project.token) };
    }
    const apiUrl =
      this.flags.apiUrl === undefined && fallbackUrl !== undefined
        ? fallbackUrl
        : this.api.resolveApiUrl({ ...(project.apiUrl ? { apiUrl: project.apiUrl } : {}) }, this.flags.apiUrl, this.io.env);
    const cred = this.api.resolveCredentials(
      { token: project.token, ...(project.credentials ? { credentials: project.credentials } : {}) },
      this.io.env,
      this.baseDir,
    );
    return { apiUrl, apiKey: cred.apiKey, source: cred.source };
  }

  /** Opens a client for `project` (checks the key with `GET /keys/self`). */
  async open(project: ProjectRef, command: ApiCommand, fallbackUrl?: string): Promise<{ api: OpenedApi; apiUrl: string; apiKey: string }> {
    const { apiUrl, apiKey, source } = this.resolve(project, fallbackUrl);
    const api = await this.factory.open({ project: project.token, apiUrl, apiKey, credentialSource: source, command });
    return { api, apiUrl, apiKey };
  }

  /**
   * Starts opening and listing `tokens` (a guess made before the manifest is parsed) in the background,
   * `parallelism` at a time. Each result is used only if the parsed project resolves to the same API URL and
   * admin key (see `planProjects`); failures are ignored here and met again on the regular path.
   */
  prefetch(tokens: readonly string[], command: ApiCommand, parallelism: number): Map<string, Promise<Prefetched | undefined>> {
    const results = new Map<string, Promise<Prefetched | undefined>>();
    const settle = new Map<string, (p: Prefetched | undefined) => void>();
    for (const t of tokens) results.set(t, new Promise((resolve) => settle.set(t, resolve)));
    void runBounded(tokens, parallelism, async (token) => {
      let target: { apiUrl: string; apiKey: string } | undefined;
      try {
        target = this.resolve({ token });
        const opened = await this.open({ token }, command);
        settle.get(token)!({ ok: true, ...opened, live: await listAll(opened.api) });
      } catch (error) {
        // A failure against the same URL and key is the answer the regular path would get: keep it, so a
        // failing project is not retried a second time (credentials that did not even resolve cost no request).
        settle.get(token)!(target ? { ok: false, ...target, error } : undefined);
      }
    });
    return results;
  }

  async close(): Promise<void> {
    try {
      await this.factory.close();
    } finally {
      await this.local?.close();
    }
  }
}

/** Every live key of a project, through the client's paginated listing. */
export async function listAll(api: OpenedApi): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const key of api.list()) keys.push(key);
  return keys;
}

/** A project opened and listed ahead of the manifest parse, or the error that stopped it. */
export type Prefetched =
  | { readonly ok: true; readonly apiUrl: string; readonly apiKey: string; readonly api: OpenedApi; readonly live: LiveKey[] }
  | { readonly ok: false; readonly apiUrl: string; readonly apiKey: string; readonly error: unknown };

/** One project's planning outcome: a plan (with any guard refusals) or the error that stopped it. */
export interface ProjectOutcome {
  readonly spec: ProjectSpec;
  readonly plan?: ProjectPlan;
  readonly violations: readonly GuardViolation[];
  readonly error?: unknown;
  /** The open client (apply reuses it). */
  readonly api?: OpenedApi;
  /** The live listing the plan was computed from. */
  readonly live?: readonly LiveKey[];
}

/** The guard options from the flags (defaults: ratio 0.3, at least 10 active keys). */
export function guardOptions(flags: GuardFlags, selfUuid?: string) {
  return {
    force: Boolean(flags.force),
    maxDeactivateRatio: flags.maxDeactivateRatio ?? 0.3,
    minActiveForRatio: flags.minActiveForRatio ?? 10,
    ...(selfUuid ? { selfUuid } : {}),
  };
}

/**
 * Plans every project in `specs`, `--parallelism` at a time; outcomes in `specs` order. Never throws for one
 * project's failure (missing credential, rejected key, ambiguity): that project's outcome carries the error.
 * `progress` receives one line per project as it finishes (stderr, so machine formats stay clean).
 */
export async function planProjects(
  session: ApiSession,
  specs: readonly ProjectSpec[],
  command: 'plan' | 'apply',
  flags: GuardFlags & ApiFlags,
  progress?: (line: string) => void,
  prefetched?: ReadonlyMap<string, Promise<Prefetched | undefined>>,
): Promise<ProjectOutcome[]> {
  const { planProject, checkGuards } = await import('../reconcile');
  const settled = await runBounded(specs, flags.parallelism ?? 8, async (spec): Promise<ProjectOutcome> => {
    let api: OpenedApi | undefined;
    try {
      const early = await prefetched?.get(spec.token);
      const wanted = early ? session.resolve(spec) : undefined;
      const usable = early && wanted && early.apiUrl === wanted.apiUrl && early.apiKey === wanted.apiKey ? early : undefined;
      if (usable && !usable.ok) throw usable.error;
      const opened = usable ?? (await session.open(spec, command));
      api = opened.api;
      const live = usable ? usable.live : await listAll(api);
      const plan = planProject({ desired: spec, live, selfKey: api.selfKey, apiUrl: opened.apiUrl });
      progress?.(`project ${spec.token}: ${live.length} live key${live.length === 1 ? '' : 's'} read`);
      return { spec, plan, violations: checkGuards(plan, guardOptions(flags, api.selfKey.uuid)), api, live };
    } catch (error) {
      return { spec, violations: [], error, ...(api ? { api } : {}) };
    }
  });
  return settled.map((r, i) => (r.status === 'fulfilled' ? r.value : { spec: specs[i]!, violations: [], error: r.reason }));
}

/** The message of an error as the CLI shows it, prefixed with the project unless it already names it. */
export function projectErrorLines(token: string, error: unknown): string {
  const e = error as { message?: string; hint?: string };
  const message = e?.message ?? String(error);
  const head = message.startsWith(`project ${token}`) ? message : `project ${token}: ${message}`;
  return `error: ${head}\n${e?.hint ? `hint: ${e.hint}\n` : ''}`;
}
