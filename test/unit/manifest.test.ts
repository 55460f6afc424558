/**
 * The manifest rules, table-driven: every invalid manifest names the exact line and column of the offending
 * node and the key words of its message; every valid one (anchors, aliases, comments, unicode, quoting)
 * becomes the expected DesiredState.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_DESCRIPTION_LENGTH } from '../../src/contract';
import { startEmulator } from '../../src/emulator';
import { formatDiagnostics, MANIFEST_SCHEMA, parseManifestText, readDesiredState } from '../../src/manifest';
import { keyVariableHash, nameHash } from '../../src/manifest/rules';
import { secretVariableName } from '../../src/secret-names';
import { operatorTrust } from '../../src/trust';

const lines = (...ls: string[]) => `${ls.join('\n')}\n`;
/** A one-project manifest whose keys start on line 5. */
const demo = (...keyLines: string[]) => lines('version: 1', 'projects:', '  - token: demo', '    keys:', ...keyLines);

interface InvalidCase {
  name: string;
  text: string;
  line: number;
  column: number;
  words: string[];
  /** How many errors the manifest has in all (default 1): nothing is reported twice, nothing is missed. */
  errors?: number;
}

const invalid: InvalidCase[] = [
  {
    name: 'a misspelt permission suggests the nearest name',
    text: demo('      - description: a', '        permissions: [FILE_UPLOD]'),
    line: 6, column: 23, words: ['unknown permission', 'FILE_UPLOD', 'did you mean "FILE_UPLOAD"?'],
  },
  {
    name: 'a lower-case permission suggests the exact spelling',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST, file_upload]'),
    line: 6, column: 37, words: ['unknown permission', 'file_upload', 'did you mean "FILE_UPLOAD"?'],
  },
  {
    name: 'an unknown permission in a block list points at its item',
    text: demo('      - description: a', '        permissions:', '          - OBJECTS_LIST', '          - OBJECT_FETCH'),
    line: 8, column: 13, words: ['unknown permission', 'OBJECT_FETCH', 'OBJECTS_FETCH'],
  },
  {
    name: 'an unrelated permission name gets no suggestion but an example',
    text: demo('      - description: a', '        permissions: [EVERYTHING]'),
    line: 6, column: 23, words: ['unknown permission "EVERYTHING"', 'OBJECTS_LIST'],
  },
  {
    name: 'an unknown top-level field points at the key and suggests projects',
    text: lines('version: 1', 'projcts: []', 'projects:', '  - token: demo', '    keys: []'),
    line: 2, column: 1, words: ['unknown field "projcts"', 'top level', 'did you mean "projects"?'],
  },
  {
    name: 'an unknown key field points at the key itself',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        activ: false'),
    line: 7, column: 9, words: ['unknown field "activ"', 'in a key', 'did you mean "active"?'],
  },
  {
    name: 'an unknown project field suggests the project field',
    text: lines('version: 1', 'projects:', '  - token: demo', '    unmanagd: ignore', '    keys: []'),
    line: 4, column: 5, words: ['unknown field "unmanagd"', 'in a project', 'did you mean "unmanaged"?'],
  },
  {
    name: 'a plural slip on keys is a misspelt field, not a secret',
    text: lines('version: 1', 'projects:', '  - token: demo', '    key: []', '    keys: []'),
    line: 4, column: 5, words: ['unknown field "key"', 'did you mean "keys"?'],
  },
  {
    name: 'a bad enum value lists the allowed values',
    text: lines('version: 1', 'projects:', '  - token: demo', '    unmanaged: delete', '    keys: []'),
    line: 4, column: 16, words: ['unmanaged', '"deactivate"', '"ignore"', 'delete'],
  },
  {
    name: 'an enum value in the wrong case suggests the right one',
    text: lines('version: 1', 'projects:', '  - token: demo', '    unmanaged: Ignore', '    keys: []'),
    line: 4, column: 16, words: ['unmanaged', 'did you mean "ignore"?'],
  },
  {
    name: 'version must be 1',
    text: lines('version: 2', 'projects:', '  - token: demo', '    keys: []'),
    line: 1, column: 10, words: ['version must be 1', '2'],
  },
  {
    name: 'a missing version points at the root mapping',
    text: lines('# keys of the demo project', 'projects:', '  - token: demo', '    keys: []'),
    line: 2, column: 1, words: ['missing required field "version"'],
  },
  {
    name: 'a project without keys points at the project entry',
    text: lines('version: 1', 'projects:', '  - token: demo', '  - token: other', '    keys: []'),
    line: 3, column: 5, words: ['missing required field "keys"', 'in a project', 'keys: []'],
  },
  {
    name: 'a key without a description points at the key entry',
    text: demo('      - permissions: [OBJECTS_LIST]'),
    line: 5, column: 9, words: ['missing required field "description"', 'in a key'],
  },
  {
    name: 'an empty project list is refused',
    text: lines('version: 1', 'projects: []'),
    line: 2, column: 11, words: ['projects must list at least one project'],
  },
  {
    name: 'active: yes is a string in YAML 1.2',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        active: yes'),
    line: 7, column: 17, words: ['active must be true or false', '"yes"', 'YAML 1.2'],
  },
  {
    name: 'a quoted "true" is a string, not a boolean',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        active: "true"'),
    line: 7, column: 17, words: ['active must be true or false', 'the string "true"'],
  },
  {
    name: 'a number where a boolean belongs',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        active: 1'),
    line: 7, column: 17, words: ['active must be true or false', 'the number 1'],
  },
  {
    name: 'a permission given as a string instead of a list',
    text: demo('      - description: a', '        permissions: OBJECTS_LIST'),
    line: 6, column: 22, words: ['permissions must be a list', 'OBJECTS_LIST'],
  },
  {
    name: 'a key written as a plain string',
    text: demo('      - CI uploader'),
    line: 5, column: 9, words: ['keys[0] must be a mapping', 'CI uploader'],
  },
  {
    name: 'an empty keys value points at the keys field',
    text: lines('version: 1', 'projects:', '  - token: demo', '    keys:'),
    line: 4, column: 5, words: ['keys must be a list', 'empty'],
  },
  {
    name: 'a numeric description is not a string',
    text: demo('      - description: 42', '        permissions: [OBJECTS_LIST]'),
    line: 5, column: 22, words: ['description must be a string', '42'],
  },
  {
    name: 'a description with leading whitespace',
    text: demo('      - description: " CI uploader"', '        permissions: [OBJECTS_LIST]'),
    line: 5, column: 22, words: ['leading or trailing whitespace', '" CI uploader"'],
  },
  {
    name: 'a description with trailing whitespace (a tab)',
    text: demo('      - description: "CI uploader\\t"', '        permissions: [OBJECTS_LIST]'),
    line: 5, column: 22, words: ['leading or trailing whitespace'],
  },
  {
    name: 'an empty description',
    text: demo('      - description: ""', '        permissions: [OBJECTS_LIST]'),
    line: 5, column: 22, words: ['description must be 1 to 255 characters long, got 0'],
  },
  {
    name: 'a description of 256 characters',
    text: demo(`      - description: ${'d'.repeat(256)}`, '        permissions: [OBJECTS_LIST]'),
    line: 5, column: 22, words: ['description must be 1 to 255 characters long, got 256'],
  },
  {
    name: 'two keys with one description name both locations',
    text: demo(
      '      - description: CI uploader',
      '        permissions: [FILE_UPLOAD]',
      '      - description: CI uploader',
      '        permissions: [OBJECTS_LIST]',
    ),
    line: 7, column: 22, words: ['duplicate description "CI uploader"', 'project "demo"', 'line 5, column 22', 'line 7, column 22', 'uuid'],
  },
  {
    name: 'a shared description is an error unless every entry sharing it is pinned',
    text: demo(
      '      - description: test',
      '        permissions: [FILE_UPLOAD]',
      '        uuid: 0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c',
      '      - description: test',
      '        permissions: [OBJECTS_LIST]',
    ),
    line: 8, column: 22, words: ['duplicate description "test"', 'line 5, column 22', 'line 8, column 22'],
  },
  {
    name: 'a former description that is another key\'s current description',
    text: demo(
      '      - description: uploader',
      '        permissions: [FILE_UPLOAD]',
      '      - description: CI uploader',
      '        permissions: [FILE_UPLOAD]',
      '        formerDescriptions: [uploader]',
    ),
    line: 9, column: 30, words: ['former description "uploader"', 'current description', 'line 5, column 22'],
  },
  {
    name: 'a former description equal to the key\'s own description',
    text: demo('      - description: CI uploader', '        permissions: [FILE_UPLOAD]', '        formerDescriptions: [CI uploader]'),
    line: 7, column: 30, words: ['former description "CI uploader"', "this key's current description"],
  },
  {
    name: 'one former description claimed by two keys names both',
    text: demo(
      '      - description: a',
      '        permissions: [FILE_UPLOAD]',
      '        formerDescriptions: [old]',
      '      - description: b',
      '        permissions: [FILE_UPLOAD]',
      '        formerDescriptions: [old]',
    ),
    line: 10, column: 30, words: ['former description "old"', 'two keys', 'line 7, column 30', 'line 10, column 30'],
  },
  {
    name: 'a former description repeated within one key',
    text: demo('      - description: a', '        permissions: [FILE_UPLOAD]', '        formerDescriptions: [old, old]'),
    line: 7, column: 35, words: ['"old" is listed twice', 'formerDescriptions', 'line 7, column 30'],
  },
  {
    name: 'a permission repeated in one key points at the repeat',
    text: demo('      - description: a', '        permissions: [FILE_UPLOAD, OBJECTS_LIST, FILE_UPLOAD]'),
    line: 6, column: 50, words: ['"FILE_UPLOAD" is listed twice', 'permissions', 'line 6, column 23'],
  },
  {
    name: 'an unknown permission set suggests a defined one',
    text: lines(
      'version: 1',
      'permissionSets:',
      '  read-only: [OBJECTS_LIST]',
      'projects:',
      '  - token: demo',
      '    keys:',
      '      - description: a',
      '        permissionSets: [read-olny]',
    ),
    line: 8, column: 26, words: ['unknown permission set "read-olny"', 'did you mean "read-only"?'],
  },
  {
    name: 'a permission set named when none are defined',
    text: demo('      - description: a', '        permissionSets: [read-only]'),
    line: 6, column: 26, words: ['unknown permission set "read-only"', 'no permissionSets are defined'],
  },
  {
    name: 'a permission set with an unknown member points at the member',
    text: lines('version: 1', 'permissionSets:', '  read-only: [OBJECTS_LIST, OBJECTS_FECH]', 'projects:', '  - token: demo', '    keys: []'),
    line: 3, column: 29, words: ['unknown permission "OBJECTS_FECH"', 'did you mean "OBJECTS_FETCH"?'],
  },
  {
    name: 'an empty permission set',
    text: lines('version: 1', 'permissionSets:', '  nothing: []', 'projects:', '  - token: demo', '    keys: []'),
    line: 3, column: 12, words: ['permission set "nothing" must list at least one permission'],
  },
  {
    name: 'a permission set name with a space points at the name',
    text: lines('version: 1', 'permissionSets:', '  read only: [OBJECTS_LIST]', 'projects:', '  - token: demo', '    keys: []'),
    line: 3, column: 3, words: ['permission set name "read only"', 'letters, digits'],
  },
  {
    name: 'a key without any permission points at the entry',
    text: demo('      - description: Nothing'),
    line: 5, column: 9, words: ['key "Nothing" has no permissions', 'permissionSets'],
  },
  {
    name: 'a key with an empty permission list points at the list',
    text: demo('      - description: Nothing', '        permissions: []'),
    line: 6, column: 22, words: ['key "Nothing" has no permissions'],
  },
  {
    name: 'a project token declared twice names both locations',
    text: lines('version: 1', 'projects:', '  - token: demo', '    keys: []', '  - token: demo', '    keys: []'),
    line: 5, column: 12, words: ['project token "demo" is declared twice', 'line 3, column 12', 'line 5, column 12'],
  },
  {
    name: 'a token with capitals',
    text: lines('version: 1', 'projects:', '  - token: Demo', '    keys: []'),
    line: 3, column: 12, words: ['token "Demo"', 'lowercase letters, digits and hyphens'],
  },
  {
    name: 'a secret value pasted into a key',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        secret: s3cr3t-value'),
    line: 7, column: 9, words: ['"secret"', 'secrets never go in the manifest'],
  },
  {
    name: 'an apiKey field in a project',
    text: lines('version: 1', 'projects:', '  - token: demo', '    apiKey: 0123456789abcdef0123456789abcdef', '    keys: []'),
    line: 4, column: 5, words: ['"apiKey"', 'secrets never go in the manifest'],
  },
  {
    name: 'a key field in credentials',
    text: lines('version: 1', 'projects:', '  - token: demo', '    credentials:', '      key: abc', '    keys: []'),
    line: 5, column: 7, words: ['"key"', 'secrets never go in the manifest'],
  },
  {
    name: 'a 32+ hex string in credentials.env',
    text: lines('version: 1', 'projects:', '  - token: demo', '    credentials:', '      env: a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2', '    keys: []'),
    line: 5, column: 12, words: ['credentials.env', 'secrets never go in the manifest'],
  },
  {
    name: 'a 32+ hex string in credentials.file',
    text: lines('version: 1', 'projects:', '  - token: demo', '    credentials:', '      file: 0123456789abcdef0123456789abcdef', '    keys: []'),
    line: 5, column: 13, words: ['credentials.file', 'secrets never go in the manifest'],
  },
  {
    name: 'credentials naming both env and file',
    text: lines('version: 1', 'projects:', '  - token: demo', '    credentials: {env: DEMO_KEY, file: demo.key}', '    keys: []'),
    line: 4, column: 18, words: ['credentials', 'exactly one of `env`', '`file`'],
  },
  {
    name: 'an environment variable name with a dash',
    text: lines('version: 1', 'projects:', '  - token: demo', '    credentials: {env: DEMO-KEY}', '    keys: []'),
    line: 4, column: 24, words: ['credentials.env "DEMO-KEY"', 'environment variable name'],
  },
  {
    name: 'a uuid that is not a UUID',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        uuid: 0b0f1c6e-nope'),
    line: 7, column: 15, words: ['uuid must be a UUID', '"0b0f1c6e-nope"'],
  },
  {
    name: 'a uuid with a urn prefix is not a bare UUID',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        uuid: urn:uuid:0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c'),
    line: 7, column: 15, words: ['uuid must be a UUID', 'urn:uuid:'],
  },
  {
    name: 'one uuid pinned by two entries names both',
    text: demo(
      '      - description: a',
      '        permissions: [OBJECTS_LIST]',
      '        uuid: 0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c',
      '      - description: b',
      '        permissions: [OBJECTS_LIST]',
      '        uuid: 0B0F1C6E-2F7E-4B8A-9C61-1F2D3E4A5B6C',
    ),
    line: 10, column: 15, words: ['pinned by two entries', 'line 7, column 15', 'line 10, column 15'],
  },
  {
    name: 'an apiUrl that is not http(s)',
    text: lines('version: 1', 'projects:', '  - token: demo', '    apiUrl: ftp://api.example.com', '    keys: []'),
    line: 4, column: 13, words: ['apiUrl', 'http:// or https://'],
  },
  {
    name: 'an apiUrl without a host',
    text: lines('version: 1', 'projects:', '  - token: demo', '    apiUrl: "https://"', '    keys: []'),
    line: 4, column: 13, words: ['apiUrl', 'http:// or https://'],
  },
  {
    name: 'an apiUrl that is not a URL at all',
    text: lines('version: 1', 'projects:', '  - token: demo', '    apiUrl: not a url', '    keys: []'),
    line: 4, column: 13, words: ['apiUrl', 'URL', '"not a url"'],
  },
  {
    name: 'a duplicate mapping key names the first one',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST]', '        permissions: [FILE_UPLOAD]'),
    line: 7, column: 9, words: ['duplicate key "permissions"', 'line 6, column 9'],
  },
  {
    name: 'a second YAML document',
    text: lines('version: 1', 'projects:', '  - token: demo', '    keys: []', '---', 'version: 1'),
    line: 5, column: 1, words: ['one YAML document', 'second one starts here'],
  },
  {
    name: 'a root that is a list',
    text: lines('# a list, not a mapping', '- version: 1'),
    line: 2, column: 1, words: ["root must be a mapping", 'not a list'],
  },
  {
    name: 'a root that is a scalar',
    text: lines('hello'),
    line: 1, column: 1, words: ["root must be a mapping", '"hello"'],
  },
  {
    name: 'an empty document',
    text: '',
    line: 1, column: 1, words: ['the manifest is empty'],
  },
  {
    name: 'a document with only comments',
    text: lines('# nothing here yet', '   # still nothing'),
    line: 1, column: 1, words: ['the manifest is empty'],
  },
  {
    name: 'an alias without an anchor',
    text: demo('      - description: a', '        permissions: *perms'),
    line: 6, column: 22, words: ['alias *perms has no anchor'],
  },
  {
    name: 'tabs used for indentation',
    text: lines('version: 1', 'projects:', '\t- token: demo'),
    line: 3, column: 1, words: ['invalid YAML', 'Tabs'],
  },
  {
    name: 'an unclosed flow list',
    text: demo('      - description: a', '        permissions: [OBJECTS_LIST', '      - description: b'),
    line: 7, column: 7, words: ['invalid YAML', 'end with a ]'],
  },
];

