/**
 * The apply runner that `apply` and `rotate` share: carries out checked project runs (`prepareRuns`), `--parallelism`
 * projects at a time, each change printed as it completes and output grouped per project in a fixed order; routes
 * each new secret to `--secrets-out` and to its key's `deliver:` sinks right after its create; and ends the run with
 * totals, where the secrets went (or the `secrets pull`/`secrets push` lines that fetch or deliver them), and the
 * outcome. A failure stops its project only.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runBounded } from '../bounded';
import { BULK_STATUS_MAX } from '../contract';
import { ApplyFailedError, DeliveryError, RotationRefusedError } from '../errors';
import type { Plan, PlanSource, ProjectSpec } from '../model';
import { applyProjectPlan } from '../reconcile';
import type { ApplyFlags } from './arguments/apply';
import { DEFAULT_MANIFEST } from './arguments/common';
import { type Deliverer, type DeliveryFailure, deliveryFailureLines } from './delivery';
import { EXIT } from './exit-codes';
import { GroupedOutput, type SectionWriter } from './grouped-output';
import type { Io } from './io';
import { describeChange, eventLine, projectErrorLines } from './output';
import type { ProjectRun } from './runs';
import { missingSecrets, preflightSecretsFile, protectSecret, SecretSink, secretsFormatFor } from './secrets-file';

/** The flags the runner reads: apply's, less the plan file (`rotate` has none). */
export type RunnerFlags = Omit<ApplyFlags, 'planFile'>;

/** Runs with at least this many changes get a progress line on a terminal. */
const PROGRESS_MIN_CHANGES = 50;
const PROGRESS_EVERY_MS = 1000;

const quote = (s: string): string => JSON.stringify(s);

export interface ApplySummary {
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
  flags: RunnerFlags,
  io: Io,
  sink: SecretSink | undefined,
  freshListing: boolean,
  deliverer?: Deliverer,
): Promise<ApplySummary> {
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
export function finish(summary: ApplySummary, flags: RunnerFlags, io: Io, sink: SecretSink | undefined, planSource?: PlanSource): number {
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
export function reportMissingSecrets(sink: SecretSink, flags: RunnerFlags, io: Io, touched: readonly ProjectSpec[], planSource?: PlanSource): void {
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
function followUpSource(flags: RunnerFlags, io: Io, planSource?: PlanSource): string {
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
function secretsPullLine(flags: RunnerFlags, io: Io, project: string, descriptions: readonly string[], planSource?: PlanSource): string {
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


/** The `--secrets-out` sink, checked writable before anything changes; undefined without the flag. */
export async function openSecretSink(flags: Pick<ApplyFlags, 'secretsOut' | 'secretsFormat'>, io: Io): Promise<SecretSink | undefined> {
  if (flags.secretsOut === undefined) return undefined;
  const file = path.resolve(io.cwd, flags.secretsOut);
  const format = secretsFormatFor(file, flags.secretsFormat);
  await preflightSecretsFile(file, format);
  return new SecretSink(io, file, format);
}

