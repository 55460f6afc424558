/**
 * The domain types every stage of the pipeline speaks: what the manifest declares (DesiredState), what the
 * Scaleflex API holds (LiveKey), the narrow KeysApi seam between the reconciler and the API, and the plan as a
 * value (Change, ProjectPlan, Plan, guard violations) that diff produces and guards, renderers, the saved plan
 * file and apply all read. Pure types and a few constants; imports nothing but the permission list.
 */
import type { Permission } from './permissions';

export type { Permission } from './permissions';

/** Where a value came from in a source file, for error messages (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The construct path that declared it, for desired state synthesized by CDKTF (e.g. `stack/demo/uploader`). */
  readonly construct?: string;
}

/** What to do with live keys that no manifest entry declares. */
export type UnmanagedPolicy = 'deactivate' | 'ignore';

/** Where a project's admin key comes from: an environment variable or a file; never the value. */
export interface CredentialsRef {
  readonly env?: string;
  readonly file?: string;
}

/**
 * One place the secret of a new key is delivered to (manifest `deliver:`), as the manifest declares it: `exec` runs
 * a program with the secret on stdin (placeholders `{project}`, `{description}`, `{name}`, `{uuid}` in argv);
 * `file` merges it into a 0600 secrets file (json or env by extension). Never holds a secret.
 */
export type DeliverySpec =
  | { readonly exec: readonly string[]; /** Seconds; default set by the delivery module. */ readonly timeout?: number }
  | { readonly file: string };

/**
 * Rotation with overlap (manifest `rotate:`): when the live key is older than `every`, it is renamed to a retirement
 * description carrying its deadline and a successor with the same description and permissions is created; after
 * `overlap` the retired key is deactivated. Durations in milliseconds (parsed from `90d`, `7d`, ...).
 */
export interface RotationSpec {
  readonly everyMs: number;
  readonly overlapMs: number;
  /** As written in the manifest (e.g. `90d`), for messages. */
  readonly every: string;
  readonly overlap: string;
}

/** One declared key, with permission sets already expanded. */
export interface KeySpec {
  /** The key's identity within its project. */
  readonly description: string;
  /** Effective permissions: the union of `permissions` and the named sets, sorted, no repeats. */
  readonly permissions: readonly Permission[];
  readonly active: boolean;
  /** Earlier descriptions, so that a rename is matched as a rename rather than a new key. */
  readonly formerDescriptions: readonly string[];
  /** Pins the entry to one live key. */
  readonly uuid?: string;
  /**
   * `protected: true`: never deactivated and never stripped of ACCESS_READ/ACCESS_MANAGE, whatever key the tool
   * runs with; `--force` does not override it.
   */
  readonly protected?: boolean;
  /** Who answers for the key (a person or team). Metadata for reviewers and policy; never sent to the API. */
  readonly owner?: string;
  /** What the key is for. Metadata; never sent to the API. */
  readonly purpose?: string;
  /** Why the key needs its riskier permissions (see `requireJustification`). Metadata; never sent to the API. */
  readonly justification?: string;
  /**
   * Where the secret of this key goes when it is created (or rotated): the key's own `deliver:`, else its
   * project's. Absent or empty: nowhere but `--secrets-out`.
   */
  readonly deliver?: readonly DeliverySpec[];
  /** The key's own `rotate:`, else its project's. */
  readonly rotate?: RotationSpec;
  /** `expires:` as an ISO 8601 UTC date-time: from then on the plan deactivates the key (reason `expired`). */
  readonly expires?: string;
  /** Where the entry was declared (YAML position or construct path), when known. */
  readonly source?: SourceLocation;
}

/** One declared project. */
export interface ProjectSpec {
  readonly token: string;
  /** The API base URL the manifest gives, if any (see the reconciler for the full precedence). */
  readonly apiUrl?: string;
  readonly credentials?: CredentialsRef;
  readonly unmanaged: UnmanagedPolicy;
  readonly keys: readonly KeySpec[];
  /** The project's `deliver:`, inherited by keys that declare none (already folded into each `KeySpec.deliver`). */
  readonly deliver?: readonly DeliverySpec[];
  /** The project's `rotate:`, inherited by keys that declare none (already folded into each `KeySpec.rotate`). */
  readonly rotate?: RotationSpec;
  readonly source?: SourceLocation;
}

