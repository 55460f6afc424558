/**
 * Assembling plans as values: the canonical change order, deep freezing, the whole-plan `buildPlan`, counts
 * and the per-key grouping that renderers show (Terraform's one block per resource).
 */
import { PLAN_FORMAT_VERSION, type PlanSource } from '../model';
import type {
  ActivateChange,
  Change,
  ChangeCounts,
  CreateChange,
  DeactivateChange,
  ExistingKeyRef,
  KeyState,
  Plan,
  ProjectPlan,
  RotateChange,
  UpdateChange,
} from '../model';
import { CHANGE_KIND_ORDER } from '../model';
import { byString } from '../compare';
import { hasLazyFields } from './fingerprint';

/** Freezes an object graph of plain data (plans are values: nobody downstream may edit them). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (hasLazyFields(value)) {
      // Lazy getters (fingerprints) are frozen in place but not read: reading them is what they defer.
      for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) if ('value' in d) deepFreeze(d.value);
    } else {
      for (const v of Object.values(value as object)) deepFreeze(v);
    }
  }
  return value;
}

/** Apply order: creates, updates, activations, deactivations; within a kind by description, then uuid. */
export function sortChanges(changes: readonly Change[]): Change[] {
  return [...changes].sort(
    (a, b) =>
      CHANGE_KIND_ORDER.indexOf(a.kind) - CHANGE_KIND_ORDER.indexOf(b.kind) ||
      byString(a.after.description, b.after.description) ||
      byString('uuid' in a ? a.uuid : '', 'uuid' in b ? b.uuid : ''),
  );
}

/**
 * The whole plan from its projects: sorted by project token, changes in canonical order, deeply frozen.
 * Throws on two plans for the same project (a programming error, not user input).
 */
export function buildPlan(projects: readonly ProjectPlan[], source?: PlanSource): Plan {
  const seen = new Set<string>();
  for (const p of projects) {
    if (seen.has(p.project)) throw new Error(`buildPlan: project ${p.project} appears twice`);
    seen.add(p.project);
  }
  const sorted = [...projects]
    .sort((a, b) => byString(a.project, b.project))
    .map((p) => (Object.isFrozen(p) ? p : { ...p, changes: sortChanges(p.changes) }));
  return deepFreeze({ formatVersion: PLAN_FORMAT_VERSION, ...(source ? { source } : {}), projects: sorted });
}

/**
 * Everything a plan does to one key, as renderers show it: `+` a new key, `~` an existing key changed (renamed,
 * re-permissioned, activated, or rotated: renamed out and replaced by a successor), `-` an existing key deactivated
 * (possibly renamed first).
 */
export interface KeyChangeGroup {
  readonly symbol: '+' | '~' | '-';
  /** Absent for a new key. */
  readonly key?: ExistingKeyRef;
  /** Absent for a new key. */
  readonly before?: KeyState;
  /** The key once every change of the group is applied. */
  readonly after: KeyState;
  readonly create?: CreateChange;
  readonly update?: UpdateChange;
  readonly status?: ActivateChange | DeactivateChange;
  /** A rotation: the key renamed to its retirement description (`after`) and a successor created. */
  readonly rotate?: RotateChange;
}

/** Groups a project's changes per key, ordered `+`, `~`, `-`, then by final description, then uuid. */
export function changesByKey(project: ProjectPlan): KeyChangeGroup[] {
  const groups: KeyChangeGroup[] = [];
  const existing = new Map<string, { update?: UpdateChange; status?: ActivateChange | DeactivateChange; rotate?: RotateChange }>();
  for (const c of project.changes) {
    if (c.kind === 'create') {
      groups.push({ symbol: '+', after: c.after, create: c });
      continue;
    }
    const g = existing.get(c.uuid) ?? {};
    if (c.kind === 'update') g.update = c;
    else if (c.kind === 'rotate') g.rotate = c;
    else g.status = c;
    existing.set(c.uuid, g);
  }
  for (const g of existing.values()) {
    const first = (g.rotate ?? g.update ?? g.status)!;
    const last = (g.status ?? g.update ?? g.rotate)!;
    groups.push({
      symbol: g.status?.kind === 'deactivate' ? '-' : '~',
      key: { uuid: first.uuid, createdAt: first.createdAt, secretPreview: first.secretPreview },
      before: first.before,
      after: last.after,
      ...(g.update ? { update: g.update } : {}),
      ...(g.status ? { status: g.status } : {}),
      ...(g.rotate ? { rotate: g.rotate } : {}),
    });
  }
  const rank = { '+': 0, '~': 1, '-': 2 } as const;
  return groups.sort(
    (a, b) =>
      rank[a.symbol] - rank[b.symbol] ||
      byString(a.after.description, b.after.description) ||
      byString(a.key?.uuid ?? '', b.key?.uuid ?? ''),
  );
}

/**
 * `Plan: N to create, N to change, N to deactivate.` counts; each key counted once, by its group symbol. A rotation
 * counts its successor as a create and the renamed key as a change.
 */
export function countChanges(plan: Plan | ProjectPlan): ChangeCounts {
  const projects = 'projects' in plan ? plan.projects : [plan];
  let create = 0;
  let change = 0;
  let deactivate = 0;
  for (const p of projects) {
    for (const g of changesByKey(p)) {
      if (g.symbol === '+') create++;
      else if (g.symbol === '~') {
        change++;
        if (g.rotate) create++;
      }
      else deactivate++;
    }
  }
  return { create, change, deactivate };
}
