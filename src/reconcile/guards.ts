/**
 * The guards: small pure functions that look at one project's plan and say why it must not be applied.
 * Called after planning (so `plan` can show the refusal) and again at apply time (a saved plan may be applied
 * with other options or another admin key). Each refusal names its flag and gives the numbers.
 *
 * - self-lockout: the key the tool authenticates with is never deactivated and never loses ACCESS_READ or
 *   ACCESS_MANAGE. Nothing overrides it, not even `--force`: the manifest must change.
 * - mass-deactivation: once a project has `minActiveForRatio` (10) active keys, a plan may deactivate at most
 *   `maxDeactivateRatio` (30%) of them unless `--force` (octoDNS's `raise_if_unsafe`, peribolos's removal delta).
 */
import type { Permission } from '../model';
import type { GuardOptions, GuardViolation, ProjectPlan } from '../model';

/** The permissions the tool itself needs on its own key (plan/import read, apply manages). */
export const SELF_REQUIRED_PERMISSIONS: readonly Permission[] = Object.freeze(['ACCESS_MANAGE', 'ACCESS_READ'] as Permission[]);

function percent(ratio: number): string {
  const p = Math.round(ratio * 1000) / 10;
  return `${p}%`;
}

/** Self-lockout refusals of one project (see the module comment). */
export function selfLockoutViolations(project: ProjectPlan, selfUuid?: string): GuardViolation[] {
  const protectedUuids = new Set([project.selfUuid, ...(selfUuid ? [selfUuid] : [])]);
  const violations: GuardViolation[] = [];
  const tail =
    'No flag overrides this guard, not even --force: keep the key active with ACCESS_READ and ACCESS_MANAGE in the ' +
    'manifest, or run scaleflex-keys with another admin key.';
  for (const c of project.changes) {
    if (c.kind === 'create' || !protectedUuids.has(c.uuid)) continue;
    const who = `key "${c.before.description}" (uuid ${c.uuid}), the key scaleflex-keys authenticates with`;
    if (c.kind === 'deactivate') {
      violations.push({
        guard: 'self-lockout',
        project: project.project,
        flag: null,
        message: `project ${project.project}: plan deactivates ${who}; that would lock the tool out. ${tail}`,
      });
    } else if (c.kind === 'update') {
      const lost = c.permissionsRemoved.filter((p) => SELF_REQUIRED_PERMISSIONS.includes(p));
      if (lost.length) {
        violations.push({
          guard: 'self-lockout',
          project: project.project,
          flag: null,
          message: `project ${project.project}: plan removes ${lost.join(' and ')} from ${who}; that would lock the tool out. ${tail}`,
        });
      }
    }
  }
  return violations;
}

/** The mass-deactivation refusal of one project, if any (see the module comment). */
export function massDeactivationViolation(project: ProjectPlan, opts: GuardOptions): GuardViolation | undefined {
  if (opts.force) return undefined;
  const active = project.liveActive;
  if (active < opts.minActiveForRatio || active === 0) return undefined;
  const deactivated = project.changes.filter((c) => c.kind === 'deactivate').length;
  const ratio = deactivated / active;
  if (ratio <= opts.maxDeactivateRatio) return undefined;
  return {
    guard: 'mass-deactivation',
    project: project.project,
    flag: '--force',
    message:
      `plan deactivates ${deactivated} of ${active} active keys (${percent(ratio)}) in project ${project.project}, ` +
      `more than --max-deactivate-ratio ${opts.maxDeactivateRatio} allows; re-run with --force if intended`,
  };
}

/**
 * Every guard refusal for one project's plan; empty means the plan may be applied. Pure.
 * `opts.selfUuid` protects the key applying now in addition to the one that planned.
 */
export function checkGuards(project: ProjectPlan, opts: GuardOptions): GuardViolation[] {
  const violations = selfLockoutViolations(project, opts.selfUuid);
  const mass = massDeactivationViolation(project, opts);
  if (mass) violations.push(mass);
  return violations;
}