describe('invalid manifests are reported at the offending node', () => {
  test.each(invalid)('$name', ({ text, line, column, words, errors = 1 }) => {
    const result = parseManifestText(text, 'm.yaml');
    expect(result.state).toBeUndefined();
    const found = result.diagnostics.filter((d) => d.severity === 'error');
    const hit = found.find((d) => d.line === line && d.column === column);
    if (!hit) throw new Error(`no error at ${line}:${column}; got:\n${found.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n')}`);
    for (const word of words) expect(hit.message).toContain(word);
    expect(hit.file).toBe('m.yaml');
    expect(found).toHaveLength(errors);
  });
});

test('every problem is reported in one run, sorted by position', () => {
  const text = lines(
    'version: 1',
    'projcts: []',
    'projects:',
    '  - token: demo',
    '    keys:',
    '      - description: CI uploader',
    '        permissions: [FILE_UPLOD]',
    '        active: yes',
    '      - description: CI uploader',
    '        permissions: [OBJECTS_LIST]',
  );
  const { diagnostics } = parseManifestText(text, 'm.yaml');
  expect(diagnostics.map((d) => [d.line, d.column])).toEqual([
    [2, 1],
    [7, 23],
    [8, 17],
    [9, 22],
  ]);
  expect(diagnostics.map((d) => d.path)).toEqual([
    '/projcts',
    '/projects/0/keys/0/permissions/0',
    '/projects/0/keys/0/active',
    '/projects/0/keys/1/description',
  ]);
});

