/**
 * The one table of risky permissions: grants a reviewer should look at twice. The Markdown renderer flags every
 * grant of these (on a new key or added to an existing one) with the reason below; removals are never risky.
 *
 * | permission | why it is risky |
 * |---|---|
 * | ACCESS_MANAGE | creates, changes and deactivates API keys and reads their secrets: full control of the project |
 * | ACCESS_READ | lists every API key of the project with its permissions (a map for an attacker) |
 * | CONFIG_CHANGE | changes the container configuration (security, delivery and storage settings) |
 * | FILE_DELETE | deletes assets |
 * | DIR_DELETE | deletes whole directories of assets |
 * | OBJECTS_SHARE_MANAGE | shares assets outside the project (sharebox links) |
 * | FILE_SET_VISIBILITY | can make private files public |
 * | DIR_SET_VISIBILITY | can make private directories public |
 * | OBJECTS_AIRBOX_MANAGE | opens upload portals (airboxes) to people outside the project |
 * | OBJECTS_APPROVAL_MANAGE | changes approval workflows, so assets can skip review |
 *
 * Any permission ending in `_DELETE` is risky even if Scaleflex adds one later. The README's "Risky permissions"
 * mirrors this table (test/unit/render-safety.test.ts keeps them in sync).
 */
import type { Permission } from '../model';

/** Risky permissions and why, one line each. */
export const RISKY_PERMISSIONS: Readonly<Partial<Record<Permission, string>>> = Object.freeze({
  ACCESS_MANAGE: 'creates, changes and deactivates API keys and reads their secrets: full control of the project',
  ACCESS_READ: 'lists every API key of the project with its permissions (a map for an attacker)',
  CONFIG_CHANGE: 'changes the container configuration (security, delivery and storage settings)',
  FILE_DELETE: 'deletes assets',
  DIR_DELETE: 'deletes whole directories of assets',
  OBJECTS_SHARE_MANAGE: 'shares assets outside the project (sharebox links)',
  FILE_SET_VISIBILITY: 'can make private files public',
  DIR_SET_VISIBILITY: 'can make private directories public',
  OBJECTS_AIRBOX_MANAGE: 'opens upload portals (airboxes) to people outside the project',
  OBJECTS_APPROVAL_MANAGE: 'changes approval workflows, so assets can skip review',
});

/** Why granting `p` is risky, or undefined when it is not. */
export function riskReason(p: Permission | string): string | undefined {
  const reason = (RISKY_PERMISSIONS as Record<string, string | undefined>)[p];
  if (reason) return reason;
  return p.endsWith('_DELETE') ? 'deletes data' : undefined;
}

/** True when granting `p` deserves a reviewer's attention. */
export function isRisky(p: Permission | string): boolean {
  return riskReason(p) !== undefined;
}
