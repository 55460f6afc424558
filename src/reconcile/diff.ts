/**
 * `planProject`: pairs one project's declared entries with its live keys (`matchEntries`, the only matcher) and
 * lists the changes that make live match desired. Pure: no I/O, same input -> same (frozen) plan.
 *
 * A pin no key has is a PinnedKeyNotFoundError; an entry with several candidates is an AmbiguousMatchError listing
 * every candidate with the `uuid:` line to add; exact twins left by an interrupted race are retired instead (the
 * newer renamed out of the way and deactivated, reason `duplicate`), shown to the reviewer like any change.
 * Permissions this version does not know are kept on every key, never removed.
 *
 * Live keys no entry matched are unmanaged: deactivated under `unmanaged: deactivate` when active, otherwise left.
 * The key the tool authenticates with is never planned for deactivation just because the manifest omits it (the
 * emulator's bootstrap admin key, an admin key managed elsewhere); if an entry explicitly matches it and would
 * deactivate it or drop ACCESS_READ/ACCESS_MANAGE, the change IS planned and `checkGuards` refuses it, so the
 * reviewer sees exactly what the manifest asks for and why it cannot happen.
 *
 * Rotation and expiry (rules in `rotation.ts`), evaluated at `now`: a key that matches its entry exactly and is
 * older than `rotate.every` (or named by the `rotate` command) gets a `rotate` change; keys a rotation is retiring
 * are deactivated after their deadline (reason `rotated`) once the successor is active; an entry whose `expires`
 * has come has its keys deactivated (reason `expired`) and is never created.
 */
import { byString, sameList } from '../compare';
import { AmbiguousMatchError, PinnedKeyNotFoundError } from '../errors';
import type { Change, KeySpec, KeyState, LiveKey, Permission, ProjectPlan, ProjectSpec } from '../model';
import { canonicalPermissions, isPermission } from '../permissions';
import { deepFreeze, sortChanges } from './build';
import { withLazyFingerprints } from './fingerprint';
import { type MatchResult, matchEntries } from './match';
import { retiredDescription } from './raced-creates';
import { fitsRetirement, isExpired, lifecycleNotices, noticeText, pastDeadline, retirementAt, rotationDueAt } from './rotation';
import { plannedDeliveries } from '../delivery';

export interface PlanProjectInput {
  readonly desired: ProjectSpec;
  /** Every live key of the project, in any order. */
  readonly live: readonly LiveKey[];
  /** The key the tool authenticates with (`GET /keys/self`). */
  readonly selfKey: LiveKey;
  /** The resolved API base URL of the project. */
  readonly apiUrl: string;
  /** The moment rotations and expiries are evaluated at (`--now`); default: the clock. */
  readonly now?: Date;
  /** Descriptions of entries to rotate now whatever their age (the `rotate` command). */
  readonly rotateNow?: ReadonlySet<string>;
  /** `matchEntries(desired.keys, live)`, when the caller already has it (it is the same for every use). */
  readonly match?: MatchResult;
}

/**
 * Why `key` (matched by `entry`) cannot be rotated, or undefined when it can. A rotation is planned only for a key
 * that already is what its entry declares, so that it never changes permissions.
 */
export function rotationBlocker(entry: KeySpec, key: LiveKey, selfKey: LiveKey): string | undefined {
  if (entry.uuid !== undefined) return 'the entry pins a uuid, and the successor would have another one';
  if (key.uuid === selfKey.uuid) return 'it is the key scaleflex-keys runs with; rotate it by hand with another admin key';
  if (!fitsRetirement(entry.description)) return 'its description is too long to carry the retirement suffix';
  const state = stateOf(key);
  if (state.unknownPermissions?.length) return `it holds permissions this version does not know (${state.unknownPermissions.join(', ')}), which a successor could not get`;
  if (!entry.active || !key.active) return 'it is not active';
  if (state.description !== entry.description || !sameList(state.permissions, canonicalPermissions(entry.permissions))) {
    return 'it differs from its entry; apply that change first';
  }
  return undefined;
}

function where(entry: KeySpec): string {
  return entry.source ? ` (${entry.source.file}:${entry.source.line}:${entry.source.column})` : '';
}

function describeCandidate(k: LiveKey): string {
  const perms = k.permissions.length ? canonicalPermissions(k.permissions).join(', ') : '(none)';
  return `    uuid: ${k.uuid}    # created_at ${k.createdAt}, ${k.active ? 'active' : 'inactive'}, permissions: ${perms}`;
}

/** A live key's managed state: known permissions, and the unknown ones kept apart. */
export function stateOf(k: LiveKey): KeyState {
  const known: Permission[] = [];
  const unknown: string[] = [];
  for (const p of canonicalPermissions(k.permissions)) (isPermission(p) ? known : unknown).push(p);
  return { description: k.description, permissions: known, active: k.active, ...(unknown.length ? { unknownPermissions: unknown } : {}) };
}

