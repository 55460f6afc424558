/**
 * Which key, if any, an ambiguous `POST /keys` made: pure. After a create got no clear answer (reset,
 * timeout, 500/502/504), the client lists the project and passes every key here with the moment it first
 * saw it; a key is the one the attempt made if it has the same description, permission set and active
 * state, was first seen after the attempt began, and was created after the attempt began by the server's
 * clock (see `isAfterAttempt`). The client's own clock is never compared with `created_at`, so skew between
 * client and server does not matter.
 */
import type { CreateKeyInput, LiveKey } from '../model';
import { canonicalPermissions } from '../permissions';

/**
 * Slack on the server-time bound: `Date` has one-second resolution (truncated) and an API's servers may
 * differ by a little. It can only let in an identical key that someone else made in those two seconds and
 * that this client never saw, which is the key asked for anyway.
 */
export const CLOCK_SLACK_MS = 2000;

/** What the client knew when the attempt began. */
export interface AttemptStart {
  /** Keys first seen at or before this mark existed before the attempt. */
  readonly seenMark: number;
  /** The newest `created_at` seen before the attempt (ms), or -Infinity. */
  readonly newestCreatedAt: number;
  /** The server's time at the attempt's start (from the `Date` of earlier answers), when known. */
  readonly serverTime: number | undefined;
}

/** What makes two keys "the same" for adopting a create: description, permission set and active state. */
export function createIdentity(k: { description: string; permissions: readonly string[]; active?: boolean }): string {
  return JSON.stringify([k.description, canonicalPermissions(k.permissions), k.active ?? true]);
}

/** The earliest `created_at` (ms) a key made by the attempt can have. */
export function createdNotBefore(start: AttemptStart): number {
  return Math.max(start.newestCreatedAt, start.serverTime ?? Number.NEGATIVE_INFINITY) - CLOCK_SLACK_MS;
}

/**
 * The key the attempt made, or undefined. More than one candidate is possible only if a create that the
 * server was still processing when an earlier listing ran committed later; the oldest is taken (the API has
 * no delete, so the other stays, and the next plan shows it).
 */
export function findAdoptable(
  listed: readonly { key: LiveKey; firstSeen: number }[],
  wanted: CreateKeyInput,
  start: AttemptStart,
): LiveKey | undefined {
  const identity = createIdentity(wanted);
  const notBefore = createdNotBefore(start);
  const candidates = listed
    .filter(({ key, firstSeen }) => firstSeen > start.seenMark && createIdentity(key) === identity && Date.parse(key.createdAt) >= notBefore)
    .map(({ key }) => key);
  candidates.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.uuid.localeCompare(b.uuid));
  return candidates[0];
}
