/**
 * `applyProjectPlan`: carries out one project's reviewed plan through the narrow `KeysApi` seam, in three phases.
 *
 * 1. Preconditions, from one listing of the project (the caller's fresh one, or listed here): every existing key a
 *    change touches must still be as the plan's `before` says — or already as its `after` says (another apply of
 *    the same plan got there: counted done, no call) — and no live key may have taken the description (or a former
 *    description) of a key to create. Anything else stops the project before any mutation (ChangedSincePlanError).
 *    No per-key re-read: the listing is kept current with this run's own writes.
 * 2. Mutations: creates, rotations and updates (bounded-parallel: they touch different keys), then activations, then
 *    deactivations through the bulk status endpoint in chunks of `bulkMax`, chunks in parallel within the same
 *    bound — so a replacement key exists before its predecessor goes dark. On the first failure nothing new is
 *    started, in-flight calls finish, and the result says what was done and what was not; planning and applying
 *    again converges.
 * 3. Raced creates: the API has no conditional create, so after creating, the project is listed again and any key
 *    this run created whose twin another run created at the same moment is retired (see `raced-creates.ts`); the
 *    result says what was retired, and the kept twin's secret goes to `onSecret` in place of the retired one's.
 *
 * A rotation renames the key to its retirement description first and creates the successor second (never the
 * other way round: a successor next to an unrenamed key would be its twin); a rotation whose rename is already done
 * (a killed run) only creates, and one whose successor exists too is done.
 *
 * A created key's secret goes to `onSecret` and nowhere else: not into events, errors or the result.
 */
import { runBounded } from '../bounded';
import { canonicalUuid, sameList } from '../compare';
import { ChangedSincePlanError, GuardRefusedError } from '../errors';
import type { ActivateChange, Change, CreatedKey, CreateChange, DeactivateChange, ExistingKeyChange, KeysApi, KeyState, LiveKey, ProjectPlan, RotateChange, UpdateKeyInput } from '../model';
import { canonicalPermissions } from '../permissions';
import { secrets } from '../redact';
import { stateOf } from './diff';
import { selfLockoutViolations } from './guards';
import { type RetiredDuplicate, retireRacedDuplicates } from './raced-creates';

/** One change's outcome, reported as it happens (never carries a secret). */
export interface ApplyEvent {
  readonly project: string;
  readonly change: Change;
  readonly status: 'done' | 'failed' | 'skipped';
  readonly error?: Error;
  /** For a `create` that succeeded: the new key's uuid. */
  readonly uuid?: string;
  /** The key already was as the change leaves it (e.g. a racing apply of the same plan), so no call was made. */
  readonly alreadyDone?: boolean;
}

export interface ApplyOptions {
  /** The API's bulk status maximum (100 for Scaleflex). */
  readonly bulkMax: number;
  /** How many calls may be in flight at once within this project. */
  readonly parallelism: number;
  /** A fresh listing of the project to check preconditions against; listed here when absent. */
  readonly live?: readonly LiveKey[];
  onEvent(e: ApplyEvent): void;
  /** The only place a created key's secret goes. Awaited before the create counts as done. */
  onSecret(created: { project: string; uuid: string; description: string; secret: string }): Promise<void> | void;
}