test('a duplicate mapping key or a second document does not hide the other problems of the file', () => {
  const text = lines(
    'version: 1',
    'projects:',
    '  - token: demo',
    '    keys:',
    '      - description: a',
    '        description: b',
    '        permissions: [FILE_UPLOD]',
    '        colour: red',
    '---',
    'version: 1',
  );
  const result = parseManifestText(text, 'm.yaml');
  expect(result.state).toBeUndefined();
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map((d) => [d.line, d.column])).toEqual([
    [6, 9],
    [7, 23],
    [8, 9],
    [9, 1],
  ]);
  expect(errors[0]!.message).toContain('duplicate key "description"');
  expect(errors[1]!.message).toContain('did you mean "FILE_UPLOAD"');
  expect(errors[2]!.message).toContain('"colour"');
  expect(errors[3]!.message).toContain('second one starts here');
});

test('a secret value is never echoed in a message', () => {
  const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4';
  const text = lines(
    'version: 1',
    'projects:',
    '  - token: demo',
    `    apiKey: ${secret}`,
    '    credentials:',
    `      env: ${secret}`,
    '    keys:',
    '      - description: a',
    '        permissions: [OBJECTS_LIST]',
    `        secret: ${secret}`,
  );
  const { diagnostics } = parseManifestText(text, 'm.yaml');
  expect(diagnostics).toHaveLength(3);
  for (const d of diagnostics) {
    expect(d.message).toContain('secrets never go in the manifest');
    expect(d.message).not.toContain(secret);
  }
});

