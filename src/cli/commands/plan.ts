/**
 * `scaleflex-keys plan`: reads the desired state, lists every project's live keys (concurrently), diffs them,
 * checks the guards and prints the plan as text, JSON or Markdown; `--out` also saves it for `apply plan.json`.
 * Machine formats put only the document on stdout; progress and diagnostics go to stderr.
 *
 * Exit: 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with it), 1 (an error in any
 * project, e.g. an ambiguous match: the others are still planned and shown), 3 (a guard refused).
 */
import * as path from 'node:path';
import type { GuardViolation, Plan } from '../../reconcile';
import { ScaleflexKeysError } from '../../errors';
import { EXIT } from '../exit-codes';
import { type Io, useColor } from '../io';
import type { SourceFlags } from '../desired';
import { startManifestRun } from '../manifest-run';
import { traceEnabled, type ApiFlags, type GuardFlags, planProjects, projectErrorLines, type ProjectOutcome } from '../projects';
import { writeFileAtomic } from '../../atomic-file';

export interface PlanFlags extends SourceFlags, ApiFlags, GuardFlags {
  readonly format?: 'text' | 'json' | 'markdown';
  readonly out?: string;
  readonly detailedExitcode?: boolean;
}

/**
 * Renders `plan` in `format` (the renderers are loaded only once there is a plan). Text and Markdown show the
 * guard refusals with the plan; JSON stays the plain documented plan (refusals go to stderr).
 */
export async function renderPlan(
  plan: Plan,
  format: 'text' | 'json' | 'markdown',
  io: Io,
  violations: readonly GuardViolation[] = [],
  unplanned: readonly string[] = [],
): Promise<string> {
  const render = await import('../../render');
  if (format === 'json') return render.renderJson(plan);
  if (format === 'markdown') return render.renderMarkdown(plan, { violations, unplanned });
  return render.renderText(plan, { color: useColor(io), violations, unplanned });
}

/**
 * Prints each failed project's error to stderr, in project order, and the guard refusals too unless the
 * rendered plan already showed them.
 */
export function reportProblems(outcomes: readonly ProjectOutcome[], io: Io, violationsShown: boolean): void {
  for (const o of [...outcomes].sort((a, b) => (a.spec.token < b.spec.token ? -1 : 1))) {
    if (o.error !== undefined) io.err(projectErrorLines(o.spec.token, o.error));
    if (violationsShown) continue;
    for (const v of o.violations) {
      io.err(`error: guard ${v.guard} refused: ${v.message}\n${v.flag ? `hint: ${v.flag} overrides this guard\n` : ''}`);
    }
  }
}

/** Every guard refusal of the planned projects, in project order. */
export function allViolations(outcomes: readonly ProjectOutcome[]): GuardViolation[] {
  return [...outcomes].sort((a, b) => (a.spec.token < b.spec.token ? -1 : 1)).flatMap((o) => o.violations);
}

/** Runs `plan`; resolves to the exit code (0, 1, 2 with --detailed-exitcode, 3). */
export async function run(opts: PlanFlags, io: Io): Promise<number> {
  const format = opts.format ?? 'text';
  const { projects, session, prefetched } = await startManifestRun(opts, io, 'plan');
  let outcomes: ProjectOutcome[];
  try {
    outcomes = await planProjects(
      session,
      projects,
      'plan',
      opts,
      (line) => {
        if (traceEnabled(opts, io)) io.err(`${line}\n`);
      },
      prefetched,
    );
  } finally {
    await session.close();
  }

  const { buildPlan, planToJson, countChanges } = await import('../../reconcile');
  const planned = outcomes.filter((o) => o.plan !== undefined);
  const failed = outcomes.filter((o) => o.error !== undefined);
  const refused = outcomes.some((o) => o.violations.length > 0);
  const plan = buildPlan(planned.map((o) => o.plan!));

  const shown = format !== 'json' && planned.length > 0;
  const unplanned = failed.map((o) => o.spec.token).sort();
  if (format !== 'text' || planned.length > 0) io.out(await renderPlan(plan, format, io, allViolations(outcomes), unplanned));
  reportProblems(outcomes, io, shown);
  if (shown && refused) io.err('error: a guard refused (see the plan above); apply would refuse too\n');

  if (opts.out !== undefined) {
    if (failed.length > 0) {
      io.err(`plan not saved to ${opts.out}: ${failed.length} project${failed.length === 1 ? '' : 's'} could not be planned\n`);
    } else {
      await writeFileAtomic(path.resolve(io.cwd, opts.out), planToJson(plan), 0o644, (m) => new ScaleflexKeysError(m));
      io.err(`Saved the plan to ${opts.out}; apply exactly it with: scaleflex-keys apply ${opts.out}\n`);
    }
  }

  if (failed.length > 0) return EXIT.ERROR;
  if (refused) return EXIT.GUARD;
  const counts = countChanges(plan);
  const changes = counts.create + counts.change + counts.deactivate > 0;
  return changes && opts.detailedExitcode ? EXIT.CHANGES : EXIT.OK;
}
