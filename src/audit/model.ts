/**
 * The audit as a value: per project, every live key with its permissions, risk tier, age, owner, whether an
 * entry manages it and how it drifts from that entry, plus the policy findings and a summary. Built by
 * `buildAudit` from live keys (and, when given, the desired state and policy); every `src/render/audit-*`
 * renderer starts from this one value. Rotation and expiry status comes from the entries' `rotate`/`expires` under
 * the rules of `src/reconcile/rotation.ts` (the ones `plan` applies). Pure and deterministic: `now` is an input.
 */
import { isPermission } from '../permissions';
import { DEFAULT_WARN_WITHIN_MS, type DesiredState, type KeySpec, type LiveKey, type Permission, type ProjectSpec, type SourceLocation } from '../model';
import { PERMISSIONS } from '../permissions';
import { planProject } from '../reconcile/diff';
import { entriesByKey, matchEntries, type MatchResult } from '../reconcile/match';
import { isExpired, lifecycleNotices, pastDeadline, rotationDueAt } from '../reconcile/rotation';
import { DAY_MS } from '../utc-time';
import { isRisky } from '../render/risk';
import { byString } from '../compare';
import { ageInDays, evaluatePolicy, type PolicyFinding } from '../policy/evaluate';
import type { PolicyRule } from '../policy/rules';

