/**
 * The 31 Scaleflex API key permissions as a typed constant for CDKTF code: `Permission.FILE_UPLOAD` with the
 * Scaleflex page's description in each member's TSDoc, so editors show what a permission allows.
 *
 * The list itself lives in `src/permissions.ts` (kept equal to the manifest's JSON Schema);
 * `test/unit/cdktf-permission.test.ts` fails if this constant or its TSDoc drifts from it.
 */
import type { Permission as PermissionName } from '../permissions';

/** Every Scaleflex API key permission, by name; each value is the name itself. */
export const Permission = {
  /** List assets */
  OBJECTS_LIST: 'OBJECTS_LIST',
  /** Fetch assets */
  OBJECTS_FETCH: 'OBJECTS_FETCH',
  /** Upload file */
  FILE_UPLOAD: 'FILE_UPLOAD',
  /** Create file metadata */
  FILE_META_CREATE: 'FILE_META_CREATE',
  /** Update file metadata */
  FILE_META_CHANGE: 'FILE_META_CHANGE',
  /** Rename file */
  FILE_RENAME: 'FILE_RENAME',
  /** Move file */
  FILE_MOVE: 'FILE_MOVE',
  /** Delete file */
  FILE_DELETE: 'FILE_DELETE',
  /** Set file visibility */
  FILE_SET_VISIBILITY: 'FILE_SET_VISIBILITY',
  /** Update file labels */
  FILE_LABEL_CHANGE: 'FILE_LABEL_CHANGE',
  /** Edit file */
  FILE_IMAGE_EDITOR: 'FILE_IMAGE_EDITOR',
  /** Create directory */
  DIR_CREATE: 'DIR_CREATE',
  /** Rename directory */
  DIR_RENAME: 'DIR_RENAME',
  /** Create and update directory metadata */
  DIR_META_CHANGE: 'DIR_META_CHANGE',
  /** Move directory */
  DIR_MOVE: 'DIR_MOVE',
  /** Delete directory */
  DIR_DELETE: 'DIR_DELETE',
  /** Set dir visibility */
  DIR_SET_VISIBILITY: 'DIR_SET_VISIBILITY',
  /** Change container configuration */
  CONFIG_CHANGE: 'CONFIG_CHANGE',
  /** List container configuration */
  CONFIG_LIST: 'CONFIG_LIST',
  /** Change product information */
  FILE_PRODUCT_CHANGE: 'FILE_PRODUCT_CHANGE',
  /** Perform autotagging */
  FILE_PROCESS_AUTOTAGGING: 'FILE_PROCESS_AUTOTAGGING',
  /** List collections */
  COLLECTIONS_LIST: 'COLLECTIONS_LIST',
  /** Manage collections */
  COLLECTIONS_MANAGE: 'COLLECTIONS_MANAGE',
  /** View labels */
  LABELS_LIST: 'LABELS_LIST',
  /** Manage labels */
  LABEL_MANAGE: 'LABEL_MANAGE',
  /** Manage sharebox */
  OBJECTS_SHARE_MANAGE: 'OBJECTS_SHARE_MANAGE',
  /** Manage airbox */
  OBJECTS_AIRBOX_MANAGE: 'OBJECTS_AIRBOX_MANAGE',
  /** Manage approval */
  OBJECTS_APPROVAL_MANAGE: 'OBJECTS_APPROVAL_MANAGE',
  /** Approve/Reject assets */
  OBJECTS_APPROVAL_VOTE: 'OBJECTS_APPROVAL_VOTE',
  /** View accesses */
  ACCESS_READ: 'ACCESS_READ',
  /** Manage accesses */
  ACCESS_MANAGE: 'ACCESS_MANAGE',
} as const satisfies { readonly [P in PermissionName]: P };

/** A Scaleflex API key permission name (`Permission.FILE_UPLOAD` or the string `'FILE_UPLOAD'`). */
export type Permission = PermissionName;
