/**
 * `scaleflex-keys rotate --project P --description D`: rotates one declared key now, planned and applied like any
 * change — the reconciler plans it (`planProject` with the entry named in `rotateNow`), the same guards and
 * confirmation as `apply`, and `apply`'s own runner (`applyAll`, `finish`) carries it out and routes the
 * successor's secret (`--secrets-out`, or the key's `deliver:`). Only that key's rotation is applied, nothing else
 * the manifest would change. A rotation killed part-way is resumed by running the command again (or by `apply`).
 *
 * `--rollback` undoes the key's latest rotation (`src/reconcile/rollback.ts`): run step by step, in order, each
 * step a single call, so that a killed rollback is finished by running it again.
 *
 * Refused, before anything changes (RotationRefusedError, exit 1): an entry pinned by `uuid`, the key the tool runs
 * with, and a key with no `deliver:` without `--secrets-out` (the new secret must land somewhere).
 */
import { RotationRefusedError, UsageError } from '../../errors';
import type { Change, KeySpec, LiveKey, ProjectPlan, ProjectSpec } from '../../model';
import { guardOptions } from '../arguments/common';
import type { RotateFlags } from '../arguments/rotate';
import { confirmApply } from '../confirm';
import { keysToDeliver, openDeliverer } from '../delivery';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import { type Io, useColor } from '../io';
import { eventLine, projectErrorLines } from '../output';
import { ApiSession, listAll, MANAGE_FOR_APPLY, type OpenedApi, trustFor } from '../session';
import { applyAll, finish, openSecretSink } from '../apply-runner';
import { buildPlan, checkGuards, checkPreconditions, matchEntries, planProject, rotationBlocker } from '../../reconcile';
import { renderText } from '../../render';
import { planRollback } from '../../reconcile/rollback';

const quote = (s: string): string => JSON.stringify(s);

