/**
 * `scaleflex-keys plan`: reads the desired state (nothing is sent before it is valid), lists every project's live
 * keys (concurrently), diffs them, checks the guards and prints the plan as text, JSON or Markdown; `--out` also
 * saves it for `apply plan.json`. Machine formats put only the document on stdout; diagnostics go to stderr.
 *
 * Exit: 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with it), 1 (an error in any
 * project, e.g. an ambiguous match: the others are still planned and shown), 3 (a guard refused).
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../../atomic-file';
import { ScaleflexKeysError } from '../../errors';
import type { PlanFlags } from '../arguments/plan';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { allViolations, renderPlan, reportProblems } from '../output';
import { prepareRuns, progressTo } from '../runs';
import { ApiSession, READ_FOR_PLAN, traceEnabled, trustFor } from '../session';

/** Runs `plan`; resolves to the exit code (0, 1, 2 with --detailed-exitcode, 3). */
export async function run(flags: PlanFlags, io: Io): Promise<number> {
  const loaded = loadProjects(flags, io, trustFor(flags, io));
  const session = await ApiSession.start(io, flags, loaded.projects.map((p) => p.token), loaded.baseDir);
  let outcomes;
  try {
    outcomes = await prepareRuns(session, { kind: 'manifest', projects: loaded.projects }, READ_FOR_PLAN, flags, progressTo(io, traceEnabled(flags, io)));
  } finally {
    await session.close();
  }

  const { buildPlan, planToJson, countChanges } = await import('../../reconcile');
  const planned = outcomes.flatMap((o) => (o.plan ? [o.plan] : []));
  const failed = outcomes.filter((o) => o.error !== undefined);
  const refused = outcomes.some((o) => o.violations.length > 0);
  // A saved plan records the manifest it binds to; a plan that is only shown does not, so the same desired state
  // from YAML and from CDKTF prints the same document.
  const plan = buildPlan(planned, flags.out !== undefined ? loaded.source : undefined);

  const shown = flags.format !== 'json' && planned.length > 0;
  const unplanned = failed.map((o) => o.token).sort();
  if (flags.format !== 'text' || planned.length > 0) io.out(await renderPlan(plan, flags.format, io, allViolations(outcomes), unplanned));
  reportProblems(outcomes, io, shown);
  if (shown && refused) io.err('error: a guard refused (see the plan above); apply would refuse too\n');

  if (flags.out !== undefined) {
    if (failed.length > 0) {
      io.err(`plan not saved to ${flags.out}: ${failed.length} project${failed.length === 1 ? '' : 's'} could not be planned\n`);
    } else {
      await writeFileAtomic(path.resolve(io.cwd, flags.out), planToJson(plan), 0o644, (m) => new ScaleflexKeysError(m));
      io.err(`Saved the plan to ${flags.out}; apply exactly it with: scaleflex-keys apply ${flags.out}\n`);
    }
  }

  if (failed.length > 0) return EXIT.ERROR;
  if (refused) return EXIT.GUARD;
  const counts = countChanges(plan);
  const changes = counts.create + counts.change + counts.deactivate > 0;
  return changes && flags.detailedExitcode ? EXIT.CHANGES : EXIT.OK;
}
