/**
 * The one table of risky permissions (see the README's "Risky permissions"), used by the Markdown renderer to
 * flag grants reviewers should look at twice.
 */
import type { Permission } from '../model';

/** Risky permissions and why, one line each. */
export const RISKY_PERMISSIONS: Readonly<Partial<Record<Permission, string>>> = Object.freeze({
  ACCESS_MANAGE: 'creates, changes and deactivates API keys and reads their secrets: full control of the project',
  ACCESS_READ: 'lists every API key of the project with its permissions',
  CONFIG_CHANGE: 'changes the container configuration (security, delivery, storage settings)',
  FILE_DELETE: 'deletes assets',
  DIR_DELETE: 'deletes whole directories of assets',
  OBJECTS_SHARE_MANAGE: 'shares assets outside the project (sharebox links)',
  FILE_SET_VISIBILITY: 'can make private files public',
  DIR_SET_VISIBILITY: 'can make private directories public',
  OBJECTS_AIRBOX_MANAGE: 'opens upload portals (airboxes) to people outside the project',
});

/** True when granting `p` deserves a reviewer's attention. */
export function isRisky(p: Permission): boolean {
  return p in RISKY_PERMISSIONS;
}

/** Why `p` is risky, or undefined. */
export function riskReason(p: Permission): string | undefined {
  return RISKY_PERMISSIONS[p];
}
