/**
 * Rotation with overlap and expiry, without a state file: the pure rules `planProject` (diff.ts) and the `rotate`
 * command use. The state of a rotation lives in the live keys' descriptions: the key being rotated out is renamed
 * `<description> (rotated YYYY-MM-DD, off after YYYY-MM-DD)` before its successor is created, so whatever point a
 * run is killed at, the next plan reads where it stopped:
 *
 *   | live keys of entry "D"                      | next plan                                     |
 *   |---------------------------------------------|-----------------------------------------------|
 *   | "D" (old enough)                            | rotate: rename, then create the successor     |
 *   | "D (rotated …, off after X)" only           | create the successor (the rename was done)    |
 *   | "D (rotated …)" + "D", before or on X       | nothing: the overlap                          |
 *   | "D (rotated …)" + active "D", after X       | deactivate the retiring key (reason rotated)  |
 *
 * The retiring key is never deactivated unless its successor exists and is active. Dates are UTC days; a key
 * rotated "off after X" is deactivated by the first plan on X+1 or later. Expiry: from an entry's `expires` on,
 * its keys are deactivated (reason `expired`) and it is never created.
 */
import { MAX_DESCRIPTION_LENGTH } from '../contract';
import type { Diagnostic } from '../errors';
import type { DesiredState, KeySpec, LifecycleNotice, LiveKey, ProjectSpec } from '../model';
import { utcDay } from '../utc-time';

export { parseUtcInstant as parseExpires, utcDay } from '../utc-time';

const RETIRING = /^(.*) \(rotated (\d{4}-\d{2}-\d{2}), off after (\d{4}-\d{2}-\d{2})\)$/su;

/** A retiring key's description, parsed. */
export interface RetiringName {
  /** The description of the entry it was rotated out of. */
  readonly description: string;
  readonly rotatedOn: string;
  readonly offAfter: string;
}

/** `D (rotated 2026-12-01, off after 2026-12-08)` -> its parts; undefined for any other description. */
export function parseRetiring(description: string): RetiringName | undefined {
  const m = RETIRING.exec(description);
  if (!m) return undefined;
  return { description: m[1]!, rotatedOn: m[2]!, offAfter: m[3]! };
}

/** The retirement description of a key with `description`, rotated on `rotatedOn`, off after `offAfter`. */
export function retiringDescription(description: string, rotatedOn: string, offAfter: string): string {
  return `${description} (rotated ${rotatedOn}, off after ${offAfter})`;
}

/** Whether `description` leaves room for its retirement suffix within the API's description limit. */
export function fitsRetirement(description: string): boolean {
  return [...retiringDescription(description, '0000-00-00', '0000-00-00')].length <= MAX_DESCRIPTION_LENGTH;
}

/** Whether a retiring key is past its deadline at `now`: `now`'s UTC day is after `offAfter`. */
export function pastDeadline(offAfter: string, now: Date): boolean {
  return utcDay(now) > offAfter;
}

/** When `key` comes due for rotation under `entry.rotate` (ISO), or undefined when it never does. */
export function rotationDueAt(entry: KeySpec, key: LiveKey): Date | undefined {
  if (!entry.rotate) return undefined;
  const created = Date.parse(key.createdAt);
  return Number.isFinite(created) ? new Date(created + entry.rotate.everyMs) : undefined;
}

/** Whether `entry`'s `expires` has come at `now`. */
export function isExpired(entry: KeySpec, now: Date): boolean {
  return entry.expires !== undefined && Date.parse(entry.expires) <= now.getTime();
}

/** The retirement of a key rotated at `now` under `overlapMs`: its new description and deadline. */
export function retirementAt(description: string, now: Date, overlapMs: number): { description: string; offAfter: string } {
  const offAfter = utcDay(new Date(now.getTime() + overlapMs));
  return { description: retiringDescription(description, utcDay(now), offAfter), offAfter };
}

/**
 * Rotations and expiries of `project` coming due after `now` and within `withinMs`, sorted by when: what plans
 * warn about ahead. `matched` pairs entries with their current live keys (from `matchEntries`).
 */
export function lifecycleNotices(project: ProjectSpec, matched: ReadonlyMap<KeySpec, LiveKey>, now: Date, withinMs: number): LifecycleNotice[] {
  const until = now.getTime() + withinMs;
  const notices: LifecycleNotice[] = [];
  for (const entry of project.keys) {
    const key = matched.get(entry);
    if (entry.expires !== undefined && entry.active) {
      const at = Date.parse(entry.expires);
      if (at > now.getTime() && at <= until) {
        notices.push({ project: project.token, description: entry.description, ...(key ? { uuid: key.uuid } : {}), kind: 'expiry', at: entry.expires });
      }
    }
    if (key && key.active && entry.active) {
      const due = rotationDueAt(entry, key);
      if (due && due.getTime() > now.getTime() && due.getTime() <= until) {
        notices.push({ project: project.token, description: entry.description, uuid: key.uuid, kind: 'rotation', at: due.toISOString() });
      }
    }
  }
  return notices.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.description < b.description ? -1 : 1));
}

/** A notice as one line of text: `rotation of "CI uploader" in project demo comes due 2026-12-01T00:00:00.000Z`. */
export function noticeText(n: LifecycleNotice): string {
  const what = n.kind === 'rotation' ? 'rotation' : 'expiry';
  return `project ${n.project}: ${what} of ${JSON.stringify(n.description)}${n.uuid ? ` (uuid ${n.uuid})` : ''} comes due ${n.at}`;
}

/**
 * `validate`'s warnings for entries declared active whose `expires` has already passed at `now`: legitimate (a way
 * to switch a key off), so a warning at the entry, not an error.
 */
export function pastExpiryWarnings(state: DesiredState, now: Date): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of state.projects) {
    for (const k of p.keys) {
      if (!k.active || !isExpired(k, now) || !k.source) continue;
      out.push({
        file: k.source.file,
        line: k.source.line,
        column: k.source.column,
        severity: 'warning',
        message: `key ${JSON.stringify(k.description)} of project ${JSON.stringify(p.token)} expired at ${k.expires}: the next plan deactivates it (reason expired)`,
        path: '',
        ...(k.source.construct !== undefined ? { construct: k.source.construct } : {}),
      });
    }
  }
  return out;
}
