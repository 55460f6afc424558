/**
 * `scaleflex-keys apply [plan.json | -f FILE]`: carries out a plan, in three phases read top to bottom in `run`.
 *
 * 1. Prepare: with a saved plan (`fromSavedPlan`), read the manifest the plan was made from (or `-f`/`--from-cdktf`),
 *    list each project the plan changes, and check that the manifest still yields the reviewed desired state and
 *    every change's key is still as reviewed; projects where the plan changes nothing are never checked. With a
 *    manifest (`fromManifest`), plan every project and show the plan.
 * 2. Decide: every project is checked (errors, preconditions, guards recomputed from the listing, undelivered
 *    rotations, delivery sinks) before anything changes anywhere; then a saved plan goes ahead (it was reviewed) and
 *    a manifest's plan asks for `yes` on a terminal (`--auto-approve` otherwise).
 * 3. Apply: the shared runner (`../apply-runner.ts`) applies projects `--parallelism` at a time and routes each new
 *    secret to `--secrets-out` and its `deliver:` sinks; a failure stops its project only, and the run reports what
 *    was and was not done and exits 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PlanFileError, UsageError } from '../../errors';
import type { Plan, ProjectSpec } from '../../model';
import { buildPlan, countChanges, parsePlanFile } from '../../reconcile';
import { applyAll, finish, openSecretSink, refuseUndeliveredRotations, reportMissingSecrets } from '../apply-runner';
import type { ApplyFlags } from '../arguments/apply';
import { sourceFile } from '../arguments/common';
import { confirmApply } from '../confirm';
import { keysToDeliver, openDeliverer } from '../delivery';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { allViolations, renderPlan, reportProblems } from '../output';
import { lifecycleWarningLines, type Outcome, prepareRuns } from '../runs';
import { ApiSession, MANAGE_FOR_APPLY, trustFor } from '../session';
import type { OperatorTrust } from '../../trust';

/** What phase 1 hands to the rest: an open session (closed by `run`), one outcome per project, the plan. */
interface Prepared {
  readonly session: ApiSession;
  readonly outcomes: readonly Outcome[];
  readonly plan: Plan;
  /** The manifest's projects by token: their `deliver:` sinks and declared keys. */
  readonly specs: ReadonlyMap<string, ProjectSpec>;
  /** The manifest's directory: delivery file sinks and credential files are relative to it. */
  readonly baseDir: string;
}

/** Reads and validates a saved plan. */
function readPlanFile(file: string, io: Io): Plan {
  let text: string;
  try {
    text = readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new PlanFileError(`cannot read the plan file ${file}: ${(error as Error).message}`);
  }
  return parsePlanFile(text, file);
}

/** The manifest a saved plan binds to: `-f`/`--from-cdktf`, else the one the plan records. */
function manifestFlagsFor(plan: Plan, flags: ApplyFlags, planFile: string, io: Io): { file?: string; fromCdktf?: string } {
  if (flags.file !== undefined || flags.fromCdktf !== undefined) return flags;
  const recorded = plan.source;
  if (!recorded) {
    throw new UsageError(`${planFile} does not record the manifest it was made from; name it with -f FILE or --from-cdktf FILE`);
  }
  if (!existsSync(path.resolve(io.cwd, recorded.path))) {
    throw new UsageError(
      `${planFile} was made from ${recorded.path}, which does not exist here; run apply where plan ran, or name the manifest with ${recorded.kind === 'cdktf' ? '--from-cdktf' : '-f'} FILE`,
    );
  }
  return recorded.kind === 'cdktf' ? { fromCdktf: recorded.path } : { file: recorded.path };
}