interface ValidCase {
  name: string;
  text: string;
  check(state: NonNullable<ReturnType<typeof parseManifestText>['state']>): void;
}

const valid: ValidCase[] = [
  {
    name: 'defaults apply: active true, unmanaged deactivate, no former descriptions',
    text: demo('      - description: CI uploader', '        permissions: [FILE_UPLOAD]'),
    check: (s) => {
      expect(s.projects[0]).toMatchObject({ token: 'demo', unmanaged: 'deactivate' });
      expect(s.projects[0]?.keys[0]).toEqual({
        description: 'CI uploader',
        permissions: ['FILE_UPLOAD'],
        active: true,
        formerDescriptions: [],
        source: { file: 'm.yaml', line: 5, column: 9 },
      });
      expect(s.projects[0]?.source).toEqual({ file: 'm.yaml', line: 3, column: 5 });
    },
  },
  {
    name: 'permission sets expand into the sorted, de-duplicated union',
    text: lines(
      'version: 1',
      'permissionSets:',
      '  read-only: [OBJECTS_LIST, OBJECTS_FETCH]',
      '  upload: [FILE_UPLOAD, OBJECTS_LIST]',
      'projects:',
      '  - token: demo',
      '    keys:',
      '      - description: a',
      '        permissions: [DIR_CREATE]',
      '        permissionSets: [upload, read-only]',
      '      - description: b',
      '        permissionSets: [read-only]',
    ),
    check: (s) => {
      expect(s.projects[0]?.keys.map((k) => k.permissions)).toEqual([
        ['DIR_CREATE', 'FILE_UPLOAD', 'OBJECTS_FETCH', 'OBJECTS_LIST'],
        ['OBJECTS_FETCH', 'OBJECTS_LIST'],
      ]);
    },
  },
  {
    name: 'anchors and aliases share a permission list',
    text: lines(
      'version: 1',
      'permissionSets:',
      '  read-only: &ro [OBJECTS_LIST, OBJECTS_FETCH]',
      'projects:',
      '  - token: demo',
      '    keys:',
      '      - description: a',
      '        permissions: *ro',
      '      - description: b',
      '        permissions: *ro',
    ),
    check: (s) => expect(s.projects[0]?.keys.map((k) => k.permissions)).toEqual([
      ['OBJECTS_FETCH', 'OBJECTS_LIST'],
      ['OBJECTS_FETCH', 'OBJECTS_LIST'],
    ]),
  },
  {
    name: 'merge keys reuse a whole key entry',
    text: lines(
      'version: 1',
      'projects:',
      '  - token: demo',
      '    keys:',
      '      - &base',
      '        description: a',
      '        permissions: [OBJECTS_LIST]',
      '        active: false',
      '      - <<: *base',
      '        description: b',
    ),
    check: (s) => expect(s.projects[0]?.keys.map((k) => [k.description, k.permissions, k.active])).toEqual([
      ['a', ['OBJECTS_LIST'], false],
      ['b', ['OBJECTS_LIST'], false],
    ]),
  },
  {
    name: 'comments everywhere are ignored',
    text: lines(
      '# yaml-language-server: $schema=./schemas/scaleflex-keys.schema.json',
      'version: 1 # the format',
      'projects: # all of them',
      '  # the demo project',
      '  - token: demo # token',
      '    keys:',
      '      # the uploader',
      '      - description: CI uploader # identity',
      '        permissions: [FILE_UPLOAD] # what it may do',
    ),
    check: (s) => expect(s.projects[0]?.keys[0]?.description).toBe('CI uploader'),
  },
  {
    name: 'unicode descriptions are kept exactly',
    text: demo(
      '      - description: Téléversement des photos 📸',
      '        permissions: [FILE_UPLOAD]',
      '      - description: 上传密钥',
      '        permissions: [FILE_UPLOAD]',
      '        formerDescriptions: [Загрузчик]',
    ),
    check: (s) => {
      expect(s.projects[0]?.keys.map((k) => k.description)).toEqual(['Téléversement des photos 📸', '上传密钥']);
      expect(s.projects[0]?.keys[1]?.formerDescriptions).toEqual(['Загрузчик']);
    },
  },
  {
    name: 'quoted strings: single, double with escapes, and words YAML 1.1 would read as booleans',
    text: demo(
      "      - description: 'it''s: quoted'",
      '        permissions: ["FILE_UPLOAD"]',
      '      - description: "caf\\u00e9 \\"escaped\\""',
      "        permissions: ['OBJECTS_LIST']",
      '      - description: yes',
      '        permissions: [OBJECTS_LIST]',
      '      - description: "true"',
      '        permissions: [OBJECTS_LIST]',
    ),
    check: (s) => expect(s.projects[0]?.keys.map((k) => k.description)).toEqual(["it's: quoted", 'café "escaped"', 'yes', 'true']),
  },
  {
    name: 'entries that are all pinned by uuid may share a description',
    text: demo(
      '      - description: test',
      '        permissions: [OBJECTS_LIST]',
      '        uuid: 0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c',
      '      - description: test',
      '        permissions: [OBJECTS_LIST]',
      '        active: false',
      '        uuid: 1c1f2d7f-3f8f-4c9b-8d72-2f3e4f5a6b7d',
    ),
    check: (s) => expect(s.projects[0]?.keys.map((k) => k.uuid)).toEqual([
      '0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c',
      '1c1f2d7f-3f8f-4c9b-8d72-2f3e4f5a6b7d',
    ]),
  },
  {
    name: 'a whole manifest in flow style (JSON is YAML)',
    text: '{"version": 1, "projects": [{"token": "demo", "unmanaged": "ignore", "keys": [{"description": "a", "permissions": ["OBJECTS_LIST"]}]}]}',
    check: (s) => expect(s.projects[0]).toMatchObject({ token: 'demo', unmanaged: 'ignore' }),
  },
  {
    name: 'document markers, a byte order mark and CRLF line endings',
    text: '\uFEFF---\r\nversion: 1\r\nprojects:\r\n  - token: demo\r\n    keys: []\r\n...\r\n',
    check: (s) => expect(s.projects).toHaveLength(1),
  },
  {
    name: 'credentials, apiUrl and renames are carried into the state',
    text: lines(
      'version: 1',
      'projects:',
      '  - token: media-prod',
      '    apiUrl: https://api.filerobot.com',
      '    credentials: {env: SCALEFLEX_API_KEY_MEDIA}',
      '    keys:',
      '      - description: Product feed',
      '        formerDescriptions: [PIM import, pim]',
      '        permissions: [FILE_PRODUCT_CHANGE]',
      '  - token: demo2',
      '    credentials: {file: ./demo.key}',
      '    keys: []',
    ),
    check: (s) => {
      expect(s.projects[0]).toMatchObject({
        token: 'media-prod',
        apiUrl: 'https://api.filerobot.com',
        credentials: { env: 'SCALEFLEX_API_KEY_MEDIA' },
      });
      expect(s.projects[0]?.keys[0]?.formerDescriptions).toEqual(['PIM import', 'pim']);
      expect(s.projects[1]).toMatchObject({ token: 'demo2', credentials: { file: './demo.key' }, keys: [] });
    },
  },
  {
    name: 'a description of exactly 255 characters',
    text: demo(`      - description: ${'é'.repeat(255)}`, '        permissions: [OBJECTS_LIST]'),
    check: (s) => expect([...(s.projects[0]?.keys[0]?.description ?? '')]).toHaveLength(255),
  },
];

