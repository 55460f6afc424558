/**
 * `matchEntries`: which live key each manifest entry stands for — the only place these rules live. Planning,
 * `secrets pull` and `deactivate` all pair entries with keys through it, so they can never disagree. Pure.
 *
 * Rules, in this order (pinned entries first, so their live keys are never candidates for the others):
 *   1. an entry with `uuid` matches that live key (uuids compare case-insensitively); a pin no key has is missing;
 *   2. otherwise a live key whose description equals the entry's description;
 *   3. otherwise a live key whose description is one of the entry's `formerDescriptions` (a rename);
 *   4. otherwise the entry is new.
 * Then, on the keys still unclaimed: a key named `<entry's description> (rotated YYYY-MM-DD, off after YYYY-MM-DD)`
 * (or with one of its former descriptions) is a key that entry's rotation is retiring (see `rotation.ts`): it
 * belongs to the entry, never unmanaged.
 * Stage 2 runs for every entry before stage 3, so a current description always wins over a former one. Two or
 * more candidates in one stage is an ambiguity — unless, by description, they are exact twins (same description and
 * permissions, all active, created within `TWIN_WINDOW_MS` of each other: what two racing creates leave behind when
 * one run was killed before retiring its copy). Then the oldest is matched and the newer ones are reported as twins
 * to retire.
 */
import { byString, canonicalUuid, sameList } from '../compare';
import type { Change, KeySpec, LiveKey, ProjectSpec } from '../model';
import { canonicalPermissions } from '../permissions';
import { parseRetiring, type RetiringName } from './rotation';

/** Keys created this close together with identical content are the leftovers of a race, not two intended keys. */
export const TWIN_WINDOW_MS = 60_000;

/** An entry that matched more than one live key in one stage. */
export interface Ambiguity {
  readonly entry: KeySpec;
  /** Oldest first. */
  readonly candidates: readonly LiveKey[];
  readonly how: 'by description' | 'by former description';
}

/** What `matchEntries` found. */
export interface MatchResult {
  /** Entry -> the live key it stands for, in manifest order. */
  readonly matched: ReadonlyMap<KeySpec, LiveKey>;
  /** Entries no live key stands for: they will be created. */
  readonly newEntries: readonly KeySpec[];
  /** Live keys no entry claims (nor any ambiguity or twin), in listing order. */
  readonly unclaimed: readonly LiveKey[];
  /** Entries with two or more candidates that are not exact twins. */
  readonly ambiguities: readonly Ambiguity[];
  /** Entries whose pinned uuid no live key has. */
  readonly missingPins: readonly KeySpec[];
  /** Entries pinning a uuid that an earlier entry already pinned. */
  readonly doublePins: readonly KeySpec[];
  /** Newer exact twins of a matched key, to retire; each with the key that stays. */
  readonly twins: readonly { readonly key: LiveKey; readonly kept: LiveKey }[];
  /** Keys a rotation of an (unpinned) entry is retiring, in listing order; each with its entry and parsed name. */
  readonly retiring: readonly { readonly entry: KeySpec; readonly key: LiveKey; readonly name: RetiringName }[];
}

function olderFirst(a: LiveKey, b: LiveKey): number {
  return byString(a.createdAt, b.createdAt) || byString(a.uuid, b.uuid);
}

/** Whether `keys` (oldest first, two or more) are exact twins: see the module comment. */
export function areExactTwins(keys: readonly LiveKey[]): boolean {
  const first = keys[0];
  if (!first || keys.length < 2) return false;
  const perms = canonicalPermissions(first.permissions);
  const start = Date.parse(first.createdAt);
  const end = Date.parse(keys[keys.length - 1]!.createdAt);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end - start > TWIN_WINDOW_MS) return false;
  return keys.every((k) => k.active && k.description === first.description && sameList(canonicalPermissions(k.permissions), perms));
}

