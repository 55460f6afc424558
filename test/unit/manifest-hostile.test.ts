/**
 * Hostile and broken input fails fast with a diagnostic — never a throw, never a hang: alias bombs, deep
 * nesting, files over 10 MB (refused by size before reading), binary data, invalid UTF-8, empty files,
 * missing files; and `loadDesiredState` turns every problem into one ManifestError.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManifestError, UsageError } from '../../src/errors';
import { loadDesiredState, MAX_MANIFEST_BYTES, parseManifestText, readDesiredState } from '../../src/manifest';

const billionLaughs = [
  'version: 1',
  'permissionSets:',
  '  a: &a [OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST, OBJECTS_LIST]',
  ...'bcdefghi'.split('').map((c, i) => `  ${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  'projects: [{token: demo, keys: []}]',
].join('\n');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: string | Uint8Array) => {
  fs.writeFileSync(path.join(dir, name), content);
  return name;
};

describe('hostile text is refused quickly with one clear diagnostic', () => {
  test.each([
    { name: 'a billion-laughs alias bomb', text: billionLaughs, words: ['alias bomb'] },
    { name: 'an alias that contains itself', text: 'version: 1\nprojects: &p [*p]\n', words: ['contains it'] },
    { name: 'a flow list nested 100,000 deep', text: '['.repeat(100_000), words: ['nested too deeply'] },
    { name: 'block mappings nested 2,000 deep', text: Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'), words: ['nested'] },
    { name: 'text with NUL bytes', text: 'version: 1\u0000\n', words: ['binary'] },
    { name: 'text over 10 MB', text: `# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n`, words: ['10 MB'] },
    { name: 'text of 10,000,001 bytes (10 MB counted in decimal)', text: `#${'x'.repeat(9_999_999)}\n`, words: ['10 MB'] },
  ])('$name', ({ text, words }) => {
    const started = Date.now();
    const result = parseManifestText(text, 'm.yaml');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics).toHaveLength(1);
    for (const word of words) expect(result.diagnostics[0]?.message).toContain(word);
  });

  test('the alias bomb is reported at an alias, not at line 1', () => {
    const [d] = parseManifestText(billionLaughs, 'm.yaml').diagnostics;
    expect(d?.line).toBeGreaterThan(3);
  });

  test('many aliases of a small anchor are fine (10,000 keys sharing one list)', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `      - {description: k${i}, permissions: *ro}`);
    const text = ['version: 1', 'permissionSets:', '  ro: &ro [OBJECTS_LIST]', 'projects:', '  - token: demo', '    keys:', ...keys].join('\n');
    const result = parseManifestText(text, 'm.yaml');
    expect(result.diagnostics).toEqual([]);
    expect(result.state?.projects[0]?.keys).toHaveLength(10_000);
  });
});

describe('files are checked before they are parsed', () => {
  test.each([
    { name: 'a missing file', file: () => 'missing.yaml', line: 1, column: 1, words: ['manifest not found', 'missing.yaml'] },
    { name: 'a directory', file: () => (fs.mkdirSync(path.join(dir, 'adir'), { recursive: true }), 'adir'), line: 1, column: 1, words: ['is a directory'] },
    { name: 'a device that never ends', file: () => '/dev/zero', line: 1, column: 1, words: ['not a regular file'] },
    { name: 'an empty file', file: () => write('empty.yaml', ''), line: 1, column: 1, words: ['empty'] },
    {
      name: 'a binary file',
      file: () => write('binary.yaml', Buffer.from([0x76, 0x3a, 0x20, 0x31, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x00, 0x01])),
      line: 2, column: 5, words: ['binary file', 'NUL'],
    },
    {
      name: 'invalid UTF-8 points at the bad byte',
      file: () => write('latin1.yaml', Buffer.concat([Buffer.from('version: 1\nprojects:\n  - token: d'), Buffer.from([0xe9]), Buffer.from('mo\n')])),
      line: 3, column: 13, words: ['not valid UTF-8'],
    },
    {
      name: 'invalid UTF-8 after multi-byte characters counts characters',
      file: () => write('mixed.yaml', Buffer.concat([Buffer.from('# é€ '), Buffer.from([0xc3, 0x28])])),
      line: 1, column: 6, words: ['not valid UTF-8'],
    },
    {
      name: 'a file over 10 MB is refused by its size',
      file: () => {
        // A sparse file: stat reports 11 MB without 11 MB being written, so this also proves nothing is read.
        const fd = fs.openSync(path.join(dir, 'huge.yaml'), 'w');
        fs.ftruncateSync(fd, 11 * 1024 * 1024);
        fs.closeSync(fd);
        return 'huge.yaml';
      },
      line: 1, column: 1, words: ['11.5 MB', 'larger than the 10 MB'],
    },
  ])('$name', ({ file, line, column, words }) => {
    const name = file();
    const reading = readDesiredState({ file: name, cwd: dir });
    expect(reading.state).toBeUndefined();
    expect(reading.diagnostics).toHaveLength(1);
    const [d] = reading.diagnostics;
    expect([d?.file, d?.line, d?.column]).toEqual([name, line, column]);
    for (const word of words) expect(d?.message).toContain(word);
  });
});

describe('loadDesiredState', () => {
  test('reads scaleflex-keys.yaml from the working directory by default', () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'default-'));
    fs.writeFileSync(path.join(cwd, 'scaleflex-keys.yaml'), 'version: 1\nprojects: [{token: demo, keys: [{description: a, permissions: [OBJECTS_LIST]}]}]\n');
    const state = loadDesiredState({ cwd });
    expect(state.projects[0]?.keys[0]?.source?.file).toBe('scaleflex-keys.yaml');
  });

  test('throws one ManifestError carrying every problem, each in its message too', () => {
    write('two-problems.yaml', 'version: 2\nprojects: []\n');
    let error: unknown;
    try {
      loadDesiredState({ file: 'two-problems.yaml', cwd: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    const manifestError = error as ManifestError;
    expect(manifestError.diagnostics.map((d) => `${d.line}:${d.column}`)).toEqual(['1:10', '2:11']);
    expect(manifestError.message).toContain('two-problems.yaml:1:10: error: version must be 1');
    expect(manifestError.message).toContain('two-problems.yaml:2:11: error: projects must list at least one project');
  });

  test('a missing file is a ManifestError with a clear message', () => {
    expect(() => loadDesiredState({ file: 'nowhere.yaml', cwd: dir })).toThrow(/manifest not found: .*nowhere\.yaml does not exist/);
  });

  test('naming both a manifest and a CDKTF stack is a usage error', () => {
    expect(() => loadDesiredState({ file: 'a.yaml', fromCdktf: 'cdk.tf.json', cwd: dir })).toThrow(UsageError);
  });
});

test('random damage to the example never throws and always yields located diagnostics or a state', () => {
  const example = fs.readFileSync(path.join(__dirname, '../../examples/scaleflex-keys.yaml'), 'utf8');
  // A small seeded generator, so a failure can be replayed.
  let seed = 20261126;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = ['*', '&a', '<<: *a', '- ', ': ', '{', '}', '[', ']', '"', "'", '\t', '\n', '#', '---', '!!str ', '? ', '|', '>', '~', 'yes', '\u00e9'];
  for (let i = 0; i < 250; i++) {
    let text = example;
    for (let edits = 1 + random(4); edits > 0; edits--) {
      const at = random(text.length);
      const op = random(3);
      if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + random(8));
      else if (op === 1) text = text.slice(0, at) + pieces[random(pieces.length)] + text.slice(at);
      else {
        const lines = text.split('\n');
        const a = random(lines.length);
        const b = random(lines.length);
        [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
        text = lines.join('\n');
      }
    }
    const result = parseManifestText(text, 'm.yaml');
    const lineCount = text.split('\n').length;
    if (result.state === undefined) expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    for (const d of result.diagnostics) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.line).toBeLessThanOrEqual(lineCount);
      expect(d.column).toBeGreaterThanOrEqual(1);
      expect(d.message).not.toMatch(/\n\s+at /);
      // That message means an internal exception was caught: a bug, not a diagnosis.
      expect(d.message).not.toContain('could not be read');
    }
  }
});