describe('valid manifests become the desired state', () => {
  test.each(valid)('$name', ({ text, check }) => {
    const result = parseManifestText(text, 'm.yaml');
    expect(result.diagnostics).toEqual([]);
    expect(result.state).toBeDefined();
    check(result.state!);
  });
});

test('the desired state is frozen', () => {
  const { state } = parseManifestText(demo('      - description: a', '        permissions: [OBJECTS_LIST]'), 'm.yaml');
  expect(Object.isFrozen(state)).toBe(true);
  expect(Object.isFrozen(state?.projects[0]?.keys[0]?.permissions)).toBe(true);
});

describe('deceptive text: descriptions must print as they are', () => {
  test('a zero-width space is named by its code point, in the words of the issue', () => {
    const result = parseManifestText(demo('      - description: "CI upl\\u200Boader"', '        permissions: [OBJECTS_LIST]'), 'm.yaml');
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.line, d.column, d.message])).toEqual([
      [5, 22, 'description "CI upl\\u200Boader" contains U+200B (ZERO WIDTH SPACE), an invisible character; remove it'],
    ]);
  });

  test.each([
    { name: 'a description of only U+200B', value: '\\u200B', words: ['U+200B (ZERO WIDTH SPACE)'] },
    { name: 'a right-to-left override', value: 'CI \\u202Euploader', words: ['U+202E (RIGHT-TO-LEFT OVERRIDE)', 'bidirectional', 'reorder'] },
    { name: 'a left-to-right isolate', value: 'a\\u2066b', words: ['U+2066 (LEFT-TO-RIGHT ISOLATE)'] },
    { name: 'a word joiner', value: 'a\\u2060b', words: ['U+2060 (WORD JOINER)'] },
    { name: 'a byte order mark inside', value: 'a\\uFEFFb', words: ['U+FEFF (ZERO WIDTH NO-BREAK SPACE)'] },
    { name: 'a soft hyphen', value: 'up\\u00ADloader', words: ['U+00AD (SOFT HYPHEN)'] },
    { name: 'a tab inside', value: 'tab\\tinside', words: ['U+0009 (CHARACTER TABULATION)', 'a control character'] },
    { name: 'a control character', value: 'a\\u0007b', words: ['U+0007', 'a control character'] },
    { name: 'a line separator', value: 'a\\u2028b', words: ['U+2028 (LINE SEPARATOR)'] },
    { name: 'a private-use character', value: 'a\\uE000b', words: ['U+E000', 'private-use'] },
    { name: 'an unassigned code point', value: 'a\\u0378b', words: ['U+0378', 'unassigned'] },
  ])('$name is refused', ({ value, words }) => {
    const result = parseManifestText(demo(`      - description: "${value}"`, '        permissions: [OBJECTS_LIST]'), 'm.yaml');
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    for (const word of words) expect(result.diagnostics[0]!.message).toContain(word);
    expect(result.diagnostics[0]!.message).toMatch(/; remove it$/);
  });

  test('a former description is held to the same rule, at its own line', () => {
    const result = parseManifestText(
      demo('      - description: CI uploader', '        permissions: [OBJECTS_LIST]', '        formerDescriptions: ["CI upl\\u200Boader"]'),
      'm.yaml',
    );
    expect(result.diagnostics.map((d) => [d.line, d.message.split(',')[0]])).toEqual([[7, 'former description "CI upl\\u200Boader" contains U+200B (ZERO WIDTH SPACE)']]);
  });

  test('visible non-ASCII text stays valid', () => {
    const result = parseManifestText(demo('      - description: "Загрузчик — café 🚀 עברית"', '        permissions: [OBJECTS_LIST]'), 'm.yaml');
    expect(result.diagnostics).toEqual([]);
  });
});