/** Everything a manifest (or a synthesized CDKTF stack) declares. */
export interface DesiredState {
  readonly projects: readonly ProjectSpec[];
}

/** A key as the Scaleflex API reports it. Never carries the secret. */
export interface LiveKey {
  readonly uuid: string;
  readonly description: string;
  /**
   * As the API reports them. May hold names this version of scaleflex-keys does not know (Scaleflex added a
   * permission): the reconciler keeps those as they are and never removes them.
   */
  readonly permissions: readonly string[];
  readonly active: boolean;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The secret's last 4 characters, masked, as the API shows it. */
  readonly secretPreview: string;
}

/** A freshly created key and its secret, which the caller must route to a secret sink and nowhere else. */
export interface CreatedKey {
  readonly key: LiveKey;
  readonly secret: string;
}

export interface CreateKeyInput {
  readonly description: string;
  readonly permissions: readonly Permission[];
  readonly active?: boolean;
}

export interface UpdateKeyInput {
  readonly description?: string;
  readonly permissions?: readonly Permission[];
  readonly active?: boolean;
}

/**
 * The reconciler's view of one project's API: the handful of calls apply needs.
 * The undici client in `src/api/` implements it; unit tests may use a small in-memory fake.
 */
export interface KeysApi {
  /** The project token this API talks to. */
  readonly project: string;
  /** The key the tool authenticates with. */
  self(): Promise<LiveKey>;
  /** Every key of the project, page by page, in the API's stable order. */
  list(): AsyncIterable<LiveKey>;
  get(uuid: string): Promise<LiveKey>;
  create(input: CreateKeyInput): Promise<CreatedKey>;
  update(uuid: string, input: UpdateKeyInput): Promise<LiveKey>;
  /** Activates or deactivates up to the API's bulk maximum of keys, all or nothing; returns how many changed. */
  setStatus(uuids: readonly string[], active: boolean): Promise<number>;
  getSecret(uuid: string): Promise<string>;
}

// ---- The plan as a value -------------------------------------------------------------------------------

/** The part of a key the reconciler manages: what it compares, what it changes, what apply re-checks. */
export interface KeyState {
  readonly description: string;
  /** Canonical: sorted, no repeats. */
  readonly permissions: readonly Permission[];
  readonly active: boolean;
  /**
   * Permissions the key holds that this version of scaleflex-keys does not know, sorted: kept on every change,
   * never removed, shown in the plan with a warning. Absent when there are none.
   */
  readonly unknownPermissions?: readonly string[];
}

/**
 * Why a key is deactivated: the manifest says `active: false`; no entry declares it (`unmanaged: deactivate`);
 * it is the newer of two exact twins that an interrupted race left behind (`duplicate`: renamed and retired);
 * it is a rotated-out key past its overlap deadline, its successor active (`rotated`); or its entry's `expires`
 * has come (`expired`).
 */
export type DeactivateReason = 'declared-inactive' | 'unmanaged' | 'duplicate' | 'rotated' | 'expired';

/** Identifies an existing live key for display and for apply: never a secret, only the API's masked preview. */
export interface ExistingKeyRef {
  readonly uuid: string;
  /** ISO 8601, as the API reported it. */
  readonly createdAt: string;
  /** The API's masked preview of the secret, e.g. `****a1b2`. */
  readonly secretPreview: string;
}

/**
 * Where a new secret will be delivered, as a plan shows it: placeholders expanded (but `{uuid}`, unknown before
 * the create, stays as written), never a secret. `file` paths as the manifest wrote them.
 */
export type Delivery = { readonly kind: 'exec'; readonly argv: readonly string[] } | { readonly kind: 'file'; readonly path: string };

/** A new key: `POST /keys` with `after`. */
export interface CreateChange {
  readonly kind: 'create';
  readonly after: KeyState;
  /** Where its secret will be delivered (manifest `deliver:`); absent when nowhere. */
  readonly deliveries?: readonly Delivery[];
  /**
   * The entry's former descriptions, sorted. Apply creates the key only if no live key has taken its description
   * or one of these since the plan (it would be matched, not created, by a new plan).
   */
  readonly formerDescriptions?: readonly string[];
}

