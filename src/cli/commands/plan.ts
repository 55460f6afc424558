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
import { lifecycleWarningLines, prepareRuns, progressTo } from '../runs';
import { ApiSession, READ_FOR_PLAN, traceEnabled, trustFor } from '../session';
import { evaluatePolicy, findingDiagnostics, loadPolicy } from '../../policy';
import { buildPlan, countChanges, planToDocument, planToJson } from '../../reconcile';
import { planEntryLookup } from '../../reconcile/match';
import { renderAnnotations } from '../../render/annotations';
import { labelChanges, policyChanges } from '../../audit/labels';
import { formatDiagnostics, loadDesiredReading } from '../../manifest';
import { labelPlanDocument, renderLabelledMarkdown, renderLabelledText } from '../../render/labels';

/** Runs `plan`; resolves to the exit code (0, 1, 2 with --detailed-exitcode, 3). */
export async function run(flags: PlanFlags, io: Io): Promise<number> {
  const trust = trustFor(flags, io);
  const loaded = loadProjects(flags, io, trust);
  // Everything local is read before the first request: the policy, and the base manifest for --base.
  const rules = loadPolicy({ cwd: io.cwd, ...(flags.policy !== undefined ? { policyFile: flags.policy } : {}), manifestRules: loaded.policy });
  const base = flags.base !== undefined ? loadDesiredReading({ file: flags.base, cwd: io.cwd }, { trust }) : undefined;
  const session = await ApiSession.start(io, flags, loaded.projects.map((p) => p.token), loaded.baseDir);
  let outcomes;
  try {
    outcomes = await prepareRuns(session, { kind: 'manifest', projects: loaded.projects }, READ_FOR_PLAN, flags, progressTo(io, traceEnabled(flags, io)));
  } finally {
    await session.close();
  }

  const planned = outcomes.flatMap((o) => (o.plan ? [o.plan] : []));
  const failed = outcomes.filter((o) => o.error !== undefined);
  const refused = outcomes.some((o) => o.violations.length > 0);
  // A saved plan records the manifest it binds to; a plan that is only shown does not, so the same desired state
  // from YAML and from CDKTF prints the same document.
  const plan = buildPlan(planned, flags.out !== undefined ? loaded.source : undefined);

  const live = new Map(outcomes.flatMap((o) => (o.run ? [[o.token, o.run.live] as const] : [])));
  const findings = evaluatePolicy(loaded.state, rules, { now: flags.now ?? new Date(), live });
  const policyErrors = findings.filter((f) => f.severity === 'error').length;

  const shown = flags.format !== 'json' && flags.format !== 'github' && planned.length > 0;
  const unplanned = failed.map((o) => o.token).sort();
  if (flags.format === 'github') {
    // Pairs changes with entries by the matcher, over the same listing the plan was computed from.
    io.out(renderAnnotations(plan, { desired: loaded.state, findings, entryOf: planEntryLookup(loaded.projects, live) }));
  } else if (base) {
    const labels = labelChanges(plan, { baseDesired: base.state, live });
    // The two manifests' own rules: a --policy FILE applies to both sides, so it is no change the PR makes.
    const policy = policyChanges(base.policy, loaded.policy);
    if (flags.format === 'json') io.out(`${JSON.stringify(sortKeys(labelPlanDocument(planToDocument(plan), labels, policy)), null, 2)}\n`);
    else if (flags.format === 'markdown') io.out(renderLabelledMarkdown(plan, labels, policy));
    else io.out(renderLabelledText(plan, labels, policy));
  } else if (flags.format !== 'text' || planned.length > 0) {
    io.out(await renderPlan(plan, flags.format, io, allViolations(outcomes), unplanned));
  }
  reportProblems(outcomes, io, shown);
  io.err(await lifecycleWarningLines(outcomes, new Map(loaded.projects.map((p) => [p.token, p])), flags));
  if (flags.format !== 'github' && findings.length > 0) {
    io.err(formatDiagnostics(findingDiagnostics(findings, loaded.source.path), 'text'));
  }
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
  if (policyErrors > 0) {
    io.err(`error: the policy refuses this manifest (${policyErrors} policy error${policyErrors === 1 ? '' : 's'}; see above)\n`);
    return EXIT.POLICY;
  }
  const counts = countChanges(plan);
  const changes = counts.create + counts.change + counts.deactivate > 0;
  return changes && flags.detailedExitcode ? EXIT.CHANGES : EXIT.OK;
}

/** Object keys sorted, as the plan's JSON form always is. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
