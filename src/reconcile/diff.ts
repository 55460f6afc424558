/**
 * `planProject`: matches one project's declared entries to its live keys and lists the changes that make live
 * match desired. Pure: no I/O, same input -> same (frozen) plan.
 *
 * Matching, in this order (pinned entries first, so their live keys are never candidates for the others):
 *   1. an entry with `uuid` matches that live key (missing -> PinnedKeyNotFoundError naming it);
 *   2. otherwise a live key whose description equals the entry's description;
 *   3. otherwise a live key whose description is one of the entry's `formerDescriptions` (a rename);
 *   4. otherwise the entry is new.
 * Stage 2 runs for every entry before stage 3, so a current description always wins over a former one. Two or
 * more candidates in one stage is an ambiguity (AmbiguousMatchError listing every candidate and the `uuid:` line).
 *
 * Live keys no entry matched are unmanaged: deactivated under `unmanaged: deactivate` when active, otherwise left.
 * The key the tool authenticates with is never planned for deactivation just because the manifest omits it (the
 * emulator's bootstrap admin key, an admin key managed elsewhere); if an entry explicitly matches it and would
 * deactivate it or drop ACCESS_READ/ACCESS_MANAGE, the change IS planned and `checkGuards` refuses it, so the
 * reviewer sees exactly what the manifest asks for and why it cannot happen.
 */
import { AmbiguousMatchError, PinnedKeyNotFoundError } from '../errors';
import type { KeySpec, LiveKey, Permission, ProjectSpec } from '../model';
import { canonicalPermissions } from '../permissions';
import { desiredFingerprint, liveFingerprint } from './fingerprint';
import type { Change, KeyState, ProjectPlan } from '../model';
import { sortChanges, deepFreeze } from './build';

export interface PlanProjectInput {
  readonly desired: ProjectSpec;
  /** Every live key of the project, in any order. */
  readonly live: readonly LiveKey[];
  /** The key the tool authenticates with (`GET /keys/self`). */
  readonly selfKey: LiveKey;
  /** The resolved API base URL of the project. */
  readonly apiUrl: string;
}

function where(entry: KeySpec): string {
  return entry.source ? ` (${entry.source.file}:${entry.source.line}:${entry.source.column})` : '';
}

function describeCandidate(k: LiveKey): string {
  const perms = k.permissions.length ? canonicalPermissions(k.permissions).join(', ') : '(none)';
  return `    uuid: ${k.uuid}    # created_at ${k.createdAt}, ${k.active ? 'active' : 'inactive'}, permissions: ${perms}`;
}

function stateOf(k: LiveKey): KeyState {
  return { description: k.description, permissions: canonicalPermissions(k.permissions) as Permission[], active: k.active };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The changes that turn `live` into `entry`: an update (rename/permissions) then a status change, as needed. */
function changesForMatch(entry: KeySpec, live: LiveKey): Change[] {
  const ref = { uuid: live.uuid, createdAt: live.createdAt, secretPreview: live.secretPreview };
  const before = stateOf(live);
  const permissions = canonicalPermissions(entry.permissions) as Permission[];
  const changes: Change[] = [];
  let current = before;
  if (entry.description !== before.description || !sameList(permissions, before.permissions)) {
    const after: KeyState = { description: entry.description, permissions, active: before.active };
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
        : { kind: 'deactivate', reason: 'declared-inactive', ...ref, before: current, after },
    );
  }
  return changes;
}

/**
 * Diffs one project: desired entries against the live listing.
 * @throws PinnedKeyNotFoundError when an entry pins a uuid no live key has (all such entries named).
 * @throws AmbiguousMatchError when an entry matches two or more live keys (each candidate listed with its `uuid:` line).
 */
