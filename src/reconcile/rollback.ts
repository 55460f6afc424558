/**
 * `rotate --rollback`: the steps that undo a rotation (AWS's recovery step) — the retiring key reactivated and given
 * its description back, the successor renamed `<description> (rolled back YYYY-MM-DD)` and deactivated. Pure: it
 * reads the live keys and returns the changes, in the order they must run:
 *
 *   1. activate the retiring key (if the overlap ended and it was switched off): two working keys;
 *   2. rename the successor out of the way (still active): the description is free;
 *   3. rename the retiring key back to the entry's description;
 *   4. deactivate the successor.
 *
 * Never two keys with one description, never no working key. Each step is recognised from the live keys, so a
 * rollback killed part-way is finished by running it again.
 */
import type { Change, KeySpec, KeyState, LiveKey } from '../model';
import { stateOf } from './diff';
import { matchEntries } from './match';
import { utcDay } from './rotation';

const ROLLED_BACK = /^(.*) \(rolled back \d{4}-\d{2}-\d{2}\)$/su;

/** The steps of a rollback, or why there is nothing to roll back. */
export type RollbackPlan = { readonly changes: readonly Change[] } | { readonly nothing: string };

function refOf(k: LiveKey) {
  return { uuid: k.uuid, createdAt: k.createdAt, secretPreview: k.secretPreview };
}

function rename(k: LiveKey, before: KeyState, description: string): Change {
  return { kind: 'update', ...refOf(k), before, after: { ...before, description }, permissionsAdded: [], permissionsRemoved: [] };
}

/** The rollback of `entry`'s latest rotation against `live`, as of `now` (the date in the successor's new name). */
export function planRollback(entry: KeySpec, entries: readonly KeySpec[], live: readonly LiveKey[], now: Date): RollbackPlan {
  const m = matchEntries(entries, live);
  const current = m.matched.get(entry);
  // The latest rotation of the entry: the retiring key rotated last (then the newest).
  const retiring = m.retiring
    .filter((r) => r.entry === entry)
    .sort((a, b) => (a.name.rotatedOn < b.name.rotatedOn ? 1 : a.name.rotatedOn > b.name.rotatedOn ? -1 : a.key.createdAt < b.key.createdAt ? 1 : -1))[0];
  const rolledBack = live.filter((k) => k.active && ROLLED_BACK.exec(k.description)?.[1] === entry.description);
  const changes: Change[] = [];

  if (retiring) {
    const r = retiring.key;
    let rState = stateOf(r);
    if (!r.active) {
      changes.push({ kind: 'activate', ...refOf(r), before: rState, after: { ...rState, active: true } });
      rState = { ...rState, active: true };
    }
    // The successor: the current key (step 2 not done yet), or an active rolled-back key (killed after step 2).
    const successor = current ?? rolledBack[0];
    let sState = successor ? stateOf(successor) : undefined;
    if (successor && sState && current) {
      const renamed = rename(successor, sState, `${entry.description} (rolled back ${utcDay(now)})`);
      changes.push(renamed);
      sState = renamed.after;
    }
    changes.push(rename(r, rState, entry.description));
    if (successor && sState?.active) changes.push({ kind: 'deactivate', reason: 'declared-inactive', ...refOf(successor), before: sState, after: { ...sState, active: false } });
    return { changes };
  }
  // Killed after step 3: the entry's key is the restored one; the successor still works.
  if (current && rolledBack.length > 0) {
    return {
      changes: rolledBack.map((s): Change => {
        const before = stateOf(s);
        return { kind: 'deactivate', reason: 'declared-inactive', ...refOf(s), before, after: { ...before, active: false } };
      }),
    };
  }
  return { nothing: `no key of ${JSON.stringify(entry.description)} is being rotated out (no "${entry.description} (rotated …, off after …)" key): nothing to roll back` };
}
