/**
 * The guards: small pure functions that look at one project's plan, and the live keys it will be applied to,
 * and say why it must not be applied. Called after planning (so `plan` can show the refusal) and again at apply
 * time against the listing apply has just read: numbers stored in a plan file are for people, never for
 * decisions. Each refusal names its flag (or that none overrides it) and gives the numbers.
 *
 * - self-lockout: the key the tool authenticates with is never deactivated and never loses ACCESS_READ or
 *   ACCESS_MANAGE. Nothing overrides it, not even `--force`.
 * - protected-key: a key matched by a `protected: true` entry is never deactivated and never loses ACCESS_READ or
 *   ACCESS_MANAGE, whatever key runs the tool. Nothing overrides it.
 * - last-admin: the last active key holding ACCESS_MANAGE in a project is never deactivated or stripped of it
 *   (peribolos `--min-admins`). Nothing overrides it.
 * - mass-deactivation: once a project has `minActiveForRatio` (10) active keys, a plan may deactivate at most
 *   `maxDeactivateRatio` (30%) of them unless `--force` (octoDNS's `raise_if_unsafe`, peribolos's removal delta).
 * - mass-permission-removal: likewise, a plan may strip permissions from at most `maxPermissionRemovalRatio` (30%)
 *   of the active keys unless `--force-permission-removal` (octoDNS guards updates as well as deletes).
 */
import { type Change, DEFAULT_GUARD_OPTIONS, type GuardOptions, type GuardViolation, type LiveKey, type Permission, type ProjectPlan } from '../model';

/** The permissions the tool itself needs on its own key (plan/import read, apply manages). */
export const SELF_REQUIRED_PERMISSIONS: readonly Permission[] = Object.freeze(['ACCESS_MANAGE', 'ACCESS_READ'] as Permission[]);

const NO_OVERRIDE = 'No flag overrides this guard, not even --force';

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** What a change takes away from access: deactivation, or ACCESS_READ/ACCESS_MANAGE removed. */
function accessLost(c: Change): string | undefined {
  if (c.kind === 'deactivate') return 'deactivates';
  if (c.kind === 'update') {
    const lost = c.permissionsRemoved.filter((p) => SELF_REQUIRED_PERMISSIONS.includes(p));
    if (lost.length) return `removes ${lost.join(' and ')} from`;
  }
  return undefined;
}

/** Self-lockout refusals: the planning key and (at apply) the applying key are both protected. */
export function selfLockoutViolations(project: ProjectPlan, selfUuid?: string): GuardViolation[] {
  const own = new Set([project.selfUuid, ...(selfUuid ? [selfUuid] : [])]);
  return project.changes.flatMap((c): GuardViolation[] => {
    if (c.kind === 'create' || !own.has(c.uuid)) return [];
    const lost = accessLost(c);
    if (!lost) return [];
    const who = `key "${c.before.description}" (uuid ${c.uuid}), the key scaleflex-keys authenticates with`;
    return [
      {
        guard: 'self-lockout',
        project: project.project,
        flag: null,
        message:
          `project ${project.project}: plan ${lost} ${who}; that would lock the tool out. ${NO_OVERRIDE}: keep the key ` +
          'active with ACCESS_READ and ACCESS_MANAGE in the manifest, or run scaleflex-keys with another admin key.',
      },
    ];
  });
}

/** Refusals for keys declared `protected: true`. */
export function protectedKeyViolations(project: ProjectPlan): GuardViolation[] {
  const guarded = new Set(project.protectedUuids);
  return project.changes.flatMap((c): GuardViolation[] => {
    if (c.kind === 'create' || !guarded.has(c.uuid)) return [];
    const lost = accessLost(c);
    if (!lost) return [];
    return [
      {
        guard: 'protected-key',
        project: project.project,
        flag: null,
        message:
          `project ${project.project}: plan ${lost} key "${c.before.description}" (uuid ${c.uuid}), which the manifest declares ` +
          `protected: true. ${NO_OVERRIDE}: keep it active with ACCESS_READ and ACCESS_MANAGE, or remove protected: true in a reviewed change first.`,
      },
    ];
  });
}