function refOf(live: LiveKey) {
  return { uuid: live.uuid, createdAt: live.createdAt, secretPreview: live.secretPreview };
}

/** Whether two permission lists hold the same names (as sets), without building canonical copies. */
function samePermissionSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p)) && b.every((p) => a.includes(p));
}

/** The changes that turn `live` into `entry`: an update (rename/permissions) then a status change, as needed. */
function changesForMatch(entry: KeySpec, live: LiveKey, offReason: 'declared-inactive' | 'expired' = 'declared-inactive'): Change[] {
  // The common key already is what its entry declares (an unknown permission on it makes the sets differ, so such a
  // key takes the full path below): nothing to build.
  if (entry.description === live.description && entry.active === live.active && samePermissionSet(entry.permissions, live.permissions)) return [];
  const ref = refOf(live);
  const before = stateOf(live);
  const permissions = canonicalPermissions(entry.permissions) as Permission[];
  const changes: Change[] = [];
  let current = before;
  if (entry.description !== before.description || !sameList(permissions, before.permissions)) {
    const after: KeyState = { ...before, description: entry.description, permissions };
    const had = new Set(before.permissions);
    const wants = new Set(permissions);
    changes.push({
      kind: 'update',
      ...ref,
      before,
      after,
      permissionsAdded: permissions.filter((p) => !had.has(p)),
      permissionsRemoved: before.permissions.filter((p) => !wants.has(p)),
    });
    current = after;
  }
  if (entry.active !== current.active) {
    const after: KeyState = { ...current, active: entry.active };
    changes.push(
      entry.active
        ? { kind: 'activate', ...ref, before: current, after }
        : { kind: 'deactivate', reason: offReason, ...ref, before: current, after },
    );
  }
  return changes;
}

/** Deactivating a key as it is (no rename first). */
function deactivation(key: LiveKey, reason: 'unmanaged' | 'rotated' | 'expired' | 'declared-inactive'): Change {
  const before = stateOf(key);
  return { kind: 'deactivate', reason, ...refOf(key), before, after: { ...before, active: false } };
}

/** Retiring the newer of two exact twins: renamed out of the way (so later plans are not ambiguous), then off. */
function retirement(key: LiveKey): Change[] {
  const before = stateOf(key);
  const renamed: KeyState = { ...before, description: retiredDescription(key.description, key.uuid) };
  return [
    { kind: 'update', ...refOf(key), before, after: renamed, permissionsAdded: [], permissionsRemoved: [] },
    { kind: 'deactivate', reason: 'duplicate', ...refOf(key), before: renamed, after: { ...renamed, active: false } },
  ];
}

/**
 * The error that refuses a project whose entries cannot be paired with live keys unambiguously, or undefined.
 * Shared by planning and `secrets pull`, so both refuse with the same words.
 */
export function matchError(project: string, m: MatchResult): Error | undefined {
  const doubled = m.doublePins[0];
  if (doubled) {
    return new AmbiguousMatchError(
      `project ${project}: uuid ${doubled.uuid} is pinned by more than one entry (again by "${doubled.description}"${where(doubled)}); ` +
        'each live key can be managed by one entry only.',
    );
  }
  if (m.missingPins.length) {
    return new PinnedKeyNotFoundError(
      `project ${project}: no live key has the pinned uuid:\n${m.missingPins.map((e) => `  key "${e.description}"${where(e)} pins uuid ${e.uuid}`).join('\n')}\n` +
        'Correct the uuid (see `scaleflex-keys import` for the live keys) or remove the pin to match by description.',
    );
  }
  if (m.ambiguities.length) {
    const lines = m.ambiguities.map(
      (a) => `  key "${a.entry.description}"${where(a.entry)} matches ${a.candidates.length} live keys ${a.how}:\n${a.candidates.map(describeCandidate).join('\n')}`,
    );
    return new AmbiguousMatchError(
      `project ${project}: ambiguous match, so the project is refused:\n${lines.join('\n')}\n` +
        'Pin the key to manage by adding one of the `uuid: ...` lines above to its entry; the other keys then count as unmanaged.',
    );
  }
  return undefined;
}

/**
 * Diffs one project: desired entries against the live listing.
 * @throws PinnedKeyNotFoundError when an entry pins a uuid no live key has (all such entries named).
 * @throws AmbiguousMatchError when an entry matches two or more live keys (each candidate listed with its `uuid:` line).
 */