describe('description length counts code points, as the API does', () => {
  const emoji = (n: number) => '🚀'.repeat(n);
  test('255 emoji (510 UTF-16 units) are valid', () => {
    const result = parseManifestText(demo(`      - description: "${emoji(255)}"`, '        permissions: [OBJECTS_LIST]'), 'm.yaml');
    expect(result.diagnostics).toEqual([]);
    expect(result.state?.projects[0]?.keys[0]?.description).toBe(emoji(255));
  });

  test('256 emoji are refused with the count in code points', () => {
    const result = parseManifestText(demo(`      - description: "${emoji(256)}"`, '        permissions: [OBJECTS_LIST]'), 'm.yaml');
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      'description must be 1 to 255 characters long, got 256 (counted in Unicode code points, as the API counts)',
    ]);
  });

  test('the schema and the contract agree on the limit', () => {
    expect((MANIFEST_SCHEMA.$defs as { description: { maxLength: number } }).description.maxLength).toBe(MAX_DESCRIPTION_LENGTH);
  });
});

describe('secret variable names are unique across the manifest', () => {
  const keys = (...descriptions: string[]) => descriptions.flatMap((d) => [`      - description: ${JSON.stringify(d)}`, '        permissions: [OBJECTS_LIST]']);

  test('the six spellings of the issue collide: one error at each later key, naming the variable and the first key', () => {
    const result = parseManifestText(demo(...keys('CI uploader', 'CI-uploader', 'ci_uploader', 'CI.uploader', 'CI  uploader', 'ci uploader')), 'm.yaml');
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(5);
    expect(result.diagnostics.map((d) => d.line)).toEqual([7, 9, 11, 13, 15]);
    for (const d of result.diagnostics) {
      expect(d.message).toContain('SCALEFLEX_KEY_DEMO_CI_UPLOADER');
      expect(d.message).toContain('like key "CI uploader" of project "demo" at line 5, column 22');
      expect(d.message).toContain('hint: rename one of them');
      expect(d.related).toEqual([{ file: 'm.yaml', line: 5, column: 22, message: 'also SCALEFLEX_KEY_DEMO_CI_UPLOADER' }]);
    }
  });

  test('the hash of a variable taken without building its name is the hash of the name', () => {
    const texts = ['', 'a', 'CI uploader', '  ci--uploader__', '-_-', 'x.y', 'Zz09', '\u00df', 'stra\u00dfe', '\u0131d', 'caf\u00e9 key', '\u{1f600} key', '~!@#$%^&*()', '\u212a', 'a\u0307'];
    for (const token of ['demo', 'demo-ci', '---', '', 'Stra\u00dfe', 'p000']) {
      for (const description of texts) expect([token, description, keyVariableHash(token, description)]).toEqual([token, description, nameHash(secretVariableName(token, description))]);
    }
    // Every printable ASCII character, alone and between letters.
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      for (const description of [ch, `a${ch}b`, `${ch}${ch}a`, `a${ch}`]) expect(keyVariableHash('demo', description)).toBe(nameHash(secretVariableName('demo', description)));
    }
  });

  test('the rule keeps names by a hash; two names that share one are still told apart', () => {
    // Two different variable names with one 30-bit hash, found by trying: neither is reported against the other,
    // and each is still found again under another spelling.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const d = `k${i}`;
      const h = nameHash(secretVariableName('demo', d));
      const other = seen.get(h);
      if (other !== undefined) pair = [other, d];
      else seen.set(h, d);
    }
    const [a, b] = pair;
    const key = (d: string) => [`      - description: ${d}`, '        permissions: [OBJECTS_LIST]'];
    const result = parseManifestText(demo(...key(a), ...key(b), ...key(b.toUpperCase()), ...key(`-${a.toUpperCase()}`)), 'm.yaml');
    expect(result.diagnostics.map((d) => [d.line, d.message.slice(0, d.message.indexOf(' at line'))])).toEqual([
      [9, `key "${b.toUpperCase()}" of project "demo" would store its secret in the variable SCALEFLEX_KEY_DEMO_${b.toUpperCase()}, like key "${b}" of project "demo"`],
      [11, `key "-${a.toUpperCase()}" of project "demo" would store its secret in the variable SCALEFLEX_KEY_DEMO_${a.toUpperCase()}, like key "${a}" of project "demo"`],
    ]);
  });

  test('across projects with one token part: demo-x + "a" and demo--x + "A" collide; alpha and beta never do', () => {
    const project = (token: string, description: string) => [`  - token: ${token}`, '    keys:', `      - description: ${description}`, '        permissions: [OBJECTS_LIST]'];
    const same = parseManifestText(lines('version: 1', 'projects:', ...project('demo-x', 'a'), ...project('demo--x', 'A')), 'm.yaml');
    const collisions = same.diagnostics.filter((d) => d.message.includes('would store its secret'));
    expect(collisions.map((d) => [d.line, d.column])).toEqual([[9, 22]]);
    expect(collisions[0]!.message).toContain('SCALEFLEX_KEY_DEMO_X_A, like key "a" of project "demo-x" at line 5, column 22');
    const distinct = parseManifestText(lines('version: 1', 'projects:', ...project('alpha', 'a'), ...project('beta', 'a')), 'm.yaml');
    expect(distinct.diagnostics).toEqual([]);
  });

  test('across projects: demo-ci + "x" and demo + "ci x" collide', () => {
    const text = lines(
      'version: 1',
      'projects:',
      '  - token: demo-ci',
      '    keys:',
      '      - description: x',
      '        permissions: [OBJECTS_LIST]',
      '  - token: demo',
      '    keys:',
      '      - description: ci x',
      '        permissions: [OBJECTS_LIST]',
    );
    const result = parseManifestText(text, 'm.yaml');
    expect(result.diagnostics.map((d) => [d.line, d.column])).toEqual([[9, 22]]);
    expect(result.diagnostics[0]!.message).toContain('SCALEFLEX_KEY_DEMO_CI_X');
  });

  test('pinned entries sharing one description are the same name on purpose', () => {
    const result = parseManifestText(
      demo(
        '      - description: test',
        '        permissions: [OBJECTS_LIST]',
        '        uuid: 0b0f1c6e-1111-4222-8333-944455556666',
        '      - description: test',
        '        permissions: [OBJECTS_LIST]',
        '        uuid: 0b0f1c6e-1111-4222-8333-944455556667',
      ),
      'm.yaml',
    );
    expect(result.diagnostics).toEqual([]);
  });

  test('secretVariableName gives the .env names the secrets file writes', () => {
    expect(secretVariableName('demo', 'CI uploader')).toBe('SCALEFLEX_KEY_DEMO_CI_UPLOADER');
    expect(secretVariableName('demo-ci', 'x')).toBe('SCALEFLEX_KEY_DEMO_CI_X');
    expect(secretVariableName('demo', '--')).toBe('SCALEFLEX_KEY_DEMO_KEY');
    expect(secretVariableName('', 'Ünïcode 🚀 key')).toBe('SCALEFLEX_KEY_N_CODE_KEY');
  });
});

