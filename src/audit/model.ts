/**
 * The audit as a value: per project, every live key with its permissions, risk tier, age, owner, whether an
 * entry manages it and how it drifts from that entry, plus the policy findings and a summary. Built by
 * `buildAudit` from live keys (and, when given, the desired state and policy); every `src/render/audit-*`
 * renderer starts from this one value. Pure and deterministic: `now` is an input.
 */
import { isPermission } from '../permissions';
import type { DesiredState, KeySpec, LiveKey, Permission, ProjectSpec, SourceLocation } from '../model';
import { PERMISSIONS } from '../permissions';
import { planProject } from '../reconcile/diff';
import { isRisky } from '../render/risk';
import { byString } from '../compare';
import { ageInDays, entriesByUuid, evaluatePolicy, type PolicyFinding } from '../policy/evaluate';
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
}

export interface AuditReport {
  /** ISO 8601: the `now` ages were measured from. */
  readonly generatedAt: string;
  readonly olderThanDays: number;
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
}

/** A live key as if an entry declared it as it is (pinned, so policy findings carry its uuid). */
function specOfLive(k: LiveKey): KeySpec {
  return { description: k.description, permissions: k.permissions.filter(isPermission), active: k.active, formerDescriptions: [], uuid: k.uuid };
}

/** What planProject says about each key: drift lines per uuid, and the entries no live key matches (to create). */
function reconcile(spec: ProjectSpec, live: readonly LiveKey[]) {
  // A self key nobody has (uuid '') keeps the plan from sparing any key.
  const selfKey = { uuid: '', description: '', permissions: [], active: true, createdAt: '', secretPreview: '' } satisfies LiveKey;
  const plan = planProject({ desired: spec, live, selfKey, apiUrl: '' });
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
        rec = reconcile(spec, live);
      } catch (error) {
        driftError = error instanceof Error ? error.message : String(error);
      }
    }
    // Managed means claimed by an entry, as the reconciler's matcher decides (also when the plan is refused).
    const owners = spec ? entriesByUuid(spec.keys, live) : new Map<string, KeySpec>();
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
          findings: (byUuid.get(k.uuid)?.length ?? 0) + (entry ? (byDescription.get(entry.description)?.length ?? 0) : 0),
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
  });
  return Object.freeze({
    generatedAt: input.now.toISOString(),
    olderThanDays,
    withManifest: input.desired !== undefined,
    projects: Object.freeze(projects),
    summary,
  });
}

/** Every permission appears in the matrix exactly once (checked at load: a new permission needs an area). */
if (new Set(MATRIX_PERMISSIONS).size !== PERMISSIONS.length || MATRIX_PERMISSIONS.length !== PERMISSIONS.length) {
  throw new Error('PERMISSION_AREAS must place each of the permissions in exactly one area');
}
