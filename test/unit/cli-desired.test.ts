/** Unit tests of the pre-parse guess of project tokens (used only to start listing early, never trusted). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { guessProjectTokens } from '../../src/cli/desired';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each([
  { name: 'block-style tokens are found in order', text: 'version: 1\nprojects:\n  - token: a\n    keys: []\n  - token: "b-2"  # second\n    keys: []\n', flags: {}, expected: ['a', 'b-2'] },
  { name: '--project narrows the guess to the named projects', text: 'projects:\n  - token: a\n  - token: b\n', flags: { project: ['b'] }, expected: ['b'] },
  { name: 'a manifest naming an apiUrl gives no guess', text: 'projects:\n  - token: a\n    apiUrl: https://example.com\n', flags: {}, expected: [] },
  { name: 'a manifest naming credentials gives no guess', text: 'projects:\n  - token: a\n    credentials: { env: X }\n', flags: {}, expected: [] },
  { name: 'even a flow mapping or a comment about apiUrl gives no guess', text: 'projects:\n  - {token: a, apiUrl: "https://x"}\n', flags: {}, expected: [] },
  { name: 'a description that mentions a token is not a token line', text: 'projects:\n  - token: a\n    keys:\n      - description: "token: evil"\n', flags: {}, expected: ['a'] },
])('$name', ({ text, flags, expected }) => {
  fs.writeFileSync(path.join(dir, 'm.yaml'), text);
  expect(guessProjectTokens({ file: 'm.yaml', ...flags }, dir)).toEqual(expected);
});

test('a CDKTF stack or a missing file gives no guess', () => {
  expect(guessProjectTokens({ fromCdktf: 'cdk.tf.json' }, dir)).toEqual([]);
  expect(guessProjectTokens({ file: 'missing.yaml' }, dir)).toEqual([]);
});
