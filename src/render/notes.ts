/**
 * Warnings every renderer shows above a project's changes, computed once from the plan: the plan was made with a
 * key that lacks ACCESS_MANAGE (so it cannot tell which admin key apply will run with, and lists the admin keys it
 * would deactivate or strip), and keys holding permissions this version does not know (kept, never removed).
 * Pure; the renderers decide the wording's frame (text, Markdown).
 */
import type { ProjectPlan } from '../model';

/** The notes of one project, each one sentence; empty when there is nothing to say. */
export function projectNotes(p: ProjectPlan): string[] {
  const notes: string[] = [];
  if (p.planningKeyAccess === 'read') {
    const admins = p.changes.flatMap((c) =>
      c.kind !== 'create' && c.before.active && c.before.permissions.includes('ACCESS_MANAGE') && (!c.after.active || !c.after.permissions.includes('ACCESS_MANAGE'))
        ? [`${JSON.stringify(c.before.description)} (uuid ${c.uuid})`]
        : [],
    );
    notes.push(
      `planned with a key that lacks ACCESS_MANAGE: apply must run with an admin key, which this plan cannot tell apart from the others` +
        (admins.length ? `; it would deactivate or strip these admin keys: ${[...new Set(admins)].join(', ')} (apply refuses it for the key it runs with)` : ''),
    );
  }
  const unknown = new Map<string, Set<string>>();
  for (const c of p.changes) {
    const state = c.kind === 'create' ? undefined : c.before;
    for (const perm of state?.unknownPermissions ?? []) {
      const keys = unknown.get(perm) ?? new Set<string>();
      keys.add(JSON.stringify(state!.description));
      unknown.set(perm, keys);
    }
  }
  for (const [perm, keys] of [...unknown].sort(([a], [b]) => (a < b ? -1 : 1))) {
    notes.push(`permission ${perm} is unknown to this version of scaleflex-keys; it is kept on ${[...keys].sort().join(', ')} and never removed`);
  }
  return notes;
}