export interface ApplyResult {
  /** Changes carried out, in the order they completed. */
  readonly done: Change[];
  /** The first failure, which stopped the project. */
  readonly failed?: { change: Change; error: Error };
  /** Changes not carried out (not started, or failed after the first failure), in plan order. */
  readonly notDone: Change[];
  /** Keys this run created and then retired because a racing run created their twin first. */
  readonly retired: RetiredDuplicate[];
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

function sameState(a: KeyState, b: KeyState): boolean {
  return (
    a.description === b.description &&
    a.active === b.active &&
    sameList(a.permissions, b.permissions) &&
    sameList(a.unknownPermissions ?? [], b.unknownPermissions ?? [])
  );
}

/** How a key moved since the plan, in words: `permissions changed since the plan: +FILE_DELETE`. */
export function howItMoved(expected: KeyState, now: KeyState): string {
  const parts: string[] = [];
  if (now.description !== expected.description) parts.push(`description changed since the plan: ${JSON.stringify(expected.description)} -> ${JSON.stringify(now.description)}`);
  const had = new Set(expected.permissions);
  const has = new Set(now.permissions);
  const diff = [...now.permissions.filter((p) => !had.has(p)).map((p) => `+${p}`), ...expected.permissions.filter((p) => !has.has(p)).map((p) => `-${p}`)];
  if (diff.length) parts.push(`permissions changed since the plan: ${diff.join(' ')}`);
  if (now.active !== expected.active) parts.push(`${now.active ? 'activated' : 'deactivated'} since the plan`);
  if (!sameList(expected.unknownPermissions ?? [], now.unknownPermissions ?? [])) parts.push('its other permissions changed since the plan');
  return parts.join('; ');
}

/** Why a change's precondition failed: its key is gone, moved, or a key took the name of a key to create. */
export type PreconditionFailure =
  | { readonly change: ExistingKeyChange; readonly why: 'gone' }
  | { readonly change: ExistingKeyChange; readonly why: 'moved'; readonly now: KeyState }
  | { readonly change: CreateChange | RotateChange; readonly why: 'taken'; readonly by: LiveKey };

/**
 * Checks every change against `live`: returns the changes already done, the rotations whose rename is done but
 * whose successor is not (`renamed`), or the first precondition that failed. Pure; the saved-plan check uses it too.
 */
export function checkPreconditions(
  project: ProjectPlan,
  live: readonly LiveKey[],
): { already: Set<Change>; renamed: Set<RotateChange>; failure?: PreconditionFailure } {
  const renamed = new Set<RotateChange>();
  const byUuid = new Map(live.map((k) => [canonicalUuid(k.uuid), k]));
  const already = new Set<Change>();
  const perKey = new Map<string, ExistingKeyChange[]>();
  for (const c of project.changes) {
    if (c.kind === 'create') continue;
    const list = perKey.get(c.uuid) ?? [];
    list.push(c);
    perKey.set(c.uuid, list);
  }
  for (const [uuid, changes] of perKey) {
    const first = changes[0]!;
    const key = byUuid.get(canonicalUuid(uuid));
    if (!key) return { already, renamed, failure: { change: first, why: 'gone' } };
    const now = stateOf(key);
    // The key may be as the plan saw it, or already past some (or all) of its changes.
    const at = [first.before, ...changes.map((c) => c.after)].findIndex((s) => sameState(s, now));
    if (at < 0) return { already, renamed, failure: { change: first, why: 'moved', now } };
    for (const c of changes.slice(0, at)) already.add(c);
  }
  const renamedAway = new Set(
    project.changes.flatMap((c) => (c.kind === 'update' && c.before.description !== c.after.description ? [`${canonicalUuid(c.uuid)}\n${c.before.description}`] : [])),
  );
  const taken = new Map<string, LiveKey>();
  for (const k of live) if (!renamedAway.has(`${canonicalUuid(k.uuid)}\n${k.description}`) && !taken.has(k.description)) taken.set(k.description, k);
  for (const c of project.changes) {
    if (c.kind !== 'create') continue;
    for (const d of [c.after.description, ...(c.formerDescriptions ?? [])]) {
      const by = taken.get(d);
      if (by) return { already, renamed, failure: { change: c, why: 'taken', by } };
    }
  }
  for (const c of project.changes) {
    if (c.kind !== 'rotate') continue;
    // The successor takes the key's own description: any other key holding it is the successor (renamed: done) or
    // a key that appeared since the plan (not renamed: rotating would make twins).
    const successor = live.find((k) => canonicalUuid(k.uuid) !== canonicalUuid(c.uuid) && k.description === c.successor.description);
    if (already.has(c)) {
      if (!successor) {
        already.delete(c);
        renamed.add(c);
      }
    } else if (successor) return { already, renamed, failure: { change: c, why: 'taken', by: successor } };
  }
  return { already, renamed };
}

/** What the live key differs in from what the plan expected, in words. */
function differences(expected: KeyState, now: KeyState): string[] {
  const diffs: string[] = [];
  if (now.description !== expected.description) diffs.push(`description is "${now.description}", the plan expected "${expected.description}"`);
  if (now.permissions.join(',') !== expected.permissions.join(',')) {
    diffs.push(`permissions are [${now.permissions.join(', ')}], the plan expected [${expected.permissions.join(', ')}]`);
  }
  if (now.active !== expected.active) diffs.push(`it is ${now.active ? 'active' : 'inactive'}, the plan expected ${expected.active ? 'active' : 'inactive'}`);
  if (diffs.length === 0) diffs.push('its other permissions changed');
  return diffs;
}

/** The ChangedSincePlanError apply stops a project with. */
function preconditionError(project: string, f: PreconditionFailure): ChangedSincePlanError {
  if (f.why === 'taken' && f.change.kind === 'rotate') {
    return new ChangedSincePlanError(
      `project ${project}: key "${f.change.before.description}" (uuid ${f.change.uuid}) was to be rotated, but another key with its description ` +
        `(uuid ${f.by.uuid}) appeared since the plan; rotating would leave two. Run plan again.`,
    );
  }
  if (f.why === 'taken') {
    return new ChangedSincePlanError(
      `project ${project}: a key named "${f.by.description}" (uuid ${f.by.uuid}) appeared since the plan was made; ` + 'creating another would duplicate it. Run plan again.',
    );
  }
  const what = `project ${project}: key "${f.change.before.description}" (uuid ${f.change.uuid})`;
  if (f.why === 'gone') return new ChangedSincePlanError(`${what} no longer exists; it changed since the plan was made. Run plan again.`);
  return new ChangedSincePlanError(`${what} changed since the plan was made: ${differences(f.change.before, f.now).join('; ')}. Run plan again.`);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function listAll(api: KeysApi): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const k of api.list()) keys.push(k);
  return keys;
}