export function planProject(input: PlanProjectInput): ProjectPlan {
  const { desired, live, selfKey } = input;
  const project = desired.token;
  const byUuid = new Map(live.map((k) => [k.uuid, k]));
  const claimed = new Set<string>();
  const matches = new Map<KeySpec, LiveKey>();

  // Stage 1: pins.
  const missing: string[] = [];
  for (const entry of desired.keys) {
    if (entry.uuid === undefined) continue;
    const key = byUuid.get(entry.uuid);
    if (!key) {
      missing.push(`  key "${entry.description}"${where(entry)} pins uuid ${entry.uuid}`);
      continue;
    }
    if (claimed.has(key.uuid)) {
      throw new AmbiguousMatchError(
        `project ${project}: uuid ${key.uuid} is pinned by more than one entry (again by "${entry.description}"${where(entry)}); ` +
          'each live key can be managed by one entry only.',
      );
    }
    claimed.add(key.uuid);
    matches.set(entry, key);
  }
  if (missing.length) {
    throw new PinnedKeyNotFoundError(
      `project ${project}: no live key has the pinned uuid:\n${missing.join('\n')}\n` +
        'Correct the uuid (see `scaleflex-keys import` for the live keys) or remove the pin to match by description.',
    );
  }

  // Stages 2 and 3: description, then former descriptions.
  const ambiguities: string[] = [];
  // Indexed once: matching 10,000 entries against 10,000 keys must not compare every pair.
  const byDescription = new Map<string, LiveKey[]>();
  for (const k of live) {
    const same = byDescription.get(k.description);
    if (same) same.push(k);
    else byDescription.set(k.description, [k]);
  }
  const unpinned = desired.keys.filter((e) => e.uuid === undefined);
  const stage = (entries: readonly KeySpec[], names: (e: KeySpec) => readonly string[], how: string): KeySpec[] => {
    const unmatched: KeySpec[] = [];
    for (const entry of entries) {
      const candidates = [...new Set(names(entry))]
        .flatMap((name) => byDescription.get(name) ?? [])
        .filter((k) => !claimed.has(k.uuid))
        .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.uuid < b.uuid ? -1 : 1));
      if (candidates.length === 1) {
        claimed.add(candidates[0]!.uuid);
        matches.set(entry, candidates[0]!);
      } else if (candidates.length > 1) {
        ambiguities.push(
          `  key "${entry.description}"${where(entry)} matches ${candidates.length} live keys ${how}:\n` +
            candidates.map(describeCandidate).join('\n'),
        );
        // Claim them so that a later stage does not pick one of them silently.
        for (const c of candidates) claimed.add(c.uuid);
        matches.set(entry, candidates[0]!);
      } else {
        unmatched.push(entry);
      }
    }
    return unmatched;
  };
  const notByDescription = stage(unpinned, (e) => [e.description], 'by description');
  const newEntries = stage(notByDescription, (e) => e.formerDescriptions, 'by former description');
  if (ambiguities.length) {
    throw new AmbiguousMatchError(
      `project ${project}: ambiguous match, so the project is refused:\n${ambiguities.join('\n')}\n` +
        'Pin the key to manage by adding one of the `uuid: ...` lines above to its entry; the other keys then count as unmanaged.',
    );
  }

  const changes: Change[] = [];
  for (const entry of newEntries) {
    changes.push({
      kind: 'create',
      after: { description: entry.description, permissions: canonicalPermissions(entry.permissions) as Permission[], active: entry.active },
    });
  }
  for (const [entry, key] of matches) changes.push(...changesForMatch(entry, key));
  if (desired.unmanaged === 'deactivate') {
    for (const key of live) {
      if (claimed.has(key.uuid) || !key.active || key.uuid === selfKey.uuid) continue;
      const before = stateOf(key);
      changes.push({
        kind: 'deactivate',
        reason: 'unmanaged',
        uuid: key.uuid,
        createdAt: key.createdAt,
        secretPreview: key.secretPreview,
        before,
        after: { ...before, active: false },
      });
    }
  }

  return deepFreeze({
    project,
    apiUrl: input.apiUrl,
    liveFingerprint: liveFingerprint(live),
    desiredFingerprint: desiredFingerprint(desired),
    selfUuid: selfKey.uuid,
    unmanaged: desired.unmanaged,
    liveKeys: live.length,
    liveActive: live.filter((k) => k.active).length,
    changes: sortChanges(changes),
  });
}
