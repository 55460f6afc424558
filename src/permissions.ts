/**
 * The 31 Scaleflex API key permissions, exactly as the Scaleflex DAM "API keys" page spells them.
 *
 * The manifest's JSON Schema (`schemas/scaleflex-keys.schema.json`) is the source of truth for this list;
 * `test/unit/permissions.test.ts` fails if the two drift apart.
 */

/** Every permission with the description Scaleflex gives it, in the order of the Scaleflex page. */
export const PERMISSION_DESCRIPTIONS = {
  OBJECTS_LIST: 'List assets',
  OBJECTS_FETCH: 'Fetch assets',
  FILE_UPLOAD: 'Upload file',
  FILE_META_CREATE: 'Create file metadata',
  FILE_META_CHANGE: 'Update file metadata',
  FILE_RENAME: 'Rename file',
  FILE_MOVE: 'Move file',
  FILE_DELETE: 'Delete file',
  FILE_SET_VISIBILITY: 'Set file visibility',
  FILE_LABEL_CHANGE: 'Update file labels',
  FILE_IMAGE_EDITOR: 'Edit file',
  DIR_CREATE: 'Create directory',
  DIR_RENAME: 'Rename directory',
  DIR_META_CHANGE: 'Create and update directory metadata',
  DIR_MOVE: 'Move directory',
  DIR_DELETE: 'Delete directory',
  DIR_SET_VISIBILITY: 'Set dir visibility',
  CONFIG_CHANGE: 'Change container configuration',
  CONFIG_LIST: 'List container configuration',
  FILE_PRODUCT_CHANGE: 'Change product information',
  FILE_PROCESS_AUTOTAGGING: 'Perform autotagging',
  COLLECTIONS_LIST: 'List collections',
  COLLECTIONS_MANAGE: 'Manage collections',
  LABELS_LIST: 'View labels',
  LABEL_MANAGE: 'Manage labels',
  OBJECTS_SHARE_MANAGE: 'Manage sharebox',
  OBJECTS_AIRBOX_MANAGE: 'Manage airbox',
  OBJECTS_APPROVAL_MANAGE: 'Manage approval',
  OBJECTS_APPROVAL_VOTE: 'Approve/Reject assets',
  ACCESS_READ: 'View accesses',
  ACCESS_MANAGE: 'Manage accesses',
} as const;

/** A Scaleflex API key permission name. */
export type Permission = keyof typeof PERMISSION_DESCRIPTIONS;

/** All 31 permissions, in the order of the Scaleflex page. */
export const PERMISSIONS: readonly Permission[] = Object.freeze(
  Object.keys(PERMISSION_DESCRIPTIONS) as Permission[],
);

const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

/** True when `name` is one of the 31 permission names, spelled exactly. */
export function isPermission(name: string): name is Permission {
  return PERMISSION_SET.has(name);
}

/** Sorts and de-duplicates permissions: the canonical order used in plans, fingerprints and output. */
export function canonicalPermissions(perms: Iterable<string>): string[] {
  const out = Array.isArray(perms) ? (perms as string[]).slice() : [...perms];
  // An insertion sort that drops repeats, in place: lists hold a few dozen names at most and are often sorted
  // already, and a set plus a sort per call was most of a 500-project plan's time in this function.
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    const name = out[i]!;
    let at = n;
    while (at > 0 && out[at - 1]! > name) at--;
    if (at > 0 && out[at - 1] === name) continue;
    for (let k = n; k > at; k--) out[k] = out[k - 1]!;
    out[at] = name;
    n++;
  }
  out.length = n;
  return out;
}
