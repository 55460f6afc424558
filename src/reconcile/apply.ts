/**
 * `applyProjectPlan`: carries out one project's reviewed plan through the narrow `KeysApi` seam.
 *
 * Order: creates and updates (bounded-parallel: they touch different keys), then activations, then deactivations
 * (bulk status calls in chunks of `bulkMax`), so a replacement key exists before its predecessor goes dark.
 * Before mutating an existing key, apply re-reads it and compares it with the plan's `before`: a key already in
 * the change's `after` state counts as done without a call; any other difference stops the project with
 * ChangedSincePlanError; before creating, it lists the project once and stops if a key with a
 * to-be-created description appeared meanwhile (another apply racing this one), since a second key of that name
 * would make every later plan ambiguous. On the first failure nothing new is started, in-flight calls
 * finish, and the result says what was done and what was not; planning and applying again converges.
 *
 * A created key's secret goes to `onSecret` and nowhere else: not into events, errors or the result.
 */
import { ChangedSincePlanError, GuardRefusedError, ScaleflexApiError } from '../errors';
import type { KeysApi, LiveKey, UpdateKeyInput } from '../model';
import { canonicalPermissions } from '../permissions';
import { secrets } from '../redact';
import { selfLockoutViolations } from './guards';
import type { ActivateChange, Change, CreateChange, DeactivateChange, ExistingKeyChange, KeyState, ProjectPlan } from '../model';

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
}

/** Runs `fn` over `items` with at most `limit` in flight; after `stopped()` turns true, starts nothing new. */
async function forEachBounded<T>(items: readonly T[], limit: number, stopped: () => boolean, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stopped()) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function differences(expected: KeyState, live: LiveKey): string[] {
  const diffs: string[] = [];
  if (live.description !== expected.description) diffs.push(`description is "${live.description}", the plan expected "${expected.description}"`);
  const perms = canonicalPermissions(live.permissions);
  if (perms.join(',') !== expected.permissions.join(',')) {
    diffs.push(`permissions are [${perms.join(', ')}], the plan expected [${expected.permissions.join(', ')}]`);
  }
  if (live.active !== expected.active) diffs.push(`it is ${live.active ? 'active' : 'inactive'}, the plan expected ${expected.active ? 'active' : 'inactive'}`);
  return diffs;
}

/**
 * Re-reads the key a change is about to mutate. Returns 'pending' when it is as the plan saw it, 'already' when it
 * already is as the change leaves it (another apply of the same plan got there first: nothing to do, and the end
 * state is the reviewed one); throws ChangedSincePlanError otherwise.
 */
async function ensureUnchanged(api: KeysApi, project: string, change: ExistingKeyChange): Promise<'pending' | 'already'> {
  const what = `project ${project}: key "${change.before.description}" (uuid ${change.uuid})`;
  let live: LiveKey;
  try {
    live = await api.get(change.uuid);
  } catch (e) {
    if (e instanceof ScaleflexApiError && e.status === 404) {
      throw new ChangedSincePlanError(`${what} no longer exists; it changed since the plan was made. Run plan again.`, { cause: e });
    }
    throw e;
  }
  const diffs = differences(change.before, live);
  if (diffs.length === 0) return 'pending';
  if (differences(change.after, live).length === 0) return 'already';
  throw new ChangedSincePlanError(`${what} changed since the plan was made: ${diffs.join('; ')}. Run plan again.`);
}

/**
 * Lists the project once and returns the first create whose description a live key now has, unless that key is
 * one the plan itself renames away from the description.
 */
