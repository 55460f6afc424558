/**
 * `scaleflex-keys apply [plan.json | -f FILE]`: carries out a plan.
 *
 * - With a saved plan: re-lists every project and refuses (StalePlanError, nothing changed) when the live keys
 *   moved since the plan was made, then applies exactly the saved changes. The plan was reviewed; no question.
 * - With a manifest: plans, shows the plan, asks for `yes` on a terminal (`--auto-approve` otherwise), applies.
 *
 * Every project is checked (errors, guards) before anything changes anywhere; then projects are applied
 * `--parallelism` at a time, each change printed as it completes, output grouped per project in a fixed order.
 * A failure stops that project only; the run then reports what was and was not done and exits 1.
 * Secrets of created keys go to `--secrets-out` (or nowhere, with a hint how to fetch them later).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BULK_STATUS_MAX } from '../../api/endpoints';
import { ApplyFailedError, PlanFileError, StalePlanError, UsageError } from '../../errors';
import type { ProjectSpec } from '../../model';
import type { ApplyEvent, Change, Plan, ProjectPlan } from '../../reconcile';
import { confirmApply } from '../confirm';
import { startManifestRun } from '../manifest-run';
import { loadProjects, type SourceFlags } from '../desired';
import { EXIT } from '../exit-codes';
import { runBounded } from '../../bounded';
import { GroupedOutput, type SectionWriter } from '../grouped-output';
import type { Io } from '../io';
import {
  ApiSession,
  type ApiFlags,
  type GuardFlags,
  guardOptions,
  listAll,
  type OpenedApi,
  planProjects,
  projectErrorLines,
  type ProjectOutcome,
} from '../projects';
import { retireRacedDuplicates } from '../../reconcile/raced-creates';
import { preflightSecretsFile, protectSecret, SecretSink, secretsFormatFor } from '../secrets-file';
import { allViolations, renderPlan, reportProblems } from './plan';

export interface ApplyFlags extends SourceFlags, ApiFlags, GuardFlags {
  readonly autoApprove?: boolean;
  readonly secretsOut?: string;
  readonly secretsFormat?: 'json' | 'env';
}

/** Runs with at least this many changes get a progress line on a terminal. */
const PROGRESS_MIN_CHANGES = 50;
const PROGRESS_EVERY_MS = 1000;

function quote(s: string): string {
  return JSON.stringify(s);
}

/** A change as the failure report names it: what it was to do, to which key. */
function describeChange(c: Change): string {
  return c.kind === 'create' ? `create ${quote(c.after.description)}` : `${c.kind} ${quote(c.before.description)} (uuid ${c.uuid})`;
}

/** One line per completed (or failed) change; never a secret (events carry none). Skipped changes print nothing. */
export function eventLine(e: ApplyEvent): string | undefined {
  const c = e.change;
  if (e.status === 'skipped') return undefined;
  if (e.status === 'failed') return `  ! ${describeChange(c)} failed: ${e.error?.message ?? 'unknown error'}`;
  switch (c.kind) {
    case 'create':
      return `  + created ${quote(c.after.description)}${e.uuid ? ` (uuid ${e.uuid})` : ''}`;
    case 'update': {
      const what =
        c.before.description !== c.after.description
          ? `renamed ${quote(c.before.description)} -> ${quote(c.after.description)}`
          : `updated ${quote(c.after.description)}`;
      const perms = [...c.permissionsAdded.map((p) => `+${p}`), ...c.permissionsRemoved.map((p) => `-${p}`)];
      return `  ~ ${what} (uuid ${c.uuid})${perms.length ? `: ${perms.join(' ')}` : ''}`;
    }
    case 'activate':
      return `  ~ activated ${quote(c.after.description)} (uuid ${c.uuid})`;
    case 'deactivate':
      return `  - deactivated ${quote(c.after.description)} (uuid ${c.uuid})${c.reason === 'unmanaged' ? ', not in the manifest' : ''}`;
  }
}

interface ProjectRun {
  readonly plan: ProjectPlan;
  readonly api: OpenedApi;
  /** The uuids of the live keys the plan was computed from. */
  readonly plannedUuids: ReadonlySet<string>;
}

interface ApplySummary {
  created: number;
  changed: number;
  deactivated: number;
  stopped: string[];
  createdKeys: Map<string, string[]>;
}