/** Whether a key state is an admin: active and holding ACCESS_MANAGE. */
function isAdmin(k: { active: boolean; permissions: readonly string[] }): boolean {
  return k.active && k.permissions.includes('ACCESS_MANAGE');
}

/** The last-admin refusal: the plan would leave a project that has an active ACCESS_MANAGE key with none. */
export function lastAdminViolation(project: ProjectPlan, live: readonly LiveKey[]): GuardViolation | undefined {
  const admins = new Set(live.filter(isAdmin).map((k) => k.uuid));
  if (admins.size === 0) return undefined;
  let created = 0;
  const lost: string[] = [];
  for (const c of project.changes) {
    if (c.kind === 'create') {
      if (isAdmin(c.after)) created++;
    } else if (admins.has(c.uuid) && !isAdmin(c.after)) {
      admins.delete(c.uuid);
      lost.push(`"${c.before.description}" (uuid ${c.uuid})`);
    }
  }
  if (admins.size + created > 0 || lost.length === 0) return undefined;
  return {
    guard: 'last-admin',
    project: project.project,
    flag: null,
    message:
      `project ${project.project}: plan deactivates or strips ACCESS_MANAGE from ${lost.join(', ')}, the last active ` +
      `key${lost.length === 1 ? '' : 's'} holding ACCESS_MANAGE; the project would have no admin key left. ${NO_OVERRIDE}: ` +
      'declare an admin key (with protected: true) in the manifest.',
  };
}

/** Active keys: counted in `live` when given (always, at apply), else the plan's own count (display). */
function activeCount(project: ProjectPlan, live: readonly LiveKey[] | undefined): number {
  return live ? live.filter((k) => k.active).length : project.liveActive;
}

/** The mass-deactivation refusal, counted against the live keys (see the module comment). */
export function massDeactivationViolation(project: ProjectPlan, opts: GuardOptions, live?: readonly LiveKey[]): GuardViolation | undefined {
  if (opts.force) return undefined;
  const active = activeCount(project, live);
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

/** The mass-permission-removal refusal, counted against the live keys (see the module comment). */
export function massPermissionRemovalViolation(project: ProjectPlan, opts: GuardOptions, live?: readonly LiveKey[]): GuardViolation | undefined {
  if (opts.forcePermissionRemoval) return undefined;
  const active = activeCount(project, live);
  if (active < opts.minActiveForRatio || active === 0) return undefined;
  const stripped = project.changes.filter((c) => c.kind === 'update' && c.permissionsRemoved.length > 0).length;
  const ratio = stripped / active;
  if (ratio <= opts.maxPermissionRemovalRatio) return undefined;
  return {
    guard: 'mass-permission-removal',
    project: project.project,
    flag: '--force-permission-removal',
    message:
      `plan removes permissions from ${stripped} of ${active} active keys (${percent(ratio)}) in project ${project.project}, ` +
      `more than --max-permission-removal-ratio ${opts.maxPermissionRemovalRatio} allows; re-run with --force-permission-removal if intended`,
  };
}

/**
 * Every guard refusal for one project's plan; empty means the plan may be applied. Pure. `live` is the listing the
 * plan will be applied to (the CLI always passes it; without it the ratios use the plan's own counts and the
 * last-admin guard cannot be checked). `opts.selfUuid` protects the key applying now as well as the planner's.
 */
export function checkGuards(project: ProjectPlan, opts: GuardOptions, live?: readonly LiveKey[]): GuardViolation[] {
  const violations = [...selfLockoutViolations(project, opts.selfUuid), ...protectedKeyViolations(project)];
  const ratios = { ...DEFAULT_GUARD_OPTIONS, ...opts };
  for (const v of [live ? lastAdminViolation(project, live) : undefined, massDeactivationViolation(project, ratios, live), massPermissionRemovalViolation(project, ratios, live)]) {
    if (v) violations.push(v);
  }
  return violations;
}
