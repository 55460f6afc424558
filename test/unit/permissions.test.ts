/**
 * The drift guard: the permission list in code (`src/permissions.ts`) and the permission enum of the manifest
 * schema must name the same 31 permissions, in the same order, with the same descriptions — the seed's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isPermission, PERMISSION_DESCRIPTIONS, PERMISSIONS } from '../../src/permissions';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../schemas/scaleflex-keys.schema.json'), 'utf8'));
const permissionSchema: { anyOf: { const: string; description: string }[] } = schema.$defs.permission;

test('the schema and the code list the same 31 permissions in the same order', () => {
  expect(PERMISSIONS).toHaveLength(31);
  expect(permissionSchema.anyOf.map((p) => p.const)).toEqual([...PERMISSIONS]);
});

test('every permission carries the same description in the schema and in the code', () => {
  expect(Object.fromEntries(permissionSchema.anyOf.map((p) => [p.const, p.description]))).toEqual(PERMISSION_DESCRIPTIONS);
});

test('each schema entry is exactly a const and its description, which editors show on completion and hover', () => {
  for (const entry of permissionSchema.anyOf) expect(Object.keys(entry).sort()).toEqual(['const', 'description']);
});

// The seed lives beside the repository on the machine it was built on; a clone elsewhere skips this test.
const SEED = path.join(__dirname, '../../../shared/seed/api-keys.md');
(fs.existsSync(SEED) ? test : test.skip)('the seed page and the code agree on every name and description', () => {
  // The seed's permission table: | `NAME` | Description |
  const rows = [...fs.readFileSync(SEED, 'utf8').matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(.+?)\s*\|$/gm)].map((m) => [m[1], m[2]]);
  expect(rows).toHaveLength(31);
  expect(Object.fromEntries(rows)).toEqual(PERMISSION_DESCRIPTIONS);
});

test.each([
  ['FILE_UPLOAD', true],
  ['file_upload', false],
  ['FILE_UPLOD', false],
  ['', false],
  ['toString', false],
])('isPermission(%j) is %s', (name, expected) => {
  expect(isPermission(name)).toBe(expected);
});
