/**
 * Fingerprints of the live listing and of the desired project: what a saved plan remembers so that apply can
 * refuse when live keys moved since the plan was made (octoDNS's checksum, Terraform's stale plans).
 *
 * Both are `sha256:<hex>` over a canonical JSON form, so they do not depend on the API's page order, on the
 * order permissions were listed, or on anything the reconciler does not manage (created_at, secret previews).
 */
import { createHash } from 'node:crypto';
import type { LiveKey, ProjectSpec } from '../model';
import { canonicalPermissions } from '../permissions';
import { byString } from '../compare';

function sha256(value: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
}

/**
 * Fingerprint of a live listing: keys sorted by uuid, each as `[uuid, description, sorted permissions, active]`.
 * One native JSON.stringify of the rows measured faster than hashing them row by row (100,000 keys: ~0.3 s
 * against ~0.45 s under load), so the whole text is built once; it is computed only when read (see below).
 */
export function liveFingerprint(live: readonly LiveKey[]): string {
  const canonical = [...live]
    .sort((a, b) => byString(a.uuid, b.uuid))
    .map((k) => [k.uuid, k.description, canonicalPermissions(k.permissions), k.active]);
  return sha256(canonical);
}

/**
 * Fingerprint of a desired project: its token, unmanaged policy and entries (sorted by description), each with
 * what matching and diffing read — description, sorted permissions, active, sorted former descriptions, uuid pin,
 * rotation and expiry — and where its secret is delivered (a saved plan must not send a new secret anywhere the
 * review did not see).
 * Where an entry was declared (file, line) is left out: moving a line changes nothing.
 */
export function desiredFingerprint(desired: ProjectSpec): string {
  const keys = [...desired.keys]
    .map((k) => ({
      description: k.description,
      permissions: canonicalPermissions(k.permissions),
      active: k.active,
      formerDescriptions: [...k.formerDescriptions].sort(byString),
      uuid: k.uuid ?? null,
      // Only when set, so that manifests without them keep their fingerprints.
      ...(k.rotate ? { rotate: [k.rotate.everyMs, k.rotate.overlapMs] } : {}),
      ...(k.expires !== undefined ? { expires: k.expires } : {}),
      // Only when declared, so that manifests without `deliver:` keep their fingerprints.
      ...(k.deliver?.length ? { deliver: k.deliver } : {}),
    }))
    .sort((a, b) => byString(a.description, b.description) || byString(a.uuid ?? '', b.uuid ?? ''));
  return sha256({ token: desired.token, unmanaged: desired.unmanaged, keys });
}

/** Objects whose fingerprints are getters not yet read: `deepFreeze` must freeze them without reading them. */
const lazyHolders = new WeakSet<object>();

/** Whether `value` carries lazy fingerprint getters (see `withLazyFingerprints`). */
export function hasLazyFields(value: object): boolean {
  return lazyHolders.has(value);
}

/**
 * Turns `plan`'s `liveFingerprint` and `desiredFingerprint` into enumerable getters, each computed on its first
 * read and then remembered: only a saved plan, a format that prints them or a saved-plan check reads them, so a
 * text plan of 100,000 keys never hashes its listing. Reading is indistinguishable from a plain property
 * (spread, JSON, equality); the keys keep their place in the object. `live` is copied so that a caller's later
 * edits to its array cannot change what the plan was made against.
 */
export function withLazyFingerprints<T extends { liveFingerprint: string; desiredFingerprint: string }>(
  plan: T,
  live: readonly LiveKey[],
  desired: ProjectSpec,
): T {
  let liveKeys: readonly LiveKey[] | undefined = [...live];
  let liveValue: string | undefined;
  let desiredValue: string | undefined;
  Object.defineProperty(plan, 'liveFingerprint', {
    enumerable: true,
    get: () => {
      if (liveValue === undefined) {
        liveValue = liveFingerprint(liveKeys!);
        liveKeys = undefined;
      }
      return liveValue;
    },
  });
  Object.defineProperty(plan, 'desiredFingerprint', {
    enumerable: true,
    get: () => (desiredValue ??= desiredFingerprint(desired)),
  });
  lazyHolders.add(plan);
  return plan;
}