/** The areas the matrix groups the 31 permissions by, each in the Scaleflex page's order. */
export const PERMISSION_AREAS: readonly { readonly area: string; readonly permissions: readonly Permission[] }[] = Object.freeze([
  { area: 'objects', permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH'] },
  { area: 'files', permissions: ['FILE_UPLOAD', 'FILE_META_CREATE', 'FILE_META_CHANGE', 'FILE_RENAME', 'FILE_MOVE', 'FILE_DELETE', 'FILE_SET_VISIBILITY', 'FILE_IMAGE_EDITOR', 'FILE_PRODUCT_CHANGE', 'FILE_PROCESS_AUTOTAGGING'] },
  { area: 'directories', permissions: ['DIR_CREATE', 'DIR_RENAME', 'DIR_META_CHANGE', 'DIR_MOVE', 'DIR_DELETE', 'DIR_SET_VISIBILITY'] },
  { area: 'configuration', permissions: ['CONFIG_LIST', 'CONFIG_CHANGE'] },
  { area: 'collections', permissions: ['COLLECTIONS_LIST', 'COLLECTIONS_MANAGE'] },
  { area: 'labels', permissions: ['LABELS_LIST', 'LABEL_MANAGE', 'FILE_LABEL_CHANGE'] },
  { area: 'sharing', permissions: ['OBJECTS_SHARE_MANAGE', 'OBJECTS_AIRBOX_MANAGE'] },
  { area: 'approval', permissions: ['OBJECTS_APPROVAL_VOTE', 'OBJECTS_APPROVAL_MANAGE'] },
  { area: 'access', permissions: ['ACCESS_READ', 'ACCESS_MANAGE'] },
] as { area: string; permissions: Permission[] }[]);

/** The matrix's column order: the areas' permissions, flattened (all 31, each once). */
export const MATRIX_PERMISSIONS: readonly Permission[] = Object.freeze(PERMISSION_AREAS.flatMap((a) => a.permissions));

/**
 * Risk tiers, worst first: `critical` holds ACCESS_MANAGE (controls every key); `high` holds another risky
 * permission (`src/render/risk.ts`); `write` changes data; `read` only lists and fetches.
 */
export type RiskTier = 'critical' | 'high' | 'write' | 'read';
export const RISK_TIERS: readonly RiskTier[] = Object.freeze(['critical', 'high', 'write', 'read']);
const READ_ONLY: ReadonlySet<string> = new Set(['OBJECTS_LIST', 'OBJECTS_FETCH', 'CONFIG_LIST', 'COLLECTIONS_LIST', 'LABELS_LIST']);

/** The risk tier of a set of permissions (unknown ones count as writes: nobody has reviewed them). */
export function riskTier(permissions: readonly string[]): RiskTier {
  if (permissions.includes('ACCESS_MANAGE')) return 'critical';
  if (permissions.some((p) => isRisky(p))) return 'high';
  if (permissions.some((p) => !READ_ONLY.has(p))) return 'write';
  return 'read';
}

/**
 * Where a key stands in its entry's rotation and expiry (empty when its entry declares neither, or for unmanaged
 * keys). `soon` means within the warning window (`--warn-within`), as `plan` warns ahead.
 */
export interface KeyLifecycle {
  /** The current, active key of an active entry with `rotate` (not expired): when it comes due for rotation. */
  readonly rotation?: { readonly dueAt: string; readonly state: 'overdue' | 'soon' | 'scheduled' };
  /** A key a rotation is retiring (`<description> (rotated D, off after X)`): deactivated by the first plan after X. */
  readonly retiring?: { readonly rotatedOn: string; readonly offAfter: string; readonly pastDeadline: boolean };
  /** The entry's `expires`: from then on plans deactivate the entry's keys. */
  readonly expiry?: { readonly at: string; readonly state: 'expired' | 'soon' | 'scheduled' };
}

/** One live key in the audit. */
export interface AuditKey {
  readonly uuid: string;
  readonly description: string;
  readonly permissions: readonly Permission[];
  readonly unknownPermissions: readonly string[];
  readonly active: boolean;
  readonly createdAt: string;
  readonly ageDays: number;
  readonly secretPreview: string;
  readonly risk: RiskTier;
  /** True when a manifest entry declares this key; false for unmanaged keys and when no manifest was given. */
  readonly managed: boolean;
  readonly owner?: string;
  readonly purpose?: string;
  /** The entry that manages the key. */
  readonly source?: SourceLocation;
  /** How the live key differs from its entry (what `plan` would change), e.g. `+FILE_DELETE`, `renamed from "x"`. */
  readonly drift: readonly string[];
  /** How many policy findings name this key. */
  readonly findings: number;
  readonly lifecycle: KeyLifecycle;
}

/** One project in the audit. */
export interface AuditProject {
  readonly token: string;
  readonly keys: readonly AuditKey[];
  /** Entries the manifest declares that no live key matches (plan would create them). */
  readonly missing: readonly string[];
  readonly findings: readonly PolicyFinding[];
  /** Why drift could not be computed (an ambiguous match, a pin to a missing key), when it could not. */
  readonly driftError?: string;
}

export interface AuditSummary {
  readonly projects: number;
  readonly keys: number;
  readonly activeKeys: number;
  /** Active keys holding ACCESS_MANAGE, as `project/description (uuid)`. */
  readonly accessManage: number;
  readonly unmanagedActive: number;
  /** Active keys older than `olderThanDays`. */
  readonly old: number;
  readonly inactive: number;
  readonly drifted: number;
  readonly errors: number;
  readonly warnings: number;
  /** Active keys whose rotation is due (overdue): the next plan rotates them. */
  readonly rotationOverdue: number;
  /** Active keys whose entry's `expires` has come: the next plan deactivates them. */
  readonly expired: number;
  /** Active keys a rotation is retiring (in their overlap, or past it). */
  readonly retiring: number;
  /** Active keys whose rotation or expiry comes due within the warning window. */
  readonly dueSoon: number;
}

export interface AuditReport {
  /** ISO 8601: the `now` ages were measured from. */
  readonly generatedAt: string;
  readonly olderThanDays: number;
  /** The warning window for rotations and expiries coming due, in days (`--warn-within`). */
  readonly warnWithinDays: number;
  /** Whether a manifest was given (managed/drift columns mean something only then). */
  readonly withManifest: boolean;
  readonly projects: readonly AuditProject[];
  readonly summary: AuditSummary;
}

export interface AuditInput {
  /** Live keys per project token; the audit covers exactly these projects. */
  readonly live: ReadonlyMap<string, readonly LiveKey[]>;
  readonly desired?: DesiredState;
  readonly rules?: readonly PolicyRule[];
  readonly now: Date;
  /** "Old" in the summary: active keys older than this many days (default 365). */
  readonly olderThanDays?: number;
  /** Rotations and expiries due within this many milliseconds are `soon` (default 14 days, as for `plan`). */
  readonly warnWithinMs?: number;
}

/** A live key as if an entry declared it as it is (pinned, so policy findings carry its uuid). */
function specOfLive(k: LiveKey): KeySpec {
  return { description: k.description, permissions: k.permissions.filter(isPermission), active: k.active, formerDescriptions: [], uuid: k.uuid };
}

/** What planProject says about each key: drift lines per uuid, and the entries no live key matches (to create). */
function reconcile(spec: ProjectSpec, live: readonly LiveKey[], now: Date) {
  // A self key nobody has (uuid '') keeps the plan from sparing any key.
  const selfKey = { uuid: '', description: '', permissions: [], active: true, createdAt: '', secretPreview: '' } satisfies LiveKey;
  const plan = planProject({ desired: spec, live, selfKey, apiUrl: '', now });
  const drift = new Map<string, string[]>();
  const add = (uuid: string, line: string) => (drift.get(uuid) ?? drift.set(uuid, []).get(uuid)!).push(line);
  const missing: string[] = [];
  for (const c of plan.changes) {
    if (c.kind === 'create') missing.push(c.after.description);
    else if (c.kind === 'update') {
      if (c.before.description !== c.after.description) add(c.uuid, `renamed: live "${c.before.description}", manifest "${c.after.description}"`);
      for (const p of c.permissionsAdded) add(c.uuid, `-${p} (manifest grants it, live key lacks it)`);
      for (const p of c.permissionsRemoved) add(c.uuid, `+${p} (live key holds it, manifest does not)`);
    } else if (c.kind === 'activate') add(c.uuid, 'inactive (manifest: active)');
    else if (c.kind === 'deactivate' && c.reason === 'declared-inactive') add(c.uuid, 'active (manifest: inactive)');
  }
  return { drift, missing: missing.sort(byString) };
}

/** Each key's rotation and expiry status (by uuid) in one project, as `m` pairs its entries and keys. */
function lifecycles(spec: ProjectSpec, m: MatchResult, now: Date, withinMs: number): Map<string, KeyLifecycle> {
  // What `plan` would warn about ahead: the `soon` ones, by kind and entry.
  const soon = new Set(lifecycleNotices(spec, m.matched, now, withinMs).map((n) => `${n.kind}\0${n.description}`));
  const expiry = (entry: KeySpec): KeyLifecycle['expiry'] | undefined =>
    entry.expires === undefined
      ? undefined
      : { at: entry.expires, state: isExpired(entry, now) ? 'expired' : soon.has(`expiry\0${entry.description}`) ? 'soon' : 'scheduled' };
  const out = new Map<string, KeyLifecycle>();
  for (const [entry, key] of m.matched) {
    const due = rotationDueAt(entry, key);
    // Plans rotate only an active key of an active entry that has not expired.
    const rotation: KeyLifecycle['rotation'] | undefined =
      due && key.active && entry.active && !isExpired(entry, now)
        ? { dueAt: due.toISOString(), state: due.getTime() <= now.getTime() ? 'overdue' : soon.has(`rotation\0${entry.description}`) ? 'soon' : 'scheduled' }
        : undefined;
    const exp = expiry(entry);
    out.set(key.uuid, { ...(rotation ? { rotation } : {}), ...(exp ? { expiry: exp } : {}) });
  }
  for (const { entry, key, name } of m.retiring) {
    const exp = expiry(entry);
    out.set(key.uuid, {
      retiring: { rotatedOn: name.rotatedOn, offAfter: name.offAfter, pastDeadline: pastDeadline(name.offAfter, now) },
      ...(exp ? { expiry: exp } : {}),
    });
  }
  return out;
}

/** Groups findings by a key of each, keeping their order. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    if (k !== undefined) (groups.get(k) ?? groups.set(k, []).get(k)!).push(item);
  }
  return groups;
}

/** Builds the audit; see `AuditReport`. */
export function buildAudit(input: AuditInput): AuditReport {
  const olderThanDays = input.olderThanDays ?? 365;
  const warnWithinMs = input.warnWithinMs ?? DEFAULT_WARN_WITHIN_MS;
  const tokens = [...input.live.keys()].sort(byString);
  const specs = new Map((input.desired?.projects ?? []).map((p) => [p.token, p]));
  // Without a manifest the policy still applies to what is live: each live key stands in for its own entry.
  const judged: DesiredState = input.desired
    ? { projects: input.desired.projects.filter((p) => input.live.has(p.token)) }
    : { projects: tokens.map((token) => ({ token, unmanaged: 'ignore' as const, keys: input.live.get(token)!.map(specOfLive) })) };
  const findings = input.rules ? evaluatePolicy(judged, input.rules, { live: input.live, now: input.now }) : [];
  const findingsOf = groupBy(findings, (f) => f.project);
  const projects = tokens.map((token): AuditProject => {
    const live = input.live.get(token)!;
    const spec = specs.get(token);
    let rec: ReturnType<typeof reconcile> | undefined;
    let driftError: string | undefined;
    if (spec) {
      try {
        rec = reconcile(spec, live, input.now);
      } catch (error) {
        driftError = error instanceof Error ? error.message : String(error);
      }
    }
    // Managed means claimed by an entry, as the reconciler's matcher decides (also when the plan is refused).
    const match = spec ? matchEntries(spec.keys, live) : undefined;
    const owners = match ? entriesByKey(match) : new Map<string, KeySpec>();
    const retiring = new Set(match?.retiring.map((r) => r.key.uuid));
    const lifecycle = spec && match ? lifecycles(spec, match, input.now, warnWithinMs) : new Map<string, KeyLifecycle>();
    const projectFindings = findingsOf.get(token) ?? [];
    const byUuid = groupBy(projectFindings, (f) => f.uuid);
    const byDescription = groupBy(projectFindings, (f) => (f.uuid === undefined ? f.description : undefined));
    const keys = [...live]
      .sort((a, b) => byString(a.description, b.description) || byString(a.uuid, b.uuid))
      .map((k): AuditKey => {
        const entry = owners.get(k.uuid);
        const held = new Set(k.permissions);
        const unknown = k.permissions.filter((p) => !isPermission(p));
        return Object.freeze({
          uuid: k.uuid,
          description: k.description,
          permissions: Object.freeze(MATRIX_PERMISSIONS.filter((p) => held.has(p))),
          unknownPermissions: Object.freeze([...unknown].sort(byString)),
          active: k.active,
          createdAt: k.createdAt,
          ageDays: ageInDays(k.createdAt, input.now),
          secretPreview: k.secretPreview,
          risk: riskTier(k.permissions),
          managed: entry !== undefined,
          ...(entry?.owner !== undefined ? { owner: entry.owner } : {}),
          ...(entry?.purpose !== undefined ? { purpose: entry.purpose } : {}),
          ...(entry?.source ? { source: entry.source } : {}),
          drift: Object.freeze(rec?.drift.get(k.uuid) ?? []),
          // A retiring key does not carry its entry's findings: they are the current key's.
          findings: (byUuid.get(k.uuid)?.length ?? 0) + (entry && !retiring.has(k.uuid) ? (byDescription.get(entry.description)?.length ?? 0) : 0),
          lifecycle: Object.freeze(lifecycle.get(k.uuid) ?? {}),
        });
      });
    return Object.freeze({
      token,
      keys: Object.freeze(keys),
      missing: Object.freeze(rec?.missing ?? []),
      findings: Object.freeze(projectFindings),
      ...(driftError !== undefined ? { driftError } : {}),
    });
  });
  const allKeys = projects.flatMap((p) => p.keys);
  const active = allKeys.filter((k) => k.active);
  const summary: AuditSummary = Object.freeze({
    projects: projects.length,
    keys: allKeys.length,
    activeKeys: active.length,
    accessManage: active.filter((k) => k.permissions.includes('ACCESS_MANAGE')).length,
    unmanagedActive: input.desired ? active.filter((k) => !k.managed).length : 0,
    old: active.filter((k) => k.ageDays > olderThanDays).length,
    inactive: allKeys.length - active.length,
    drifted: allKeys.filter((k) => k.drift.length > 0).length,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    rotationOverdue: active.filter((k) => k.lifecycle.rotation?.state === 'overdue').length,
    expired: active.filter((k) => k.lifecycle.expiry?.state === 'expired').length,
    retiring: active.filter((k) => k.lifecycle.retiring !== undefined).length,
    dueSoon: active.filter((k) => k.lifecycle.rotation?.state === 'soon' || k.lifecycle.expiry?.state === 'soon').length,
  });
  return Object.freeze({
    generatedAt: input.now.toISOString(),
    olderThanDays,
    warnWithinDays: warnWithinMs / DAY_MS,
    withManifest: input.desired !== undefined,
    projects: Object.freeze(projects),
    summary,
  });
}

/** An ISO instant for people: the day alone at midnight UTC, else without milliseconds. */
function when(iso: string): string {
  return iso.replace(/T00:00:00(\.000)?Z$/, '').replace(/\.000Z$/, 'Z');
}

/**
 * A key's rotation and expiry status in words, one phrase each (empty when there is none), shared by the
 * Markdown, HTML and CSV renderers: `rotation overdue (due 2026-05-29T09:00:00Z)`, `rotation due soon:
 * 2026-12-12T09:00:00Z`, `retiring: off after 2026-12-03`, `expired 2026-11-30`, `expires soon: 2026-12-10`.
 */
export function lifecyclePhrases(k: AuditKey): string[] {
  const { rotation, retiring, expiry } = k.lifecycle;
  const out: string[] = [];
  if (rotation) {
    const at = when(rotation.dueAt);
    out.push(rotation.state === 'overdue' ? `rotation overdue (due ${at})` : rotation.state === 'soon' ? `rotation due soon: ${at}` : `rotation due ${at}`);
  }
  if (retiring) {
    out.push(
      !k.active
        ? `rotated out ${retiring.rotatedOn}`
        : retiring.pastDeadline
          ? `retiring: past its deadline ${retiring.offAfter}, the next plan deactivates it`
          : `retiring: off after ${retiring.offAfter}`,
    );
  }
  if (expiry) {
    const at = when(expiry.at);
    out.push(expiry.state === 'expired' ? `expired ${at}` : expiry.state === 'soon' ? `expires soon: ${at}` : `expires ${at}`);
  }
  return out;
}

/**
 * A key's rotation and expiry status as filter tokens (the HTML page's filter): `rotation-overdue`,
 * `rotation-soon`, `retiring`, `expired`, `expiry-soon`; only the states that ask for attention.
 */
export function lifecycleTokens(k: AuditKey): string[] {
  const { rotation, retiring, expiry } = k.lifecycle;
  const out: string[] = [];
  if (rotation?.state === 'overdue') out.push('rotation-overdue');
  if (rotation?.state === 'soon') out.push('rotation-soon');
  if (retiring && k.active) out.push('retiring');
  if (expiry?.state === 'expired') out.push('expired');
  if (expiry?.state === 'soon') out.push('expiry-soon');
  return out;
}

/** The HTML filter's choices for `lifecycleTokens`, in the order offered. */
export const LIFECYCLE_TOKENS: readonly string[] = Object.freeze(['rotation-overdue', 'rotation-soon', 'retiring', 'expired', 'expiry-soon']);

/** Every permission appears in the matrix exactly once (checked at load: a new permission needs an area). */
if (new Set(MATRIX_PERMISSIONS).size !== PERMISSIONS.length || MATRIX_PERMISSIONS.length !== PERMISSIONS.length) {
  throw new Error('PERMISSION_AREAS must place each of the permissions in exactly one area');
}