describe('what the operator trusts: apiUrl and credentials', () => {
  const project = (...ls: string[]) => lines('version: 1', 'projects:', '  - token: demo', ...ls, '    keys: []');
  const allowing = operatorTrust({ SCALEFLEX_ALLOWED_API_URLS: 'https://keys.example.com', SCALEFLEX_ALLOWED_CREDENTIAL_ENV: 'DEMO_KEY' });

  test.each([
    { name: 'an origin nobody allowed', line: '    apiUrl: https://attacker.example', words: ['https://attacker.example is not allowed', 'hint:', 'SCALEFLEX_ALLOWED_API_URLS'] },
    { name: 'plain http to a host that is not loopback', line: '    apiUrl: http://keys.example.com', words: ['plain http'] },
    { name: 'user:password@ in the URL', line: '    apiUrl: https://u:p@api.filerobot.com', words: ['apiUrl must be', 'user:password@'] },
    { name: 'a query string', line: '    apiUrl: https://api.filerobot.com/?x=1', words: ['apiUrl must be', 'query string'] },
    { name: 'a fragment', line: '    apiUrl: https://api.filerobot.com/#x', words: ['apiUrl must be', 'fragment'] },
  ])('apiUrl: $name is refused at its line', ({ line, words }) => {
    const result = parseManifestText(project(line), 'm.yaml');
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.line, d.column])).toEqual([[4, 13]]);
    for (const word of words) expect(result.diagnostics[0]!.message).toContain(word);
  });

  test.each([
    { name: 'the official API', line: '    apiUrl: https://api.filerobot.com' },
    { name: 'loopback over plain http', line: '    apiUrl: http://127.0.0.1:8080' },
    { name: 'an origin the operator allows', line: '    apiUrl: https://keys.example.com/base' },
  ])('apiUrl: $name is accepted', ({ line }) => {
    expect(parseManifestText(project(line), 'm.yaml', { trust: allowing }).diagnostics).toEqual([]);
  });

  test('credentials.env outside SCALEFLEX_* is refused by default and accepted when the operator allows it', () => {
    const text = project('    credentials: {env: DEMO_KEY}');
    const refused = parseManifestText(text, 'm.yaml');
    expect(refused.diagnostics.map((d) => [d.line, d.column])).toEqual([[4, 24]]);
    expect(refused.diagnostics[0]!.message).toContain('credentials.env "DEMO_KEY" is not an allowed credential variable');
    expect(refused.diagnostics[0]!.message).toContain('hint: ');
    expect(parseManifestText(text, 'm.yaml', { trust: allowing }).diagnostics).toEqual([]);
    expect(parseManifestText(project('    credentials: {env: SCALEFLEX_API_KEY_DEMO}'), 'm.yaml').diagnostics).toEqual([]);
  });

  test.each([
    { name: 'an absolute path', file: '/etc/shadow', words: ['absolute path'] },
    { name: 'a path leaving the manifest directory', file: '../../home/ci/.ssh/id_rsa', words: ["leaves the manifest's directory"] },
  ])('credentials.file: $name is refused at its line', ({ file, words }) => {
    const result = parseManifestText(project(`    credentials: {file: "${file}"}`), 'm.yaml');
    expect(result.diagnostics.map((d) => [d.line, d.column])).toEqual([[4, 25]]);
    for (const word of [...words, 'hint: ']) expect(result.diagnostics[0]!.message).toContain(word);
  });

  test('a relative credentials.file inside the tree is accepted', () => {
    expect(parseManifestText(project('    credentials: {file: keys/demo.key}'), 'm.yaml').diagnostics).toEqual([]);
  });
});