/**
 * A rename and/or a permission change of an existing key in one `PATCH` (Terraform's one `~` block per key).
 * `before.active === after.active`: status changes are separate `activate`/`deactivate` changes, because they go
 * through the bulk status endpoint in a later phase.
 */
export interface UpdateChange extends ExistingKeyRef {
  readonly kind: 'update';
  /** The key as apply expects to find it right before this change. */
  readonly before: KeyState;
  readonly after: KeyState;
  /** `after.permissions` minus `before.permissions`, sorted. */
  readonly permissionsAdded: readonly Permission[];
  /** `before.permissions` minus `after.permissions`, sorted. */
  readonly permissionsRemoved: readonly Permission[];
}

/** An inactive key the manifest declares active (explicitly or by default). */
export interface ActivateChange extends ExistingKeyRef {
  readonly kind: 'activate';
  /** The key as apply expects to find it right before this change (after any `update` of the same key). */
  readonly before: KeyState;
  readonly after: KeyState;
}

/** An active key that the manifest declares `active: false`, or that no entry declares. */
export interface DeactivateChange extends ExistingKeyRef {
  readonly kind: 'deactivate';
  readonly reason: DeactivateReason;
  /** The key as apply expects to find it right before this change (after any `update` of the same key). */
  readonly before: KeyState;
  readonly after: KeyState;
}

/**
 * Rotation with overlap of an existing key, in this order: (1) rename it to its retirement description
 * `<description> (rotated YYYY-MM-DD, off after YYYY-MM-DD)` (`after`, still active), (2) create `successor` —
 * the same description and exactly the same permissions, active — and (3) deliver its secret. The retiring key
 * stays active until a plan after `offAfter` deactivates it (reason `rotated`). The live keys' descriptions are the
 * rotation's only state, so a run killed at any step resumes (see `src/reconcile/rotation.ts`).
 */
export interface RotateChange extends ExistingKeyRef {
  readonly kind: 'rotate';
  /** `due`: the key is older than its `rotate.every`; `on-demand`: the `rotate` command asked for it. */
  readonly trigger: 'due' | 'on-demand';
  /** The key as apply expects to find it right before this change. */
  readonly before: KeyState;
  /** The same key renamed to its retirement description, still active. */
  readonly after: KeyState;
  /** The key created in its place: `before`'s description and permissions, active. */
  readonly successor: KeyState;
  /** The last day (UTC, `YYYY-MM-DD`) the retiring key stays active. */
  readonly offAfter: string;
  /** Where the successor's secret will be delivered (manifest `deliver:`); absent when nowhere. */
  readonly deliveries?: readonly Delivery[];
}

export type Change = CreateChange | UpdateChange | ActivateChange | DeactivateChange | RotateChange;
export type ChangeKind = Change['kind'];
/** A change to a key that already exists (everything but `create`). */
export type ExistingKeyChange = UpdateChange | ActivateChange | DeactivateChange | RotateChange;

/**
 * The order changes are applied in: a replacement key exists before its predecessor goes dark. A rotation renames
 * and creates (its own two steps, in order), so it runs with creates and updates, before any status change.
 */
export const CHANGE_KIND_ORDER: readonly ChangeKind[] = Object.freeze(['create', 'rotate', 'update', 'activate', 'deactivate']);