/** Opens a session for `tokens` and prepares their runs; the session is closed again if preparing fails. */
async function openAndPrepare(
  io: Io,
  flags: ApplyFlags,
  tokens: readonly string[],
  baseDir: string,
  source: Parameters<typeof prepareRuns>[1],
): Promise<{ session: ApiSession; outcomes: Outcome[] }> {
  const session = await ApiSession.start(io, flags, tokens, baseDir);
  try {
    return { session, outcomes: await prepareRuns(session, source, MANAGE_FOR_APPLY, flags) };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Phase 1 for a saved plan: `--project` narrows it; its manifest is re-read; only projects it changes are listed. */
async function fromSavedPlan(planFile: string, flags: ApplyFlags, io: Io, trust: OperatorTrust): Promise<Prepared> {
  let plan = readPlanFile(planFile, io);
  if (flags.project.length) {
    const inPlan = new Set(plan.projects.map((p) => p.project));
    const unknown = flags.project.filter((t) => !inPlan.has(t));
    if (unknown.length) throw new UsageError(`--project ${unknown.join(', ')}: not in the plan ${planFile} (it covers ${[...inPlan].join(', ')})`);
    plan = buildPlan(plan.projects.filter((p) => flags.project.includes(p.project)), plan.source);
  }
  const manifest = manifestFlagsFor(plan, flags, planFile, io);
  const loaded = loadProjects({ ...manifest, project: [] }, io, trust);
  const specs = new Map<string, ProjectSpec>(loaded.state.projects.map((p) => [p.token, p]));
  const changing = plan.projects.filter((p) => p.changes.length > 0).map((p) => p.project);
  const source = { kind: 'saved', plan, specs, manifest: sourceFile(manifest) } as const;
  const { session, outcomes } = await openAndPrepare(io, flags, changing, loaded.baseDir, source);
  return { session, outcomes, plan, specs, baseDir: loaded.baseDir };
}

/** Phase 1 for a manifest: plans every project and shows the plan (and which projects could not be planned). */
async function fromManifest(flags: ApplyFlags, io: Io, trust: OperatorTrust): Promise<Prepared> {
  const loaded = loadProjects(flags, io, trust);
  const specs = new Map<string, ProjectSpec>(loaded.projects.map((p) => [p.token, p]));
  const tokens = loaded.projects.map((p) => p.token);
  const { session, outcomes } = await openAndPrepare(io, flags, tokens, loaded.baseDir, { kind: 'manifest', projects: loaded.projects });
  const plan = buildPlan(outcomes.flatMap((o) => (o.plan ? [o.plan] : [])), loaded.source);
  const unplanned = outcomes.filter((o) => o.error !== undefined).map((o) => o.token).sort();
  if (plan.projects.length > 0) io.out(await renderPlan(plan, 'text', io, allViolations(outcomes), unplanned));
  return { session, outcomes, plan, specs, baseDir: loaded.baseDir };
}

/** Runs `apply`; resolves to the exit code (0, 1, 3). */
export async function run(flags: ApplyFlags, io: Io): Promise<number> {
  const trust = trustFor(flags, io);
  const sink = await openSecretSink(flags, io);
  const saved = flags.planFile;
  const { session, outcomes, plan, specs, baseDir } = saved !== undefined ? await fromSavedPlan(saved, flags, io, trust) : await fromManifest(flags, io, trust);
  try {
    // Phase 2: decide, with every project checked before anything changes anywhere.
    reportProblems(outcomes, io, saved === undefined && plan.projects.length > 0);
    io.err(await lifecycleWarningLines(outcomes, specs, flags));
    if (outcomes.some((o) => o.error !== undefined)) {
      io.err(`Nothing was applied: every project must ${saved === undefined ? 'plan cleanly' : 'still be as the plan expects'} first.\n`);
      return EXIT.ERROR;
    }
    if (outcomes.some((o) => o.violations.length > 0)) {
      io.err('Nothing was applied: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    const counts = countChanges(plan);
    if (counts.create + counts.change + counts.deactivate === 0) {
      if (saved !== undefined) io.out('No changes. Live keys match the plan.\n');
      return EXIT.OK;
    }
    refuseUndeliveredRotations(plan, sink);
    const deliverer = openDeliverer(io, flags, trust, specs, baseDir);
    await deliverer?.preflight(keysToDeliver(plan, specs));
    if (saved === undefined) await confirmApply(io, flags.autoApprove);
    else io.out(`Applying the saved plan ${saved}: ${counts.create} to create, ${counts.change} to change, ${counts.deactivate} to deactivate.\n`);

    // Phase 3: apply. After a question at a terminal, time has passed: apply lists afresh. Otherwise the listing
    // is seconds old.
    const runs = outcomes
      .flatMap((o) => (o.run && o.run.plan.changes.length > 0 ? [o.run] : []))
      .sort((a, b) => (a.plan.project < b.plan.project ? -1 : 1));
    const summary = await applyAll(runs, flags, io, sink, saved !== undefined || flags.autoApprove, deliverer);
    if (sink) reportMissingSecrets(sink, flags, io, runs.flatMap((r) => specs.get(r.plan.project) ?? []), plan.source);
    return finish(summary, flags, io, sink, plan.source);
  } finally {
    await session.close();
  }
}