describe('protected keys', () => {
  test('`protected: true` reaches the KeySpec; false or absent leaves it out', () => {
    const result = parseManifestText(
      demo(
        '      - description: admin',
        '        permissions: [ACCESS_READ, ACCESS_MANAGE]',
        '        protected: true',
        '      - description: other',
        '        permissions: [OBJECTS_LIST]',
        '        protected: false',
        '      - description: third',
        '        permissions: [OBJECTS_LIST]',
      ),
      'm.yaml',
    );
    expect(result.diagnostics).toEqual([]);
    const keys = result.state!.projects[0]!.keys;
    expect(keys.map((k) => k.protected)).toEqual([true, undefined, undefined]);
    expect(keys.map((k) => 'protected' in k)).toEqual([true, false, false]);
  });

  test('`protected: true` with `active: false` is an error at the active line', () => {
    const result = parseManifestText(
      demo('      - description: admin', '        permissions: [ACCESS_READ]', '        protected: true', '        active: false'),
      'm.yaml',
    );
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.line, d.column])).toEqual([[8, 17]]);
    expect(result.diagnostics[0]!.message).toContain('key "admin" is `protected: true` and `active: false`');
    expect(result.diagnostics[0]!.related?.[0]).toMatchObject({ line: 7, message: 'protected here' });
  });

  test('`protected` must be true or false', () => {
    const result = parseManifestText(demo('      - description: admin', '        permissions: [ACCESS_READ]', '        protected: yes'), 'm.yaml');
    expect(result.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('protected must be true or false')]);
  });
});

describe('no secret is echoed, whatever file validate is pointed at', () => {
  const HEX32 = /[0-9a-f]{32}/i;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-secrets-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function everyFormat(file: string): string {
    const reading = readDesiredState({ file, cwd: dir });
    expect(reading.diagnostics.length).toBeGreaterThan(0);
    return (['text', 'json', 'github'] as const).map((f) => formatDiagnostics(reading.diagnostics, f)).join('\n');
  }

  test('a .env secrets file (the "Unexpected scalar token" repro)', () => {
    const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    fs.writeFileSync(path.join(dir, 'new-keys.env'), `# demo: CI uploader\nSCALEFLEX_KEY_DEMO_CI_UPLOADER=${secret}\nSCALEFLEX_KEY_DEMO_X=${secret.split('').reverse().join('')}\n`);
    const out = everyFormat('new-keys.env');
    expect(out).not.toMatch(HEX32);
    expect(out).toContain('[REDACTED]');
  });

  test('an admin key file and the emulator journal', async () => {
    const stateDir = path.join(dir, 'state');
    const emu = await startEmulator({ stateDir, projects: ['demo'] });
    let admin: string;
    try {
      admin = emu.adminKey('demo');
      await emu.seedKeys('demo', [{ description: 'CI uploader', permissions: ['OBJECTS_LIST'] }]);
    } finally {
      await emu.close();
    }
    const adminOut = everyFormat(path.join('state', 'demo.admin-key'));
    expect(adminOut).not.toContain(admin);
    expect(adminOut).not.toMatch(HEX32);
    const journal = path.join('state', 'state.journal.jsonl');
    expect(fs.readFileSync(path.join(dir, journal), 'utf8')).toMatch(HEX32);
    const journalOut = everyFormat(journal);
    expect(journalOut).not.toContain(admin);
    expect(journalOut).not.toMatch(HEX32);
  });

  test('an unknown permission of 32 hex characters', () => {
    const secret = 'ffeeddccbbaa99887766554433221100';
    fs.writeFileSync(path.join(dir, 'perm.yaml'), demo('      - description: a', `        permissions: [${secret}]`));
    const out = everyFormat('perm.yaml');
    expect(out).not.toContain(secret);
    expect(out).toContain('unknown permission "[REDACTED]"');
  });
});