/** One project's plan. Frozen; `changes` are sorted in apply order (kind, then description, then uuid). */
export interface ProjectPlan {
  /** The project token. */
  readonly project: string;
  /** The API base URL the plan was computed against (the resolved one, not only the manifest's). */
  readonly apiUrl: string;
  /** `sha256:<hex>` over the canonical live listing (see `liveFingerprint`). */
  readonly liveFingerprint: string;
  /** `sha256:<hex>` over the canonical desired project (see `desiredFingerprint`). */
  readonly desiredFingerprint: string;
  /** The uuid of the key the tool authenticated with when planning; protected by the self-lockout guard. */
  readonly selfUuid: string;
  readonly unmanaged: UnmanagedPolicy;
  /**
   * How many live keys there were, and how many of them active, when the plan was made: for people only. Apply
   * recomputes every guard from the listing it has just read.
   */
  readonly liveKeys: number;
  readonly liveActive: number;
  /**
   * Where the project's admin key comes from, as the manifest names it (a variable's name or a file's path, never a
   * value); absent when the manifest names none (then `SCALEFLEX_API_KEY_<TOKEN>`, `SCALEFLEX_API_KEY`).
   */
  readonly credentials?: CredentialsRef;
  /** Live keys matched by a `protected: true` entry, sorted: never deactivated, never stripped of access. */
  readonly protectedUuids: readonly string[];
  /**
   * Whether the planning key holds ACCESS_MANAGE. A plan made with a read-only key (`read`, the safe habit on pull
   * requests) cannot tell which admin key apply will run with; the renderers say so.
   */
  readonly planningKeyAccess: 'read' | 'manage';
  readonly changes: readonly Change[];
}

/** The manifest a plan was made from: `path` relative to the directory plan ran in. */
export interface PlanSource {
  readonly kind: 'yaml' | 'cdktf';
  readonly path: string;
}

/** The plan file format this version writes and reads (2: per-change preconditions, manifest binding). */
export const PLAN_FORMAT_VERSION = 2 as const;

/** The whole plan: projects sorted by token. Frozen. */
export interface Plan {
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  /** The manifest the plan was made from; `apply plan.json` re-reads it and refuses if it changed. */
  readonly source?: PlanSource;
  readonly projects: readonly ProjectPlan[];
}

/** One guard's refusal: which guard, the flag that would override it (`null`: nothing can), and a full message. */
export interface GuardViolation {
  readonly guard: 'self-lockout' | 'protected-key' | 'last-admin' | 'mass-deactivation' | 'mass-permission-removal';
  readonly project: string;
  readonly flag: '--force' | '--force-permission-removal' | null;
  readonly message: string;
}

/** Thresholds and overrides for `checkGuards`. */
export interface GuardOptions {
  /** `--force`: lets the mass-deactivation guard pass; never the self-lockout guard. */
  readonly force: boolean;
  /** `--max-deactivate-ratio`, default 0.3: the share of active keys a plan may deactivate. */
  readonly maxDeactivateRatio: number;
  /** Default 10: below this many active keys the ratios are not checked (small projects swing by nature). */
  readonly minActiveForRatio: number;
  /** `--max-permission-removal-ratio`, default 0.3: the share of active keys a plan may strip permissions from. */
  readonly maxPermissionRemovalRatio: number;
  /** `--force-permission-removal`: lets the mass-permission-removal guard pass. */
  readonly forcePermissionRemoval: boolean;
  /**
   * The uuid of the key applying now, when it may differ from the one that planned (a saved plan applied with
   * another admin key). Both are protected.
   */
  readonly selfUuid?: string;
}

/** Defaults for `GuardOptions` (octoDNS's 30% once there are 10 records). */
export const DEFAULT_GUARD_OPTIONS: GuardOptions = Object.freeze({
  force: false,
  maxDeactivateRatio: 0.3,
  minActiveForRatio: 10,
  maxPermissionRemovalRatio: 0.3,
  forcePermissionRemoval: false,
});

/**
 * Counts as shown in `Plan: 2 to create, 1 to change, 3 to deactivate.`: each key counted once, by what happens to
 * it in the end (a key renamed and then deactivated counts as a deactivation), like Terraform's one block per resource.
 */
export interface ChangeCounts {
  readonly create: number;
  /** Existing keys updated and/or activated, and not deactivated. */
  readonly change: number;
  /** Existing keys deactivated. */
  readonly deactivate: number;
}

/** Plans warn about rotations and expiries coming due this far ahead (14 days) unless `--warn-within` says otherwise. */
export const DEFAULT_WARN_WITHIN_MS = 14 * 86_400_000;

/**
 * A rotation or an expiry coming due within the warning window (`--warn-within`), for plans to warn about ahead.
 * `at` is the ISO date-time it comes due.
 */
export interface LifecycleNotice {
  readonly project: string;
  readonly description: string;
  readonly uuid?: string;
  readonly kind: 'rotation' | 'expiry';
  readonly at: string;
}