export function planProject(input: PlanProjectInput): ProjectPlan {
  const { desired, live, selfKey } = input;
  const m = input.match ?? matchEntries(desired.keys, live);
  const refused = matchError(desired.token, m);
  if (refused) throw refused;

  const now = input.now ?? new Date();
  const changes: Change[] = [];
  for (const entry of m.newEntries) {
    if (isExpired(entry, now)) continue;
    changes.push({
      kind: 'create',
      after: { description: entry.description, permissions: canonicalPermissions(entry.permissions) as Permission[], active: entry.active },
      ...(entry.formerDescriptions.length ? { formerDescriptions: [...entry.formerDescriptions].sort(byString) } : {}),
      ...(entry.deliver?.length ? { deliveries: plannedDeliveries(desired.token, entry) } : {}),
    });
  }
  const rotating = new Set(m.retiring.filter((r) => r.key.active).map((r) => r.entry));
  for (const [entry, key] of m.matched) {
    if (isExpired(entry, now)) {
      changes.push(...changesForMatch({ ...entry, active: false }, key, 'expired'));
      continue;
    }
    const changed = changesForMatch(entry, key);
    changes.push(...changed);
    const onDemand = input.rotateNow?.has(entry.description) === true;
    const due = rotationDueAt(entry, key);
    if (changed.length > 0 || rotating.has(entry) || !(onDemand || (due !== undefined && due.getTime() <= now.getTime()))) continue;
    if (rotationBlocker(entry, key, selfKey) !== undefined) continue;
    const before = stateOf(key);
    const retired = retirementAt(entry.description, now, entry.rotate?.overlapMs ?? 0);
    changes.push({
      kind: 'rotate',
      trigger: onDemand ? 'on-demand' : 'due',
      ...refOf(key),
      before,
      after: { ...before, description: retired.description },
      successor: { description: before.description, permissions: before.permissions, active: true },
      offAfter: retired.offAfter,
      ...(entry.deliver?.length ? { deliveries: plannedDeliveries(desired.token, entry) } : {}),
    });
  }
  for (const { entry, key, name } of m.retiring) {
    // Like an unmanaged one, the key the tool runs with is never planned off for being retired.
    if (!key.active || key.uuid === selfKey.uuid) continue;
    if (isExpired(entry, now)) changes.push(deactivation(key, 'expired'));
    else if (!entry.active) changes.push(deactivation(key, 'declared-inactive'));
    else if (pastDeadline(name.offAfter, now) && m.matched.get(entry)?.active === true) changes.push(deactivation(key, 'rotated'));
  }
  for (const { key } of m.twins) changes.push(...retirement(key));
  if (desired.unmanaged === 'deactivate') {
    for (const key of m.unclaimed) if (key.active && key.uuid !== selfKey.uuid) changes.push(deactivation(key, 'unmanaged'));
  }

  // Fingerprints are computed on first read (a saved plan or a format that shows them), see fingerprint.ts.
  const plan: ProjectPlan = {
    project: desired.token,
    apiUrl: input.apiUrl,
    liveFingerprint: '',
    desiredFingerprint: '',
    selfUuid: selfKey.uuid,
    unmanaged: desired.unmanaged,
    liveKeys: live.length,
    liveActive: live.filter((k) => k.active).length,
    ...(desired.credentials ? { credentials: desired.credentials } : {}),
    planningKeyAccess: selfKey.permissions.includes('ACCESS_MANAGE') ? 'manage' : 'read',
    protectedUuids: protectedUuids(m.matched),
    changes: sortChanges(changes),
  };
  return deepFreeze(withLazyFingerprints(plan, live, desired));
}

/** The uuids of the live keys that protected entries matched, sorted. */
function protectedUuids(matched: ReadonlyMap<KeySpec, LiveKey>): string[] {
  const uuids: string[] = [];
  for (const [entry, key] of matched) if (entry.protected) uuids.push(key.uuid);
  return uuids.sort(byString);
}

/**
 * What a plan warns about ahead, one sentence each: rotations and expiries coming due within `withinMs` of `now`,
 * and rotations that are due but cannot be planned (and why). Pure; the CLI prints them to stderr.
 */
export function lifecycleWarnings(input: PlanProjectInput & { readonly withinMs: number }): string[] {
  const { desired, live, selfKey } = input;
  // Only an entry that rotates or expires has anything to warn about: most projects have none (500 projects of
  // 50 keys: 7 ms at the end of every plan otherwise).
  if (!desired.keys.some((entry) => entry.rotate !== undefined || entry.expires !== undefined)) return [];
  const now = input.now ?? new Date();
  const m = input.match ?? matchEntries(desired.keys, live);
  const warnings = input.withinMs > 0 ? lifecycleNotices(desired, m.matched, now, input.withinMs).map(noticeText) : [];
  for (const [entry, key] of m.matched) {
    const due = rotationDueAt(entry, key);
    if (!due || due.getTime() > now.getTime() || isExpired(entry, now)) continue;
    const why = rotationBlocker(entry, key, selfKey);
    if (why && why !== 'it is not active' && !why.startsWith('it differs')) {
      warnings.push(`project ${desired.token}: rotation of ${JSON.stringify(entry.description)} (uuid ${key.uuid}) is due but not planned: ${why}`);
    } else if (why?.startsWith('it differs')) {
      warnings.push(`project ${desired.token}: rotation of ${JSON.stringify(entry.description)} (uuid ${key.uuid}) is due; it is planned once the key matches its entry (after this apply)`);
    }
  }
  return warnings;
}