/** Applies every project's plan, `parallelism` projects at a time, output grouped per project. */
async function applyAll(runs: readonly ProjectRun[], flags: ApplyFlags, io: Io, sink: SecretSink | undefined): Promise<ApplySummary> {
  const { applyProjectPlan } = await import('../../reconcile');
  const parallelism = flags.parallelism ?? 8;
  const summary: ApplySummary = { created: 0, changed: 0, deactivated: 0, stopped: [], createdKeys: new Map() };
  const total = runs.reduce((n, r) => n + r.plan.changes.length, 0);
  let completed = 0;
  const progress =
    io.stdoutIsTTY && total >= PROGRESS_MIN_CHANGES
      ? setInterval(() => io.err(`progress: ${completed}/${total} changes done (${Math.floor((completed * 100) / total)}%)\n`), PROGRESS_EVERY_MS)
      : undefined;
  progress?.unref();
  const grouped = new GroupedOutput(io, runs.length);

  try {
    await runBounded(runs, parallelism, async ({ plan, api, plannedUuids }, index) => {
      const w: SectionWriter = grouped.section(index);
      // Changes complete in any order (they run side by side); their lines come out in plan order, each as
      // soon as it and every change before it are finished, so that the output is the same on every run.
      const changeIndex = new Map(plan.changes.map((c, i) => [c, i] as const));
      const lines = new GroupedOutput(w, plan.changes.length);
      try {
        w.out(`\nproject ${plan.project}: applying ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n`);
        const changedKeys = new Set<string>();
        const createdHere: { uuid: string; description: string }[] = [];
        const result = await applyProjectPlan(api, plan, {
          bulkMax: BULK_STATUS_MAX,
          parallelism,
          onEvent: (e) => {
            if (e.status !== 'skipped') completed++;
            if (e.status === 'done') {
              if (e.change.kind === 'create') {
                summary.created++;
                if (e.uuid) createdHere.push({ uuid: e.uuid, description: e.change.after.description });
              }
              else if (e.change.kind === 'deactivate') summary.deactivated++;
              else changedKeys.add(e.change.uuid);
            }
            const line = eventLine(e);
            const at = changeIndex.get(e.change);
            if (at === undefined) {
              if (line) w.out(`${line}\n`);
              return;
            }
            if (line) lines.section(at).out(`${line}\n`);
            lines.finish(at);
          },
          onSecret: async (created) => {
            const list = summary.createdKeys.get(created.project) ?? [];
            list.push(created.description);
            summary.createdKeys.set(created.project, list);
            if (sink) await sink.add(created);
            else protectSecret(io, created.secret);
          },
        });
        lines.finishAll();
        summary.changed += changedKeys.size;
        await retireDuplicates(api, plan.project, createdHere, plannedUuids, w, sink);
        if (result.failed) {
          summary.stopped.push(plan.project);
          w.err(projectErrorLines(plan.project, result.failed.error));
          w.out(
            `project ${plan.project}: stopped after ${result.done.length} of ${plan.changes.length} changes; ` +
              `${result.notDone.length + 1} not done:\n`,
          );
          for (const c of [result.failed.change, ...result.notDone]) w.out(`    ${describeChange(c)}\n`);
        } else {
          w.out(`project ${plan.project}: ${result.done.length} change${result.done.length === 1 ? '' : 's'} applied\n`);
        }
      } catch (error) {
        lines.finishAll();
        summary.stopped.push(plan.project);
        w.err(projectErrorLines(plan.project, error));
      } finally {
        grouped.finish(index);
      }
    });
  } finally {
    if (progress) clearInterval(progress);
    grouped.finishAll();
  }
  return summary;
}

/**
 * After this run's creates: retires any key it created whose twin another apply created at the same moment
 * (see src/reconcile/raced-creates.ts), and points the secrets file at the key that stays.
 */
async function retireDuplicates(
  api: OpenedApi,
  project: string,
  created: readonly { uuid: string; description: string }[],
  plannedUuids: ReadonlySet<string>,
  w: SectionWriter,
  sink: SecretSink | undefined,
): Promise<void> {
  const retired = await retireRacedDuplicates(api, created, plannedUuids);
  for (const r of retired) {
    w.out(
      `  - retired ${quote(r.description)} (uuid ${r.retiredUuid}): another apply created the same key at the same time; ` +
        `this copy was renamed ${quote(r.retiredAs)} and deactivated, uuid ${r.keptUuid} stays\n`,
    );
    if (sink) await sink.add({ project, uuid: r.keptUuid, description: r.description, secret: await api.getSecret(r.keptUuid) });
  }
}