/** The declared entry named by `--description`, or a usage error listing what the project declares. */
function entryOf(spec: ProjectSpec, description: string): KeySpec {
  const entry = spec.keys.find((k) => k.description === description);
  if (entry) return entry;
  const known = spec.keys.map((k) => quote(k.description));
  throw new UsageError(
    `project ${spec.token} declares no key ${quote(description)}${known.length ? ` (it declares ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ''}`,
  );
}

export async function run(flags: RotateFlags, io: Io): Promise<number> {
  const loaded = loadProjects(flags, io, trustFor(flags, io));
  const spec = loaded.projects[0]!;
  const entry = entryOf(spec, flags.description);
  const what = `key ${quote(entry.description)} of project ${spec.token}`;
  if (entry.uuid !== undefined) {
    throw new RotationRefusedError(`refusing to rotate ${what}: the entry pins uuid ${entry.uuid}, and a successor has another uuid; nothing was changed`, {
      hint: 'remove the `uuid:` pin (match by description) to rotate this key',
    });
  }
  if (!flags.rollback && !entry.deliver?.length && flags.secretsOut === undefined) {
    throw new RotationRefusedError(`refusing to rotate ${what}: the new secret must land somewhere, and the key declares no \`deliver:\`; nothing was changed`, {
      hint: 'give --secrets-out FILE, or add `deliver:` to the key (or its project)',
    });
  }
  const sink = flags.rollback ? undefined : await openSecretSink(flags, io);
  const session = await ApiSession.start(io, flags, [spec.token], loaded.baseDir);
  try {
    const target = session.resolve(spec);
    const api = await session.open(spec, target, MANAGE_FOR_APPLY);
    const live = await listAll(api);
    const now = flags.now ?? new Date();
    const m = matchEntries(spec.keys, live);
    const current = m.matched.get(entry);
    if (current && current.uuid === api.selfKey.uuid) {
      throw new RotationRefusedError(`refusing to ${flags.rollback ? 'roll back' : 'rotate'} ${what} (uuid ${current.uuid}): it is the key scaleflex-keys runs with; nothing was changed`, {
        hint: 'run the rotation with another admin key',
      });
    }
    const full = planProject({ desired: spec, live, selfKey: api.selfKey, apiUrl: target.apiUrl, now, rotateNow: new Set([entry.description]) });
    if (flags.rollback) return await rollback(flags, io, { spec, entry, api, live, full, now });

    // Only this key's rotation: the rotate change, or — resuming a run killed after the rename — its successor's create.
    const changes = full.changes.filter(
      (c) => (c.kind === 'rotate' && c.before.description === entry.description) || (c.kind === 'create' && c.after.description === entry.description),
    );
    if (changes.length === 0) {
      const inProgress = m.retiring.find((r) => r.entry === entry && r.key.active);
      if (current && inProgress) {
        io.out(
          `${what} is already being rotated: the old key ${quote(inProgress.key.description)} (uuid ${inProgress.key.uuid}) stays active until ` +
            `${inProgress.name.offAfter}, next to uuid ${current.uuid}. Nothing to do (roll it back with --rollback).\n`,
        );
        return EXIT.OK;
      }
      const why = current ? rotationBlocker(entry, current, api.selfKey) : undefined;
      throw new RotationRefusedError(`refusing to rotate ${what}: ${why ?? 'no live key to rotate'}; nothing was changed`, {
        hint: why?.startsWith('it differs') ? 'run apply first, so that the key is what the manifest declares' : 'run plan to see the project',
      });
    }
    const plan: ProjectPlan = { ...full, changes };
    const violations = checkGuards(plan, guardOptions(flags, api.selfKey.uuid), live);
    io.out(renderText(buildPlan([plan]), { color: useColor(io), violations }));
    if (violations.length > 0) {
      io.err('Nothing was rotated: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    const trust = trustFor(flags, io);
    const specs = new Map([[spec.token, spec]]);
    const deliverer = openDeliverer(io, flags, trust, specs, loaded.baseDir);
    const rotation = buildPlan([plan]);
    await deliverer?.preflight(keysToDeliver(rotation, specs));
    await confirmApply(io, flags.autoApprove);
    const summary = await applyAll([{ plan, api, live }], flags, io, sink, flags.autoApprove, deliverer);
    return finish(summary, flags, io, sink, loaded.source);
  } finally {
    await session.close();
  }
}

interface RollbackInput {
  readonly spec: ProjectSpec;
  readonly entry: KeySpec;
  readonly api: OpenedApi;
  readonly live: readonly LiveKey[];
  readonly full: ProjectPlan;
  readonly now: Date;
}

/** `--rollback`: shows the steps, checks the guards, asks, then runs them one at a time in their order. */
async function rollback(flags: RotateFlags, io: Io, { spec, entry, api, live, full, now }: RollbackInput): Promise<number> {
  const rb = planRollback(entry, spec.keys, live, now);
  if ('nothing' in rb) throw new RotationRefusedError(`project ${spec.token}: ${rb.nothing}; nothing was changed`);
  const plan: ProjectPlan = { ...full, changes: rb.changes };
  const violations = checkGuards(plan, guardOptions(flags, api.selfKey.uuid), live);
  io.out(renderText(buildPlan([plan]), { color: useColor(io), violations }));
  if (violations.length > 0) {
    io.err('Nothing was rolled back: a guard refused (see above).\n');
    return EXIT.GUARD;
  }
  await confirmApply(io, flags.autoApprove);
  // Time may have passed at the prompt: every step must still find its key as shown.
  const fresh = flags.autoApprove ? live : await listAll(api);
  const checked = checkPreconditions(plan, fresh);
  if (checked.failure) throw new RotationRefusedError(`project ${spec.token}: a key changed since the rollback was shown; nothing was changed. Run it again.`);
  let done = 0;
  for (const change of rb.changes as Change[]) {
    if (checked.already.has(change)) continue;
    try {
      if (change.kind === 'update') await api.update(change.uuid, { description: change.after.description });
      else if (change.kind === 'activate' || change.kind === 'deactivate') await api.setStatus([change.uuid], change.kind === 'activate');
      done++;
      const line = eventLine({ project: spec.token, change, status: 'done' });
      if (line) io.out(`${line}\n`);
    } catch (error) {
      io.err(projectErrorLines(spec.token, error));
      io.err(`project ${spec.token}: the rollback stopped after ${done} of ${rb.changes.length} steps; run it again to finish\n`);
      return EXIT.ERROR;
    }
  }
  io.out(`\nRolled back the rotation of ${quote(entry.description)} in project ${spec.token}.\n`);
  return EXIT.OK;
}
