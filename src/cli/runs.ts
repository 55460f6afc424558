/**
 * The one preparation of work for plan and apply: `prepareRuns` turns a source — a manifest, or a saved plan bound
 * to the manifest it was made from — into one outcome per project: a plan ready to apply, with its client, the
 * fresh listing it is checked against and every guard refusal; or the error that stopped that project. Projects
 * are listed `--parallelism` at a time; one project's failure never hides another's plan. The rules themselves (matching,
 * diffing, saved-plan binding, guards) are the reconciler's; this module only does the I/O around them.
 */
import { afterQueuedWrites } from '../api/transport';
import { runBounded } from '../bounded';
import { InsecureUrlError, PreconditionFailedError } from '../errors';
import type { GuardViolation, LiveKey, Plan, ProjectPlan, ProjectSpec } from '../model';
import { type GuardFlags, guardOptions } from './arguments/common';
import type { Io } from './io';
import { type Access, type ApiSession, listAll, openAhead, type OpenedApi } from './session';
import { checkGuards, lifecycleWarnings, matchEntries, type MatchResult, planProject, savedProjectProblems } from '../reconcile';

/** One project ready to apply: its plan, the client, and the listing the plan is checked against. */
export interface ProjectRun {
  readonly plan: ProjectPlan;
  readonly api: OpenedApi;
  readonly live: readonly LiveKey[];
  /** How the manifest's entries paired with `live`, when this run planned from the manifest (made once). */
  readonly match?: MatchResult;
}

/** One project's outcome. */
export interface Outcome {
  readonly token: string;
  /** The plan (to show, and to apply when `run` is set). */
  readonly plan?: ProjectPlan;
  readonly run?: ProjectRun;
  readonly violations: readonly GuardViolation[];
  readonly error?: unknown;
}

/** Where the work comes from. */
export type RunSource =
  | { readonly kind: 'manifest'; readonly projects: readonly ProjectSpec[] }
  /** A saved plan; `specs` are the projects the plan's manifest declares now (by token). */
  | { readonly kind: 'saved'; readonly plan: Plan; readonly specs: ReadonlyMap<string, ProjectSpec>; readonly manifest: string };

/**
 * Opens, lists and plans (or checks) every project of `source`; outcomes in source order. `progress` receives one
 * line per listed project (stderr, so machine formats stay clean).
 */
export async function prepareRuns(
  session: ApiSession,
  source: RunSource,
  access: Access,
  flags: GuardFlags & { parallelism: number; now?: Date },
  progress?: (line: string) => void,
): Promise<Outcome[]> {
  const open = async (spec: ProjectSpec): Promise<{ api: OpenedApi; live: LiveKey[]; apiUrl: string }> => {
    const target = session.resolve(spec);
    const api = await session.open(spec, target, access);
    const live = await listAll(api);
    progress?.(`project ${spec.token}: ${live.length} live key${live.length === 1 ? '' : 's'} read`);
    return { api, live, apiUrl: target.apiUrl };
  };

  if (source.kind === 'manifest') {
    // A project is planned after its slot has gone to the next project and after the requests that project sent
    // have left: the requests of every project answered in this turn go first, and planning runs while they are on
    // the wire rather than in front of them. Each planning settles into its outcome at once: a project refused while others
    // still list is an outcome, never a rejection left unhandled until the last listing ends.
    const planned: Promise<Outcome>[] = [];
    const failed = (i: number, error: unknown): Outcome => ({ token: source.projects[i]!.token, violations: [], error });
    const fetched = await runBounded(source.projects, openAhead(flags.parallelism), async (spec, i) => {
      const { api, live, apiUrl } = await open(spec);
      planned[i] = afterQueuedWrites().then((): Outcome => {
        const match = matchEntries(spec.keys, live);
        const plan = planProject({ desired: spec, live, selfKey: api.selfKey, apiUrl, match, ...(flags.now ? { now: flags.now } : {}) });
        return { token: spec.token, plan, run: { plan, api, live, match }, violations: checkGuards(plan, guardOptions(flags, api.selfKey.uuid), live) };
      }).catch((error: unknown) => failed(i, error));
    });
    return Promise.all(fetched.map((f, i) => (f.status === 'fulfilled' ? planned[i]! : failed(i, f.reason))));
  }

  const saved = source.plan.projects;
  const settled = await runBounded(saved, openAhead(flags.parallelism), async (p): Promise<Outcome> => {
    // A project where the plan changes nothing is never checked, never opened, and never blocks.
    if (p.changes.length === 0) return { token: p.project, plan: p, violations: [] };
    const spec = source.specs.get(p.project);
    if (!spec) {
      throw new PreconditionFailedError(`project ${p.project}: ${source.manifest} no longer declares it; run plan again`);
    }
    // The key goes where this run resolves the project's API (an allowed origin), never simply where a plan
    // file says: a crafted plan must not be able to send an admin key to a server of its choosing.
    const target = session.resolve(spec);
    if (!session.local && target.apiUrl !== p.apiUrl) {
      throw new InsecureUrlError(`project ${p.project}: the plan was made against ${p.apiUrl}, but this apply would talk to ${target.apiUrl}; nothing was changed`, {
        hint: 'give apply the same --api-url / manifest / SCALEFLEX_API_URL the plan was made with, or run plan again',
      });
    }
    const api = await session.open(spec, target, access);
    const live = await listAll(api);
    const problems = savedProjectProblems({ saved: p, desired: spec, live, selfKey: api.selfKey, ...(flags.now ? { now: flags.now } : {}) });
    if (problems.length > 0) {
      throw new PreconditionFailedError(problems.join('\n'), { hint: 'nothing was changed anywhere; make a new plan, review it, and apply that' });
    }
    return { token: p.project, plan: p, run: { plan: p, api, live }, violations: checkGuards(p, guardOptions(flags, api.selfKey.uuid), live) };
  });
  return settled.map((r, i) => (r.status === 'fulfilled' ? r.value : { token: saved[i]!.project, violations: [], error: r.reason }));
}

/** The Io's stderr as a progress sink when tracing, else nothing. */
export function progressTo(io: Io, enabled: boolean): ((line: string) => void) | undefined {
  return enabled ? (line) => io.err(`${line}\n`) : undefined;
}

/**
 * The lifecycle warnings of every planned project (rotations and expiries coming due within `warnWithinMs`, due
 * rotations that cannot be planned), each `warning: ...` line ready for stderr, in project order.
 */
export async function lifecycleWarningLines(
  outcomes: readonly Outcome[],
  specs: ReadonlyMap<string, ProjectSpec>,
  flags: { now?: Date; warnWithinMs: number },
): Promise<string> {
  let out = '';
  for (const o of [...outcomes].sort((a, b) => (a.token < b.token ? -1 : 1))) {
    const spec = specs.get(o.token);
    if (!o.run || !spec) continue;
    const warnings = lifecycleWarnings({
      desired: spec,
      live: o.run.live,
      selfKey: o.run.api.selfKey,
      apiUrl: o.run.plan.apiUrl,
      ...(o.run.match ? { match: o.run.match } : {}),
      withinMs: flags.warnWithinMs,
      ...(flags.now ? { now: flags.now } : {}),
    });
    for (const w of warnings) out += `warning: ${w}\n`;
  }
  return out;
}