/** The end of an apply: totals, where the secrets went (or how to fetch them), and the outcome. */
function finish(summary: ApplySummary, flags: ApplyFlags, io: Io, sink: SecretSink | undefined): number {
  const totals = `${summary.created} created, ${summary.changed} changed, ${summary.deactivated} deactivated`;
  const createdTotal = [...summary.createdKeys.values()].reduce((n, l) => n + l.length, 0);
  if (createdTotal > 0) {
    if (sink) {
      io.out(`\nThe secrets of ${createdTotal} new key${createdTotal === 1 ? '' : 's'} were written to ${flags.secretsOut} (mode 0600).\n`);
    } else {
      io.out(`\nThe secrets of the ${createdTotal} new key${createdTotal === 1 ? '' : 's'} were not saved (no --secrets-out). Fetch them with:\n`);
      // `secrets pull` matches keys through the manifest: name it unless it is the default one in this directory.
      const source = flags.fromCdktf
        ? ` --from-cdktf ${flags.fromCdktf}`
        : flags.file
          ? ` -f ${flags.file}`
          : existsSync(path.resolve(io.cwd, 'scaleflex-keys.yaml'))
            ? ''
            : ' -f MANIFEST';
      for (const [project, descriptions] of [...summary.createdKeys].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const which = descriptions.length <= 3 ? [...descriptions].sort().map((d) => ` --description ${quote(d)}`).join('') : '';
        io.out(`  scaleflex-keys secrets pull${source} --project ${project}${which}${flags.local ? ' --local' : ''} --out FILE\n`);
      }
    }
  }
  if (summary.stopped.length > 0) {
    io.out(`\nApply stopped part-way: ${totals}.\n`);
    throw new ApplyFailedError(
      `apply stopped part-way in ${summary.stopped.length} project${summary.stopped.length === 1 ? '' : 's'} (${summary.stopped.sort().join(', ')}); what was and was not done is listed above`,
      { hint: 'fix the cause and run apply again: it plans afresh and converges' },
    );
  }
  io.out(`\nApply complete: ${totals}.\n`);
  return EXIT.OK;
}

/** Reads and validates a saved plan. */
async function readPlanFile(file: string, io: Io): Promise<Plan> {
  let text: string;
  try {
    text = readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new PlanFileError(`cannot read the plan file ${file}: ${(error as Error).message}`);
  }
  const { parsePlanFile } = await import('../../reconcile');
  return parsePlanFile(text, file);
}

/** Re-lists each project of a saved plan; refuses stale projects and guard violations before anything changes. */
async function checkSavedPlan(
  session: ApiSession,
  plan: Plan,
  specs: ReadonlyMap<string, ProjectSpec>,
  flags: ApplyFlags,
): Promise<{ runs: ProjectRun[]; outcomes: ProjectOutcome[] }> {
  const { liveFingerprint, checkGuards } = await import('../../reconcile');
  const runs: ProjectRun[] = [];
  const settled = await runBounded(plan.projects, flags.parallelism ?? 8, async (p): Promise<ProjectOutcome> => {
    const spec: ProjectSpec = specs.get(p.project) ?? { token: p.project, unmanaged: p.unmanaged, keys: [] };
    try {
      // The key goes where this run resolves the project's API, never simply where a plan file says: a crafted
      // plan must not be able to send an admin key to a server of its choosing. The two must agree.
      const { apiUrl } = session.resolve(spec);
      if (!session.local && apiUrl !== p.apiUrl) {
        throw new PlanFileError(
          `project ${p.project}: the plan was made against ${p.apiUrl}, but this apply would talk to ${apiUrl}; nothing was changed`,
          { hint: 'give apply the same --api-url / manifest (-f) / SCALEFLEX_API_URL the plan was made with, or run plan again' },
        );
      }
      const { api } = await session.open(spec, 'apply');
      const live = await listAll(api);
      if (liveFingerprint(live) !== p.liveFingerprint) {
        throw new StalePlanError(`project ${p.project}: stale plan: live keys changed since the plan was made; run plan again`, {
          hint: 'nothing was changed; make a new plan, review it, and apply that',
        });
      }
      runs.push({ plan: p, api, plannedUuids: new Set(live.map((k) => k.uuid)) });
      return { spec, plan: p, api, live, violations: checkGuards(p, guardOptions(flags, api.selfKey.uuid)) };
    } catch (error) {
      return { spec, violations: [], error };
    }
  });
  // The callback never throws, so every outcome is fulfilled.
  const outcomes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  return { outcomes, runs };
}

