/**
 * What `apply plan.json` checks, per project the plan changes, before anything changes anywhere: the saved plan
 * binds to what was reviewed, no more and no less. Pure: the caller brings the manifest's project (re-read from
 * the file the plan names), the live listing it has just fetched and the key it runs with.
 *
 * - The manifest must still yield the desired state the plan was made for (desired fingerprint) and name the same
 *   credential source; otherwise "the manifest changed since this plan was made".
 * - `self_uuid` must be a key of the project (a plan made elsewhere, or edited, is refused).
 * - Every change's precondition holds against the fresh listing (`checkPreconditions`): the key is still as the
 *   reviewed `before` says; no live key took a to-be-created description. Keys the plan does not touch may have
 *   moved: the next plan shows them.
 * - Every change is what the manifest asks for against the live keys right now (a change added to the file by
 *   hand is refused, even with the right fingerprint).
 * Guards are then recomputed by the caller from the same listing (`checkGuards(plan, opts, live)`).
 */
import { canonicalUuid, sameList } from '../compare';
import { sameDeliveries } from '../delivery';
import type { Change, LiveKey, ProjectPlan, ProjectSpec } from '../model';
import { checkPreconditions, howItMoved } from './apply';
import { planProject } from './diff';
import { desiredFingerprint } from './fingerprint';

export interface SavedProjectInput {
  readonly saved: ProjectPlan;
  /** The project as the manifest the plan names declares it now. */
  readonly desired: ProjectSpec;
  readonly live: readonly LiveKey[];
  /** The key apply runs with. */
  readonly selfKey: LiveKey;
  /** The moment rotations and expiries are evaluated at (apply's `--now`); default: the clock. */
  readonly now?: Date;
}

/** The same change: same kind, key and states (uuids case-insensitively). */
function sameChange(a: Change, b: Change): boolean {
  if (a.kind !== b.kind) return false;
  const st = (x: Change['after']) => [x.description, x.active, x.permissions.join(','), (x.unknownPermissions ?? []).join(',')];
  if (!sameList(st(a.after), st(b.after))) return false;
  if (a.kind === 'create' || b.kind === 'create') return a.kind === 'create' && b.kind === 'create' && sameDeliveries(a.deliveries, b.deliveries);
  if (a.kind === 'rotate' && b.kind === 'rotate' && (a.offAfter !== b.offAfter || !sameList(st(a.successor), st(b.successor)) || !sameDeliveries(a.deliveries, b.deliveries))) return false;
  return canonicalUuid(a.uuid) === canonicalUuid(b.uuid) && sameList(st(a.before), st(b.before));
}

function credentialsText(c: ProjectSpec['credentials']): string {
  return c ? JSON.stringify(c.env !== undefined ? { env: c.env } : { file: c.file }) : 'the default variables';
}

/** Why the saved project must not be applied, one message each; empty means apply its changes. */
export function savedProjectProblems(input: SavedProjectInput): string[] {
  const { saved, desired, live } = input;
  const name = saved.project;
  if (desiredFingerprint(desired) !== saved.desiredFingerprint) {
    return [`project ${name}: the manifest changed since this plan was made (commit not reviewed?); run plan again`];
  }
  if (credentialsText(desired.credentials) !== credentialsText(saved.credentials)) {
    return [`project ${name}: the plan names credentials ${credentialsText(saved.credentials)}, the manifest ${credentialsText(desired.credentials)}; run plan again`];
  }
  if (!live.some((k) => canonicalUuid(k.uuid) === canonicalUuid(saved.selfUuid))) {
    return [`project ${name}: the plan's self_uuid ${saved.selfUuid} is no key of the project: the plan was edited or made against another project; run plan again`];
  }
  const pre = checkPreconditions(saved, live);
  const f = pre.failure;
  if (f?.why === 'gone') return [`project ${name}: ${JSON.stringify(f.change.before.description)} (uuid ${f.change.uuid}) no longer exists since the plan`];
  if (f?.why === 'moved') return [`project ${name}: ${JSON.stringify(f.change.before.description)} ${howItMoved(f.change.before, f.now)} (uuid ${f.change.uuid})`];
  if (f?.why === 'taken' && f.change.kind === 'rotate') {
    return [`project ${name}: ${JSON.stringify(f.change.before.description)} cannot be rotated: another key with its description (uuid ${f.by.uuid}) was created since the plan`];
  }
  if (f?.why === 'taken') {
    return [`project ${name}: ${JSON.stringify(f.change.after.description)} cannot be created: a key named ${JSON.stringify(f.by.description)} (uuid ${f.by.uuid}) was created since the plan`];
  }
  let fresh: ProjectPlan;
  try {
    fresh = planProject({ desired, live, selfKey: input.selfKey, apiUrl: saved.apiUrl, ...(input.now ? { now: input.now } : {}) });
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  for (const c of saved.changes) {
    if (pre.already.has(c)) continue;
    // A rotation killed after its rename: what is left (the successor's create) is what a fresh plan creates.
    if (c.kind === 'rotate' && pre.renamed.has(c)) continue;
    // The key apply runs with is left out of a fresh plan's unmanaged deactivations; the self-lockout guard
    // explains that case better than "not what the manifest asks for".
    if (c.kind !== 'create' && canonicalUuid(c.uuid) === canonicalUuid(input.selfKey.uuid)) continue;
    if (!fresh.changes.some((f) => sameChange(f, c))) {
      const which = c.kind === 'create' ? `create ${JSON.stringify(c.after.description)}` : `${c.kind} ${JSON.stringify(c.before.description)} (uuid ${c.uuid})`;
      problems.push(`project ${name}: the plan's change "${which}" is not what the manifest asks for against the live keys (was the plan file edited?); run plan again`);
    }
  }
  return problems;
}
