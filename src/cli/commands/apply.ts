/**
 * `scaleflex-keys apply [plan.json | -f FILE]`: carries out a plan.
 *
 * - With a saved plan: reads the manifest the plan was made from (or `-f`/`--from-cdktf`), lists each project the
 *   plan changes, and applies exactly the saved changes — only if the manifest still yields the reviewed desired
 *   state, every change's key is still as reviewed, and the guards (recomputed from that listing) pass. Projects
 *   where the plan changes nothing are never checked. No question: the plan was reviewed.
 * - With a manifest: plans, shows the plan, asks for `yes` on a terminal (`--auto-approve` otherwise), applies.
 *
 * Every project is checked (errors, preconditions, guards) before anything changes anywhere; then projects are
 * applied `--parallelism` at a time, each change printed as it completes, output grouped per project in a fixed
 * order. A failure stops that project only; the run then reports what was and was not done and exits 1.
 * Secrets of created keys go to `--secrets-out` (or nowhere, with a hint how to fetch them later) and to their
 * `deliver:` sinks (`../delivery.ts`), right after each create; a failed delivery leaves the key and exits 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BULK_STATUS_MAX } from '../../contract';
import { ApplyFailedError, DeliveryError, PlanFileError, RotationRefusedError, UsageError } from '../../errors';
import type { Plan, PlanSource, ProjectSpec } from '../../model';
import { DEFAULT_MANIFEST, sourceFile } from '../arguments/common';
import type { ApplyFlags } from '../arguments/apply';
import { confirmApply } from '../confirm';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import { GroupedOutput, type SectionWriter } from '../grouped-output';
import type { Io } from '../io';
import { allViolations, describeChange, eventLine, projectErrorLines, renderPlan, reportProblems } from '../output';
import { lifecycleWarningLines, type Outcome, prepareRuns, type ProjectRun } from '../runs';
import { missingSecrets, preflightSecretsFile, protectSecret, SecretSink, secretsFormatFor } from '../secrets-file';
import { ApiSession, MANAGE_FOR_APPLY, trustFor } from '../session';
import { runBounded } from '../../bounded';
import { type Deliverer, type DeliveryFailure, deliveryFailureLines, keysToDeliver, openDeliverer } from '../delivery';

/** Runs with at least this many changes get a progress line on a terminal. */
const PROGRESS_MIN_CHANGES = 50;
const PROGRESS_EVERY_MS = 1000;

const quote = (s: string): string => JSON.stringify(s);

interface ApplySummary {
  created: number;
  changed: number;
  deactivated: number;
  stopped: string[];
  createdKeys: Map<string, string[]>;
  deliveryFailures: DeliveryFailure[];
  /** `project\0description` of created keys that have `deliver:` sinks. */
  withSinks: Set<string>;
}