/** Pairs `entries` (one project's) with `live` (that project's keys); see the module comment. */
export function matchEntries(entries: readonly KeySpec[], live: readonly LiveKey[]): MatchResult {
  // Only pinned entries look keys up by uuid: most manifests pin none, and then no index is built.
  const byUuid = entries.some((e) => e.uuid !== undefined) ? new Map(live.map((k) => [canonicalUuid(k.uuid), k])) : new Map<string, LiveKey>();
  const claimed = new Set<string>();
  const matched = new Map<KeySpec, LiveKey>();
  const missingPins: KeySpec[] = [];
  const doublePins: KeySpec[] = [];
  const ambiguities: Ambiguity[] = [];
  const twins: { key: LiveKey; kept: LiveKey }[] = [];

  for (const entry of entries) {
    if (entry.uuid === undefined) continue;
    const key = byUuid.get(canonicalUuid(entry.uuid));
    if (!key) missingPins.push(entry);
    else if (claimed.has(key.uuid)) doublePins.push(entry);
    else {
      claimed.add(key.uuid);
      matched.set(entry, key);
    }
  }

  // Indexed once: matching 10,000 entries against 10,000 keys must not compare every pair.
  const byDescription = new Map<string, LiveKey[]>();
  for (const k of live) {
    const same = byDescription.get(k.description);
    if (same) same.push(k);
    else byDescription.set(k.description, [k]);
  }
  // Unclaimed keys carrying one of `names`, oldest first. One name with one key (the common case, run once per
  // entry) allocates nothing but the one-element list.
  const candidatesFor = (names: readonly string[]): LiveKey[] => {
    if (names.length === 1) {
      const same = byDescription.get(names[0]!);
      if (!same) return [];
      if (same.length === 1) return claimed.has(same[0]!.uuid) ? [] : [same[0]!];
    }
    return [...new Set(names)]
      .flatMap((name) => byDescription.get(name) ?? [])
      .filter((k) => !claimed.has(k.uuid))
      .sort(olderFirst);
  };
  const stage = (candidatesOf: readonly KeySpec[], names: (e: KeySpec) => readonly string[], how: Ambiguity['how']): KeySpec[] => {
    const unmatched: KeySpec[] = [];
    for (const entry of candidatesOf) {
      if (how === 'by description') {
        // The common entry: one live key with its description, unclaimed. Matched without building lists.
        const same = byDescription.get(entry.description);
        const only = same?.length === 1 ? same[0]! : undefined;
        if (only && !claimed.has(only.uuid)) {
          claimed.add(only.uuid);
          matched.set(entry, only);
          continue;
        }
      }
      const candidates = candidatesFor(names(entry));
      if (candidates.length === 0) {
        unmatched.push(entry);
        continue;
      }
      for (const c of candidates) claimed.add(c.uuid);
      matched.set(entry, candidates[0]!);
      if (candidates.length === 1) continue;
      if (how === 'by description' && areExactTwins(candidates)) for (const key of candidates.slice(1)) twins.push({ key, kept: candidates[0]! });
      else ambiguities.push({ entry, candidates, how });
    }
    return unmatched;
  };
  const unpinned = entries.filter((e) => e.uuid === undefined);
  const notByDescription = stage(unpinned, (e) => [e.description], 'by description');
  const newEntries = stage(notByDescription, (e) => e.formerDescriptions, 'by former description');

  // A rotation's retiring key carries the description the entry had when it was rotated: current, or a former one.
  // The entries are indexed by those names only when some unclaimed key carries a retiring name.
  let entryByDescription: Map<string, KeySpec> | undefined;
  const retiring: { entry: KeySpec; key: LiveKey; name: RetiringName }[] = [];
  for (const key of live) {
    if (claimed.has(key.uuid)) continue;
    const name = parseRetiring(key.description);
    if (!name) continue;
    if (!entryByDescription) {
      entryByDescription = new Map<string, KeySpec>();
      for (const e of unpinned) entryByDescription.set(e.description, e);
      for (const e of unpinned) for (const f of e.formerDescriptions) if (!entryByDescription.has(f)) entryByDescription.set(f, e);
    }
    const entry = entryByDescription.get(name.description);
    if (!entry) continue;
    claimed.add(key.uuid);
    retiring.push({ entry, key, name });
  }

  return {
    matched,
    newEntries,
    retiring,
    unclaimed: live.filter((k) => !claimed.has(k.uuid)),
    ambiguities,
    missingPins,
    doublePins,
    twins,
  };
}

/**
 * The entry each live key belongs to, by its uuid as listed, as `m` decides: matched keys, every candidate of an
 * ambiguity (the entry claims them all, even though the plan is refused), the newer exact twins (their kept key's
 * entry), and keys a rotation is retiring. Keys absent from the map are unmanaged.
 */
export function entriesByKey(m: MatchResult): Map<string, KeySpec> {
  const owners = new Map<string, KeySpec>();
  for (const [entry, key] of m.matched) owners.set(key.uuid, entry);
  for (const a of m.ambiguities) for (const key of a.candidates) owners.set(key.uuid, a.entry);
  for (const { key, kept } of m.twins) {
    const entry = owners.get(kept.uuid);
    if (entry) owners.set(key.uuid, entry);
  }
  for (const { entry, key } of m.retiring) owners.set(key.uuid, entry);
  return owners;
}

/**
 * The entry each change of a plan computed from `m` is about: a change to an existing key by its uuid
 * (`entriesByKey`), a create by the new entry it creates; undefined for an unmanaged key. For renderers that
 * anchor changes at manifest lines (annotations), so they never pair changes with entries by rules of their own.
 */
export function changeEntryLookup(m: MatchResult): (change: Change) => KeySpec | undefined {
  const byKey = entriesByKey(m);
  const created = new Map(m.newEntries.map((e) => [e.description, e]));
  return (change) => (change.kind === 'create' ? created.get(change.after.description) : byKey.get(change.uuid));
}

/**
 * `changeEntryLookup` for a whole plan: `(project, change) -> entry`, pairing each project's entries with the live
 * keys its plan was computed from. Projects without live keys (not planned) have no entries to look up.
 */
export function planEntryLookup(
  projects: readonly ProjectSpec[],
  live: ReadonlyMap<string, readonly LiveKey[]>,
): (project: string, change: Change) => KeySpec | undefined {
  const lookups = new Map<string, (change: Change) => KeySpec | undefined>();
  for (const p of projects) {
    const keys = live.get(p.token);
    if (keys) lookups.set(p.token, changeEntryLookup(matchEntries(p.keys, keys)));
  }
  return (project, change) => lookups.get(project)?.(change);
}