async function findCreateConflict(
  api: KeysApi,
  project: ProjectPlan,
  creates: readonly CreateChange[],
): Promise<{ change: CreateChange; error: ChangedSincePlanError } | undefined> {
  const wanted = new Map(creates.map((c) => [c.after.description, c]));
  const renamedAway = new Set(
    project.changes.flatMap((c) => (c.kind === 'update' && c.before.description !== c.after.description ? [`${c.uuid}\n${c.before.description}`] : [])),
  );
  for await (const key of api.list()) {
    const change = wanted.get(key.description);
    if (!change || renamedAway.has(`${key.uuid}\n${key.description}`)) continue;
    return {
      change,
      error: new ChangedSincePlanError(
        `project ${project.project}: a key named "${key.description}" (uuid ${key.uuid}) appeared since the plan was made; ` +
          'creating another would duplicate it. Run plan again.',
      ),
    };
  }
  return undefined;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Applies `project.changes` (see the module comment for order, checks and failure handling).
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
  /** Changes that already had their event, done or failed. */
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
  const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

  // Before creating, make sure nobody created a key of the same name since the plan (e.g. another apply that
  // raced this one): creating it again would leave two keys that every later plan finds ambiguous.
  const creates = project.changes.filter((c): c is CreateChange => c.kind === 'create');
  if (creates.length > 0) {
    try {
      const conflict = await findCreateConflict(api, project, creates);
      if (conflict) fail(conflict.change, conflict.error);
    } catch (e) {
      fail(creates[0]!, asError(e));
    }
  }

  // Phase 1: creates and updates touch distinct keys, so they may run side by side.
  const individual = stopped() ? [] : project.changes.filter((c) => c.kind === 'create' || c.kind === 'update');
  await forEachBounded(individual, parallelism, stopped, async (change) => {
    try {
      if (change.kind === 'create') {
        const created = await api.create({
          description: change.after.description,
          permissions: change.after.permissions,
          active: change.after.active,
        });
        // The client registers it too; a fake or another KeysApi might not, and nothing may ever print it.
        secrets.add(created.secret);
        try {
          await opts.onSecret({ project: name, uuid: created.key.uuid, description: created.key.description, secret: created.secret });
        } catch (e) {
          throw new Error(
            `project ${name}: key "${change.after.description}" was created (uuid ${created.key.uuid}) but its secret could not be ` +
              `stored: ${asError(e).message.split(created.secret).join('[REDACTED]')}. Fetch it later with \`scaleflex-keys secrets pull\`.`,
            { cause: e },
          );
        }
        succeed(change, created.key.uuid);
      } else if (change.kind === 'update') {
        if ((await ensureUnchanged(api, name, change)) === 'already') {
          succeed(change, undefined, true);
          return;
        }
        const input: { -readonly [K in keyof UpdateKeyInput]: UpdateKeyInput[K] } = {};
        if (change.after.description !== change.before.description) input.description = change.after.description;
        if (change.permissionsAdded.length + change.permissionsRemoved.length > 0) input.permissions = change.after.permissions;
        await api.update(change.uuid, input);
        succeed(change);
      }
    } catch (e) {
      fail(change, asError(e));
    }
  });

  // Phases 2 and 3: status changes through the bulk endpoint, activations before deactivations.
  for (const kind of ['activate', 'deactivate'] as const) {
    const changes = project.changes.filter((c): c is ActivateChange | DeactivateChange => c.kind === kind);
    for (const batch of chunk(changes, bulkMax)) {
      if (stopped()) break;
      const already = new Set<Change>();
      await forEachBounded(batch, parallelism, stopped, async (change) => {
        try {
          if ((await ensureUnchanged(api, name, change)) === 'already') already.add(change);
        } catch (e) {
          fail(change, asError(e));
        }
      });
      if (stopped()) break;
      const pending = batch.filter((c) => !already.has(c));
      for (const change of batch) if (already.has(change)) succeed(change, undefined, true);
      if (pending.length === 0) continue;
      try {
        await api.setStatus(
          pending.map((c) => c.uuid),
          kind === 'activate',
        );
        for (const change of pending) succeed(change);
      } catch (e) {
        // The bulk call is all or nothing: the first change carries the failure, the others were not done.
        fail(pending[0]!, asError(e));
      }
    }
  }

  const doneSet = new Set(done);
  const notDone = project.changes.filter((c) => c !== failed?.change && !doneSet.has(c));
  for (const change of notDone) if (!finished.has(change)) opts.onEvent({ project: name, change, status: 'skipped' });
  return { done, ...(failed ? { failed } : {}), notDone };
}
