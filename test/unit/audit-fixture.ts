/**
 * One account for the audit tests: a manifest with a policy and owners, and live keys that show every case
 * (managed, unmanaged, drifted, renamed, missing, old, inactive, an unknown permission, hostile descriptions,
 * rotation overdue and due soon, a retiring key past its overlap, an expiry soon and one passed).
 */
import { parseManifestText } from '../../src/manifest';
import { parsePolicyText } from '../../src/policy';
import type { LiveKey } from '../../src/model';

export const NOW = new Date('2026-12-01T12:00:00Z');

export const MANIFEST = `version: 1
policy:
  - forbid: [ACCESS_MANAGE]
    except: ["Deployer"]
  - requireOwner: true
    severity: warning
  - maxAge: 1y
projects:
  - token: demo
    keys:
      - description: Deployer
        permissions: [ACCESS_MANAGE, ACCESS_READ]
        owner: "@platform"
        justification: rotates keys
      - description: CI uploader
        formerDescriptions: [uploader]
        permissions: [FILE_UPLOAD, OBJECTS_LIST]
        owner: "@ci"
      - description: Gallery reader
        permissions: [OBJECTS_LIST, OBJECTS_FETCH]
      - description: Not yet created
        permissions: [OBJECTS_LIST]
  - token: shop
    unmanaged: ignore
    keys:
      - description: Admin
        permissions: [ACCESS_MANAGE, CONFIG_CHANGE]
        owner: ops
        rotate: { every: 90d, overlap: 7d }
        expires: 2026-12-10
      - description: Feed sync
        permissions: [OBJECTS_LIST]
        owner: ops
        rotate: { every: 14d, overlap: 2d }
      - description: Campaign 2026
        permissions: [OBJECTS_LIST]
        owner: ops
        expires: 2026-11-30
`;

const key = (uuid: string, description: string, permissions: string[], createdAt: string, active = true, unknown?: string[]): LiveKey => ({
  uuid,
  description,
  // Permissions this version does not know come from the API like any other.
  permissions: [...permissions, ...(unknown ?? [])],
  active,
  createdAt,
  secretPreview: `****${uuid.slice(-4)}`,
});

export const LIVE: ReadonlyMap<string, readonly LiveKey[]> = new Map([
  ['demo', [
    key('00000000-0000-4000-8000-000000000001', 'Deployer', ['ACCESS_MANAGE', 'ACCESS_READ'], '2024-01-15T09:00:00Z'),
    key('00000000-0000-4000-8000-000000000002', 'uploader', ['FILE_UPLOAD', 'OBJECTS_LIST', 'FILE_DELETE'], '2026-06-01T09:00:00Z'),
    key('00000000-0000-4000-8000-000000000003', 'Gallery reader', ['OBJECTS_LIST', 'OBJECTS_FETCH'], '2026-11-01T09:00:00Z', false),
    key('00000000-0000-4000-8000-000000000004', '=HYPERLINK("http://x")', ['OBJECTS_LIST'], '2025-02-01T09:00:00Z'),
    key('00000000-0000-4000-8000-000000000005', 'old <script>alert(1)</script>', ['FILE_UPLOAD'], '2020-01-01T09:00:00Z', false, ['FILE_TELEPORT']),
  ]],
  ['shop', [
    key('00000000-0000-4000-8000-000000000006', 'Admin', ['ACCESS_MANAGE', 'CONFIG_CHANGE'], '2026-03-01T09:00:00Z'),
    key('00000000-0000-4000-8000-000000000007', 'Hand-made', ['LABELS_LIST', 'LABEL_MANAGE'], '2026-09-01T09:00:00Z'),
    // Rotation and expiry, at NOW: Admin's rotation is overdue and its expiry soon; Feed sync's rotation is due
    // soon and its predecessor is past its overlap; Campaign 2026 has expired.
    key('00000000-0000-4000-8000-000000000008', 'Feed sync', ['OBJECTS_LIST'], '2026-11-28T09:00:00Z'),
    key('00000000-0000-4000-8000-000000000009', 'Feed sync (rotated 2026-11-28, off after 2026-11-30)', ['OBJECTS_LIST'], '2026-11-01T09:00:00Z'),
    key('00000000-0000-4000-8000-00000000000a', 'Campaign 2026', ['OBJECTS_LIST'], '2026-06-01T09:00:00Z'),
  ]],
]);

export function fixture() {
  const parsed = parseManifestText(MANIFEST, 'scaleflex-keys.yaml');
  if (!parsed.state) throw new Error(JSON.stringify(parsed.diagnostics));
  return { desired: parsed.state, rules: parsePolicyText(MANIFEST, 'scaleflex-keys.yaml', 'manifest') };
}