/** The PATCH body of an update: only what changes; unknown permissions are sent back as they are. */
function updateInput(change: Extract<Change, { kind: 'update' }>): UpdateKeyInput {
  const input: { -readonly [K in keyof UpdateKeyInput]: UpdateKeyInput[K] } = {};
  if (change.after.description !== change.before.description) input.description = change.after.description;
  if (change.permissionsAdded.length + change.permissionsRemoved.length > 0) {
    input.permissions = canonicalPermissions([...change.after.permissions, ...(change.after.unknownPermissions ?? [])]) as UpdateKeyInput['permissions'];
  }
  return input;
}

/**
 * Applies `project.changes` (see the module comment for the phases, checks and failure handling).
 * @throws GuardRefusedError before doing anything if the plan would lock the planning key out (defence in depth:
 *   the CLI runs `checkGuards` first).
 */
export async function applyProjectPlan(api: KeysApi, project: ProjectPlan, opts: ApplyOptions): Promise<ApplyResult> {
  const lockout = selfLockoutViolations(project);
  if (lockout.length) throw new GuardRefusedError(lockout.map((v) => v.message).join('\n'));

  const name = project.project;
  const parallelism = Math.max(1, Math.floor(opts.parallelism) || 1);
  const bulkMax = Math.max(1, Math.floor(opts.bulkMax) || 1);
  const done: Change[] = [];
  const finished = new Set<Change>();
  let failed: { change: Change; error: Error } | undefined;
  const stopped = (): boolean => failed !== undefined;
  const succeed = (change: Change, uuid?: string, alreadyDone = false): void => {
    done.push(change);
    finished.add(change);
    opts.onEvent({ project: name, change, status: 'done', ...(uuid ? { uuid } : {}), ...(alreadyDone ? { alreadyDone } : {}) });
  };
  const fail = (change: Change, error: Error): void => {
    failed ??= { change, error };
    finished.add(change);
    opts.onEvent({ project: name, change, status: 'failed', error });
  };

  // Phase 1: preconditions.
  let live: readonly LiveKey[] = [];
  let already = new Set<Change>();
  let checkedRenamed = new Set<RotateChange>();
  try {
    live = opts.live ?? (await listAll(api));
    const checked = checkPreconditions(project, live);
    already = checked.already;
    checkedRenamed = checked.renamed;
    if (checked.failure) fail(checked.failure.change, preconditionError(name, checked.failure));
  } catch (e) {
    if (project.changes[0]) fail(project.changes[0], asError(e));
  }

  // Phase 2: creates, rotations and updates touch distinct keys, so they may run side by side.
  const created: { uuid: string; description: string }[] = [];
  /** Hands a new key's secret to `onSecret`; a failure names the key and never the secret. */
  const deliver = async (made: CreatedKey, description: string): Promise<void> => {
    // The client registers it too; a fake or another KeysApi might not, and nothing may ever print it.
    secrets.add(made.secret);
    try {
      await opts.onSecret({ project: name, uuid: made.key.uuid, description: made.key.description, secret: made.secret });
    } catch (e) {
      throw new Error(
        `project ${name}: key "${description}" was created (uuid ${made.key.uuid}) but its secret could not be ` +
          `stored: ${asError(e).message.split(made.secret).join('[REDACTED]')}. Fetch it later with \`scaleflex-keys secrets pull\`.`,
        { cause: e },
      );
    }
    created.push({ uuid: made.key.uuid, description });
  };
  const individual = stopped() ? [] : project.changes.filter((c) => c.kind === 'create' || c.kind === 'update' || c.kind === 'rotate');
  await runBounded(
    individual,
    parallelism,
    async (change) => {
      try {
        if (already.has(change)) return succeed(change, undefined, true);
        if (change.kind === 'create') {
          const made = await api.create({ description: change.after.description, permissions: change.after.permissions, active: change.after.active });
          await deliver(made, change.after.description);
          succeed(change, made.key.uuid);
        } else if (change.kind === 'rotate') {
          // Rename first: killed between the two steps, the next plan sees a retiring key and no successor, and creates it.
          if (!checkedRenamed.has(change)) await api.update(change.uuid, { description: change.after.description });
          const s = change.successor;
          const made = await api.create({ description: s.description, permissions: s.permissions, active: s.active });
          await deliver(made, s.description);
          succeed(change, made.key.uuid);
        } else if (change.kind === 'update') {
          await api.update(change.uuid, updateInput(change));
          succeed(change);
        }
      } catch (e) {
        fail(change, asError(e));
      }
    },
    stopped,
  );

  // Phase 2, continued: status changes through the bulk endpoint, activations before deactivations.
  for (const kind of ['activate', 'deactivate'] as const) {
    if (stopped()) break;
    const changes = project.changes.filter((c): c is ActivateChange | DeactivateChange => c.kind === kind);
    for (const c of changes) if (already.has(c)) succeed(c, undefined, true);
    const pending = changes.filter((c) => !already.has(c));
    await runBounded(
      chunk(pending, bulkMax),
      parallelism,
      async (batch) => {
        try {
          await api.setStatus(
            batch.map((c) => c.uuid),
            kind === 'activate',
          );
          for (const change of batch) succeed(change);
        } catch (e) {
          // The bulk call is all or nothing: the first change carries the failure, the others were not done.
          fail(batch[0]!, asError(e));
        }
      },
      stopped,
    );
  }

  // Phase 3: twins another run created at the same moment as this run's creates.
  let retired: RetiredDuplicate[] = [];
  if (created.length > 0) {
    try {
      retired = await retireRacedDuplicates(api, created, new Set(live.map((k) => k.uuid)));
      for (const r of retired) {
        await opts.onSecret({ project: name, uuid: r.keptUuid, description: r.description, secret: await api.getSecret(r.keptUuid) });
      }
    } catch (e) {
      if (!failed) failed = { change: project.changes.find((c) => c.kind === 'create')!, error: asError(e) };
    }
  }

  const doneSet = new Set(done);
  const notDone = project.changes.filter((c) => c !== failed?.change && !doneSet.has(c));
  for (const change of notDone) if (!finished.has(change)) opts.onEvent({ project: name, change, status: 'skipped' });
  return { done, ...(failed ? { failed } : {}), notDone, retired };
}

export type { CreateChange };
