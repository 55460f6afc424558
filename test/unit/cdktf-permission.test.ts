/**
 * The CDKTF `Permission` constant must be exactly the 31 permissions of `src/permissions.ts` (itself kept equal
 * to the JSON Schema), each member documented with the Scaleflex page's description in its TSDoc.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Permission } from '../../src/cdktf/permission';
import { PERMISSION_DESCRIPTIONS, PERMISSIONS } from '../../src/permissions';

describe('the CDKTF Permission constant', () => {
  test('has the same members as PERMISSIONS, in the same order', () => {
    expect(Object.keys(Permission)).toEqual([...PERMISSIONS]);
  });

  test('maps every member to its own name', () => {
    expect(Object.values(Permission)).toEqual([...PERMISSIONS]);
  });

  const source = fs.readFileSync(path.join(__dirname, '../../src/cdktf/permission.ts'), 'utf8');
  test.each(PERMISSIONS.map((name) => ({ name, description: PERMISSION_DESCRIPTIONS[name] })))(
    '$name carries the TSDoc "$description"',
    ({ name, description }) => {
      const doc = new RegExp(`/\\*\\* ([^*]+) \\*/\\n\\s+${name}: '${name}',`).exec(source);
      expect(doc?.[1]).toBe(description);
    },
  );
});