/** Applies every project's plan, `parallelism` projects at a time, output grouped per project (`rotate` too). */
export async function applyAll(
  runs: readonly ProjectRun[],
  flags: Omit<ApplyFlags, 'planFile'>,
  io: Io,
  sink: SecretSink | undefined,
  freshListing: boolean,
  deliverer?: Deliverer,
): Promise<ApplySummary> {
  const { applyProjectPlan } = await import('../../reconcile');
  const summary: ApplySummary = { created: 0, changed: 0, deactivated: 0, stopped: [], createdKeys: new Map(), deliveryFailures: [], withSinks: new Set() };
  const total = runs.reduce((n, r) => n + r.plan.changes.length, 0);
  let completed = 0;
  const progress =
    io.stdoutIsTTY && total >= PROGRESS_MIN_CHANGES
      ? setInterval(() => io.err(`progress: ${completed}/${total} changes done (${Math.floor((completed * 100) / total)}%)\n`), PROGRESS_EVERY_MS)
      : undefined;
  progress?.unref();
  const grouped = new GroupedOutput(io, runs.length);

  try {
    await runBounded(runs, flags.parallelism, async ({ plan, api, live }, index) => {
      const w: SectionWriter = grouped.section(index);
      // Changes complete in any order (they run side by side); their lines come out in plan order, each as
      // soon as it and every change before it are finished, so that the output is the same on every run.
      const changeIndex = new Map(plan.changes.map((c, i) => [c, i] as const));
      const lines = new GroupedOutput(w, plan.changes.length);
      try {
        w.out(`\nproject ${plan.project}: applying ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n`);
        const changedKeys = new Set<string>();
        // What each new key's delivery printed, shown under its `+ created` line (by uuid).
        const delivered = new Map<string, string>();
        const result = await applyProjectPlan(api, plan, {
          bulkMax: BULK_STATUS_MAX,
          parallelism: flags.parallelism,
          // The listing the plan was checked against, unless time passed at a prompt: then apply lists afresh.
          ...(freshListing ? { live } : {}),
          onEvent: (e) => {
            if (e.status !== 'skipped') completed++;
            if (e.status === 'done') {
              if (e.change.kind === 'create') summary.created++;
              else if (e.change.kind === 'deactivate') summary.deactivated++;
              else changedKeys.add(e.change.uuid);
              // A rotation renames one key (changed) and creates its successor.
              if (e.change.kind === 'rotate') summary.created++;
            }
            const deliveryText = e.uuid !== undefined ? delivered.get(e.uuid) : undefined;
            if (e.uuid !== undefined) delivered.delete(e.uuid);
            const line = deliveryText ? `${eventLine(e)}\n${deliveryText.replace(/\n$/, '')}` : eventLine(e);
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
            if (!list.includes(created.description)) list.push(created.description);
            summary.createdKeys.set(created.project, list);
            if (sink) await sink.add(created);
            else protectSecret(io, created.secret);
            if (deliverer) {
              const report = await deliverer.deliverDeclared(created);
              if (report.results.length > 0) summary.withSinks.add(`${created.project}\u0000${created.description}`);
              summary.deliveryFailures.push(...report.failures);
              if (report.text) delivered.set(created.uuid, report.text);
            }
          },
        });
        lines.finishAll();
        // A raced twin's secret is delivered after the events: its lines follow here.
        for (const text of delivered.values()) w.out(text);
        summary.changed += changedKeys.size;
        for (const r of result.retired) {
          w.out(
            `  - retired ${quote(r.description)} (uuid ${r.retiredUuid}): another apply created the same key at the same time; ` +
              `this copy was renamed ${quote(r.retiredAs)} and deactivated, uuid ${r.keptUuid} stays\n`,
          );
        }
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

/** The end of an apply: totals, where the secrets went (or how to fetch them), and the outcome. */
export function finish(summary: ApplySummary, flags: Omit<ApplyFlags, 'planFile'>, io: Io, sink: SecretSink | undefined, planSource?: PlanSource): number {
  const totals = `${summary.created} created, ${summary.changed} changed, ${summary.deactivated} deactivated`;
  const createdTotal = [...summary.createdKeys.values()].reduce((n, l) => n + l.length, 0);
  if (createdTotal > 0) {
    if (sink) {
      io.out(`\nThe secrets of ${createdTotal} new key${createdTotal === 1 ? '' : 's'} were written to ${flags.secretsOut} (mode 0600).\n`);
    } else {
      // Keys with `deliver:` sinks had their secrets delivered (failures are listed below, with `secrets push`).
      const unsaved = [...summary.createdKeys]
        .map(([project, descriptions]) => [project, descriptions.filter((d) => !summary.withSinks.has(`${project}\u0000${d}`))] as const)
        .filter(([, descriptions]) => descriptions.length > 0);
      const n = unsaved.reduce((k, [, d]) => k + d.length, 0);
      if (n > 0) io.out(`\nThe secrets of ${n === createdTotal ? 'the ' : ''}${n} new key${n === 1 ? '' : 's'} were not saved (no --secrets-out${n === createdTotal ? '' : ', no deliver:'}). Fetch them with:\n`);
      for (const [project, descriptions] of unsaved.sort(([a], [b]) => (a < b ? -1 : 1))) {
        io.out(`  ${secretsPullLine(flags, io, project, descriptions, planSource)}\n`);
      }
    }
  }
  if (summary.deliveryFailures.length > 0) io.err(deliveryFailureLines(summary.deliveryFailures, followUpSource(flags, io, planSource)));
  if (summary.stopped.length > 0) {
    io.out(`\nApply stopped part-way: ${totals}.\n`);
    throw new ApplyFailedError(
      `apply stopped part-way in ${summary.stopped.length} project${summary.stopped.length === 1 ? '' : 's'} (${summary.stopped.sort().join(', ')}); what was and was not done is listed above`,
      { hint: 'fix the cause and run apply again: it plans afresh and converges' },
    );
  }
  io.out(`\nApply complete: ${totals}.\n`);
  if (summary.deliveryFailures.length > 0) {
    throw new DeliveryError(`${summary.deliveryFailures.length} deliver${summary.deliveryFailures.length === 1 ? 'y' : 'ies'} of new secrets failed (listed above); the keys were created and stay`, {
      hint: 'fix the cause and run the `scaleflex-keys secrets push` lines above to deliver again',
    });
  }
  return EXIT.OK;
}

/**
 * After an apply with `--secrets-out FILE`: the declared keys of the projects it touched whose secret FILE does not
 * hold (an earlier apply killed between a create and its write, say), each project with the `secrets pull` line that
 * fills them. Listing, not fetching: FILE may be meant for new keys only, and pulling every old key's secret into it
 * would spread secrets nobody asked for.
 */
function reportMissingSecrets(sink: SecretSink, flags: ApplyFlags, io: Io, touched: readonly ProjectSpec[], planSource?: PlanSource): void {
  const keys = touched.flatMap((p) => p.keys.filter((k) => k.active).map((k) => ({ project: p.token, description: k.description })));
  const missing = missingSecrets(sink.file, sink.format, keys);
  if (missing.length === 0) return;
  io.err(`\nwarning: ${missing.length} declared key${missing.length === 1 ? ' has' : 's have'} no secret in ${flags.secretsOut} (an interrupted apply, or keys made before it was used):\n`);
  const byProject = new Map<string, string[]>();
  for (const m of missing) byProject.set(m.project, [...(byProject.get(m.project) ?? []), m.description]);
  for (const [project, descriptions] of [...byProject].sort(([a], [b]) => (a < b ? -1 : 1))) {
    io.err(`  ${project}: ${descriptions.slice(0, 10).map((d) => quote(d)).join(', ')}${descriptions.length > 10 ? ` and ${descriptions.length - 10} more` : ''}\n`);
    io.err(`    ${secretsPullLine(flags, io, project, descriptions, planSource)}\n`);
  }
}

/** The manifest flags of a follow-up command (`secrets pull`, `secrets push`): empty for the default manifest. */
function followUpSource(flags: Omit<ApplyFlags, 'planFile'>, io: Io, planSource?: PlanSource): string {
  return flags.fromCdktf
    ? ` --from-cdktf ${flags.fromCdktf}`
    : flags.file
      ? ` -f ${flags.file}`
      : planSource && planSource.path !== DEFAULT_MANIFEST
        ? ` ${planSource.kind === 'cdktf' ? '--from-cdktf' : '-f'} ${planSource.path}`
        : existsSync(path.resolve(io.cwd, DEFAULT_MANIFEST))
          ? ''
          : ' -f MANIFEST';
}

/** The `secrets pull` command that fetches `descriptions` of `project` (it matches keys through the manifest). */
function secretsPullLine(flags: Omit<ApplyFlags, 'planFile'>, io: Io, project: string, descriptions: readonly string[], planSource?: PlanSource): string {
  const source = followUpSource(flags, io, planSource);
  const which = descriptions.length <= 3 ? [...descriptions].sort().map((d) => ` --description ${quote(d)}`).join('') : '';
  return `scaleflex-keys secrets pull${source} --project ${project}${which}${flags.local ? ' --local' : ''} --out ${flags.secretsOut ?? 'FILE'}`;
}

/**
 * Refuses a plan that rotates a key whose new secret would land nowhere: no `deliver:` and no `--secrets-out`. A
 * rotation switches the old secret off later, so a successor nobody received would break whatever uses the key.
 */
export function refuseUndeliveredRotations(plan: Plan, sink: unknown): void {
  if (sink) return;
  const undelivered = plan.projects.flatMap((p) =>
    p.changes.flatMap((c) => (c.kind === 'rotate' && !(c.deliveries?.length) ? [`${quote(c.before.description)} (project ${p.project}, uuid ${c.uuid})`] : [])),
  );
  if (undelivered.length === 0) return;
  throw new RotationRefusedError(
    `refusing to rotate ${undelivered.join(', ')}: the new secret must land somewhere, and the key declares no \`deliver:\`; nothing was changed`,
    { hint: 'add `deliver:` to the key (or its project), or give --secrets-out FILE' },
  );
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

/** The `--secrets-out` sink, checked writable before anything changes; undefined without the flag. */
export async function openSecretSink(flags: Pick<ApplyFlags, 'secretsOut' | 'secretsFormat'>, io: Io): Promise<SecretSink | undefined> {
  if (flags.secretsOut === undefined) return undefined;
  const file = path.resolve(io.cwd, flags.secretsOut);
  const format = secretsFormatFor(file, flags.secretsFormat);
  await preflightSecretsFile(file, format);
  return new SecretSink(io, file, format);
}

/** Runs `apply`; resolves to the exit code (0, 1, 3). */
export async function run(flags: ApplyFlags, io: Io): Promise<number> {
  const { buildPlan, countChanges } = await import('../../reconcile');
  const trust = trustFor(flags, io);

  const sink = await openSecretSink(flags, io);

  let outcomes: Outcome[];
  let session: ApiSession;
  let plan: Plan;
  let specs: ReadonlyMap<string, ProjectSpec>;
  let loadedBaseDir: string;
  const planFile = flags.planFile;
  if (planFile !== undefined) {
    let saved = await readPlanFile(planFile, io);
    if (flags.project.length) {
      const inPlan = new Set(saved.projects.map((p) => p.project));
      const unknown = flags.project.filter((t) => !inPlan.has(t));
      if (unknown.length) throw new UsageError(`--project ${unknown.join(', ')}: not in the plan ${planFile} (it covers ${[...inPlan].join(', ')})`);
      saved = buildPlan(saved.projects.filter((p) => flags.project.includes(p.project)), saved.source);
    }
    const manifest = manifestFlagsFor(saved, flags, planFile, io);
    const loaded = loadProjects({ ...manifest, project: [] }, io, trust);
    specs = new Map<string, ProjectSpec>(loaded.state.projects.map((p) => [p.token, p]));
    loadedBaseDir = loaded.baseDir;
    const changing = saved.projects.filter((p) => p.changes.length > 0).map((p) => p.project);
    session = await ApiSession.start(io, flags, changing, loaded.baseDir);
    plan = saved;
    try {
      outcomes = await prepareRuns(session, { kind: 'saved', plan: saved, specs, manifest: sourceFile(manifest) }, MANAGE_FOR_APPLY, flags);
    } catch (error) {
      await session.close();
      throw error;
    }
  } else {
    const loaded = loadProjects(flags, io, trust);
    specs = new Map<string, ProjectSpec>(loaded.projects.map((p) => [p.token, p]));
    loadedBaseDir = loaded.baseDir;
    session = await ApiSession.start(io, flags, loaded.projects.map((p) => p.token), loaded.baseDir);
    try {
      outcomes = await prepareRuns(session, { kind: 'manifest', projects: loaded.projects }, MANAGE_FOR_APPLY, flags);
    } catch (error) {
      await session.close();
      throw error;
    }
    plan = buildPlan(outcomes.flatMap((o) => (o.plan ? [o.plan] : [])), loaded.source);
    const unplanned = outcomes.filter((o) => o.error !== undefined).map((o) => o.token).sort();
    if (plan.projects.length > 0) io.out(await renderPlan(plan, 'text', io, allViolations(outcomes), unplanned));
  }

  try {
    reportProblems(outcomes, io, planFile === undefined && plan.projects.length > 0);
    io.err(await lifecycleWarningLines(outcomes, specs, flags));
    if (outcomes.some((o) => o.error !== undefined)) {
      io.err(`Nothing was applied: every project must ${planFile === undefined ? 'plan cleanly' : 'still be as the plan expects'} first.\n`);
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
    refuseUndeliveredRotations(plan, sink);
    const deliverer = openDeliverer(io, flags, trust, specs, loadedBaseDir);
    await deliverer?.preflight(keysToDeliver(plan, specs));
    if (planFile === undefined) await confirmApply(io, flags.autoApprove);
    else io.out(`Applying the saved plan ${planFile}: ${counts.create} to create, ${counts.change} to change, ${counts.deactivate} to deactivate.\n`);
    const runs = outcomes
      .flatMap((o) => (o.run && o.run.plan.changes.length > 0 ? [o.run] : []))
      .sort((a, b) => (a.plan.project < b.plan.project ? -1 : 1));
    // After a question at a terminal, time has passed: apply lists afresh. Otherwise the listing is seconds old.
    const summary = await applyAll(runs, flags, io, sink, planFile !== undefined || flags.autoApprove, deliverer);
    if (sink) reportMissingSecrets(sink, flags, io, runs.flatMap((r) => specs.get(r.plan.project) ?? []), plan.source);
    return finish(summary, flags, io, sink, plan.source);
  } finally {
    await session.close();
  }
}
