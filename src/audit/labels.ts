/**
 * Drift vs intent: with the target branch's manifest (`plan --base FILE`), each change of the pull request's
 * plan is labelled `intent` (the PR's edit causes it), `drift` (the live key differs from the base manifest too:
 * someone changed it outside git, and applying reverts that) or `intent+drift` (both: the PR edits a key that
 * had also drifted). The base manifest is planned against the same live keys with the reconciler and the two
 * plans are compared per key. Also: which policy rules the PR adds or removes. Pure.
 */
import type { Change, DesiredState, LiveKey, Plan } from '../model';
import { planProject } from '../reconcile/diff';
import { sameList } from '../compare';
import { ruleLabel, type PolicyRule } from '../policy/rules';

export type ChangeOrigin = 'intent' | 'drift' | 'intent+drift';

/** One project's labels, parallel to `plan.projects[i].changes`. */
export interface ProjectLabels {
  readonly project: string;
  readonly origins: readonly ChangeOrigin[];
  /** Why the base could not be planned (an ambiguous match in the base manifest): every change is then `intent`. */
  readonly baseError?: string;
}

export interface LabelOptions {
  /** The target branch's desired state. */
  readonly baseDesired: DesiredState;
  /** The live keys each project of the plan was computed from (what `planProjects` listed). */
  readonly live: ReadonlyMap<string, readonly LiveKey[]>;
  /** The self key uuid per project (so the base plan spares the same key); default: the plan's `selfUuid`. */
  readonly selfUuids?: ReadonlyMap<string, string>;
}

/** What identifies the key a change is about, across two plans: the uuid, or (for a create) the description. */
function keyOf(c: Change): string {
  return c.kind === 'create' ? `new:${c.after.description}` : `uuid:${c.uuid}`;
}

function sameChange(a: Change, b: Change): boolean {
  return a.kind === b.kind && a.after.description === b.after.description && a.after.active === b.after.active && sameList(a.after.permissions, b.after.permissions);
}

/** Labels every change of `plan`; see the module comment. */
export function labelChanges(plan: Plan, opts: LabelOptions): ProjectLabels[] {
  const bases = new Map(opts.baseDesired.projects.map((p) => [p.token, p]));
  return plan.projects.map((pp): ProjectLabels => {
    const base = bases.get(pp.project);
    const live = opts.live.get(pp.project);
    // A project the base does not declare is wholly the PR's doing.
    if (!base || !live) return { project: pp.project, origins: pp.changes.map(() => 'intent' as const) };
    const selfUuid = opts.selfUuids?.get(pp.project) ?? pp.selfUuid;
    const selfKey = live.find((k) => k.uuid === selfUuid) ?? { uuid: selfUuid, description: '', permissions: [], active: true, createdAt: '', secretPreview: '' };
    let baseChanges: readonly Change[];
    try {
      baseChanges = planProject({ desired: base, live, selfKey, apiUrl: pp.apiUrl }).changes;
    } catch (error) {
      return { project: pp.project, origins: pp.changes.map(() => 'intent' as const), baseError: error instanceof Error ? error.message : String(error) };
    }
    const byKey = new Map<string, Change[]>();
    for (const c of baseChanges) (byKey.get(keyOf(c)) ?? byKey.set(keyOf(c), []).get(keyOf(c))!).push(c);
    const origins = pp.changes.map((c): ChangeOrigin => {
      const same = byKey.get(keyOf(c)) ?? [];
      // The base would change this key too: live has moved away from the base manifest.
      if (same.length === 0) return 'intent';
      return same.some((b) => sameChange(b, c)) ? 'drift' : 'intent+drift';
    });
    return { project: pp.project, origins };
  });
}

/** Policy rules the PR adds and removes, as `ruleLabel (severity)` strings, sorted. */
export interface PolicyChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** Compares the base and head manifests' `policy:` rules (by rule text and severity, not position). */
export function policyChanges(base: readonly PolicyRule[], head: readonly PolicyRule[]): PolicyChanges {
  const text = (r: PolicyRule) => `${ruleLabel(r)}${r.kind === 'forbid' && r.except.length ? ` except ${r.except.map((e) => JSON.stringify(e)).join(', ')}` : ''} (${r.severity})`;
  const b = base.map(text);
  const h = head.map(text);
  return {
    added: h.filter((x) => !b.includes(x)).sort(),
    removed: b.filter((x) => !h.includes(x)).sort(),
  };
}