/** Runs `apply` (`args[0]`: a saved plan file); resolves to the exit code (0, 1, 3). */
export async function run(opts: ApplyFlags, io: Io, args: string[]): Promise<number> {
  const planFile = args[0];
  const { buildPlan, countChanges } = await import('../../reconcile');

  let sink: SecretSink | undefined;
  if (opts.secretsOut !== undefined) {
    const file = path.resolve(io.cwd, opts.secretsOut);
    const format = secretsFormatFor(file, opts.secretsFormat);
    await preflightSecretsFile(file, format);
    sink = new SecretSink(io, file, format);
  } else if (opts.secretsFormat !== undefined) {
    throw new UsageError('--secrets-format needs --secrets-out FILE');
  }

  let runs: ProjectRun[];
  let outcomes: ProjectOutcome[];
  let session: ApiSession;
  let plan: Plan;
  if (planFile !== undefined) {
    if (opts.fromCdktf !== undefined && opts.file !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
    let saved = await readPlanFile(planFile, io);
    if (opts.project?.length) {
      const inPlan = new Set(saved.projects.map((p) => p.project));
      const unknown = opts.project.filter((t) => !inPlan.has(t));
      if (unknown.length) throw new UsageError(`--project ${unknown.join(', ')}: not in the plan ${planFile} (it covers ${[...inPlan].join(', ')})`);
      saved = buildPlan(saved.projects.filter((p) => opts.project!.includes(p.project)));
    }
    // A manifest next to a saved plan only says where each project's admin key comes from.
    const specs = new Map<string, ProjectSpec>();
    let baseDir = io.cwd;
    if (opts.file !== undefined || opts.fromCdktf !== undefined) {
      const loaded = await loadProjects({ ...opts, project: [] }, io);
      for (const p of loaded.state.projects) specs.set(p.token, p);
      baseDir = loaded.baseDir;
    }
    session = await ApiSession.start(io, opts, saved.projects.map((p) => p.project), baseDir);
    plan = saved;
    try {
      ({ runs, outcomes } = await checkSavedPlan(session, saved, specs, opts));
    } catch (error) {
      await session.close();
      throw error;
    }
  } else {
    const started = await startManifestRun(opts, io, 'apply');
    session = started.session;
    try {
      outcomes = await planProjects(session, started.projects, 'apply', opts, undefined, started.prefetched);
    } catch (error) {
      await session.close();
      throw error;
    }
    plan = buildPlan(outcomes.filter((o) => o.plan).map((o) => o.plan!));
    const unplanned = outcomes.filter((o) => o.error !== undefined).map((o) => o.spec.token).sort();
    if (plan.projects.length > 0) io.out(await renderPlan(plan, 'text', io, allViolations(outcomes), unplanned));
    runs = outcomes
      .filter((o) => o.plan && o.api && o.live)
      .map((o) => ({ plan: o.plan!, api: o.api!, plannedUuids: new Set(o.live!.map((k) => k.uuid)) }));
  }

  try {
    reportProblems(outcomes, io, planFile === undefined && plan.projects.length > 0);
    if (outcomes.some((o) => o.error !== undefined)) {
      io.err('Nothing was applied: every project must plan cleanly first.\n');
      return EXIT.ERROR;
    }
    if (outcomes.some((o) => o.violations.length > 0)) {
      io.err('Nothing was applied: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    const counts = countChanges(plan);
    if (counts.create + counts.change + counts.deactivate === 0) {
      if (planFile !== undefined) io.out('No changes. Live keys match the plan.\n');
      return EXIT.OK;
    }
    if (planFile === undefined) await confirmApply(io, Boolean(opts.autoApprove));
    else io.out(`Applying the saved plan ${planFile}: ${counts.create} to create, ${counts.change} to change, ${counts.deactivate} to deactivate.\n`);
    const ordered = [...runs].sort((a, b) => (a.plan.project < b.plan.project ? -1 : 1)).filter((r) => r.plan.changes.length > 0);
    const summary = await applyAll(ordered, opts, io, sink);
    return finish(summary, opts, io, sink);
  } finally {
    await session.close();
  }
}
