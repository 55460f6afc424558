/**
 * The YAML fast path (`yaml-quick`, js-yaml) must be invisible. Wherever it answers, it gives exactly the value
 * (key order, numbers, -0 and NaN included) and the positions the precise path (`yaml-document`) gives, and that
 * path finds nothing wrong; and `parseManifestText` returns the same result with or without it. Checked over the
 * examples, the invalid examples, hostile inputs, hand-picked YAML 1.1/1.2 differences, generated manifests and
 * a few thousand seeded random variants of the example.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Document, isScalar } from 'yaml';
import { parseManifestText } from '../../src/manifest';
import { escapePointer } from '../../src/manifest/diagnostics';
import { parseYamlManifest } from '../../src/manifest/yaml-source';
import { corePlainScalar } from '../../src/manifest/yaml-quick';
import { readPlainManifest } from '../../src/manifest/yaml-lines';
import { checkRules } from '../../src/manifest/rules';
import { operatorTrust } from '../../src/trust';

const ROOT = path.join(__dirname, '../..');
const example = fs.readFileSync(path.join(ROOT, 'examples/scaleflex-keys.yaml'), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { generateManifest } = require('../../bench/validate.js') as { generateManifest(n: number): string };

/** Every YAML file under examples/ (the invalid ones included). */
function corpus(dir = path.join(ROOT, 'examples')): [string, string][] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry): [string, string][] => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : corpus(file);
    return /\.ya?ml$/.test(entry.name) ? [[path.relative(ROOT, file), fs.readFileSync(file, 'utf8')]] : [];
  });
}

/** Every pointer into a plain value, in key order. */
function pointers(value: unknown, at = ''): string[] {
  if (value === null || typeof value !== 'object') return [at];
  const children = Array.isArray(value)
    ? value.flatMap((v, i) => pointers(v, `${at}/${i}`))
    : Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => pointers(v, `${at}/${escapePointer(k)}`));
  return [at, ...children];
}

/** Whether the fast path answered; when it did, that it agrees with the precise path in every respect. */
function agrees(text: string): boolean {
  const quick = parseYamlManifest(text, 'm.yaml');
  if (!quick.quick) return false;
  const full = parseYamlManifest(text, 'm.yaml', { fastPath: false });
  expect({ text, diagnostics: full.diagnostics }).toEqual({ text, diagnostics: [] });
  expect(quick.value).toEqual(full.value);
  const all = pointers(full.value);
  expect(pointers(quick.value)).toEqual(all);
  for (const p of [...all, '/nope', '/projects/99/keys']) {
    expect({ p, value: quick.locate(p), key: quick.locate(p, 'key') }).toEqual({ p, value: full.locate(p), key: full.locate(p, 'key') });
  }
  return true;
}

/** `parseManifestText` gives the same state and diagnostics with and without the fast path. */
function sameResult(text: string): void {
  expect(parseManifestText(text, 'm.yaml')).toEqual(parseManifestText(text, 'm.yaml', { fastPath: false }));
}

test('plain scalars resolve as yaml resolves them under the YAML 1.2 core schema', () => {
  const tags = new Document(null, { version: '1.2', schema: 'core' }).schema.tags.filter((tag) => tag.default && tag.test);
  const yamlResolve = (text: string): unknown => {
    for (const tag of tags) {
      if (tag.test?.test(text)) {
        const value = (tag.resolve as (s: string, onError: () => void, options: object) => unknown)(text, () => undefined, {});
        return isScalar(value) ? value.value : value;
      }
    }
    return text;
  };
  const words = [
    '', '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'FALSE', 'yes', 'no', 'on',
    'off', 'y', 'n', '0', '-0', '+0', '007', '08', '1_000', '0x1F', '0X1F', '0x', '-0x1', '0o17', '0o8', '017', '0b101',
    '1.5', '-1.5e3', '1e3', '1E+3', '.5', '5.', '-.5', '+.5e-2', '1.', '.', '.e3', '.inf', '-.inf', '+.Inf', '.INF',
    '.nan', '.NaN', '.NAN', '-.nan', 'inf', 'nan', '12:30', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '9007199254740993',
    '1e400', '-', '+', '~x', 'n/a', 'tru', 'OBJECTS_LIST', 'svc-1 t2',
  ];
  for (const word of words) {
    const expected = yamlResolve(word);
    expect({ word, value: corePlainScalar(word) }).toEqual({ word, value: typeof expected === 'string' ? expect.any(Symbol) : expected });
  }
});

test('the line reader (the first tier of the fast path) reads the example and generated manifests, so every test here covers it', () => {
  expect(readPlainManifest(example)).toBeDefined();
  for (const n of [1, 7, 500]) expect(readPlainManifest(generateManifest(n))).toBeDefined();
  // What it leaves to js-yaml (the second tier) is still read on the fast path.
  expect(readPlainManifest('a: [x, y,]\n')).toBeUndefined();
  expect(agrees('a: [x, y,]\n')).toBe(true);
});

test('the fast path answers for the example and for generated manifests, with the same result', () => {
  expect(agrees(example)).toBe(true);
  for (const n of [1, 7, 500]) expect(agrees(generateManifest(n))).toBe(true);
  sameResult(generateManifest(2000));
});

test.each(corpus())('%s: the same result on both paths', (_file, text) => {
  agrees(text);
  sameResult(text);
});

test.each([
  ['quoted keys and values with escapes', 'version: 1\n"projects":\n  - token: \'demo\'\n    keys:\n      - description: "tab\\tin \\u00e9 \\x41 \\U0001F680 \\N\\_"\n        permissions: [OBJECTS_LIST, "FILE_UPLOAD", \'it\'\'s\']\n'],
  ['empty values, nulls and empty lists', 'version: 1\nprojects:\n  - token: demo\n    apiUrl:\n    unmanaged: ~\n    keys: [ ]\n    other: []\n'],
  ['numbers, booleans and YAML 1.1 words', 'a: 0x1F\nb: 0o17\nc: -1.5e3\nd: .inf\ne: yes\nf: True\ng: null\nh: 007\ni: -0\nj: .nan\nk: 0b1\nl: 1_000\nm: 12:30\nn: 2001-12-14\no: on\n'],
  ['non-string keys', '1: a\n0x10: b\ntrue: c\nnull: d\n.5: e\n'],
  ['comments everywhere', '# top\na: 1 # one\n\n# between\nb:\n  # inside\n  - x # item\n  - [y, z] # flow\n  -   # empty item\n  - # before a mapping\n    c: d\n'],
  ['a __proto__ key stays data', '__proto__:\n  a: 1\nb: 1\n'],
  ['sequences of sequences', 'a:\n- - x\n  - y\n- []\n- - - z\n'],
  ['a list at the key\'s indentation', 'version: 1\nprojects:\n- token: demo\n  keys:\n  - description: a\n    permissions: [OBJECTS_LIST]\n'],
  ['plain scalars with inner punctuation', 'a: b:c\nd: e #f\ng: h#i\nj: -k\nk: "x" # c\nl: a, b\nm: 50%\nn: a > b & c * d\n'],
  ['unicode', 'a: "Загрузчик — café 🚀 עברית"\nb: 🚀\nc: "\\u200B"\n'],
  ['a trailing comma', 'a: [x, y,]\n'],
  ['no final newline', 'a: [x]\nb: c'],
])('%s', (_name, text) => {
  expect(agrees(text)).toBe(true);
  sameResult(text);
});

test.each([
  ['anchors and aliases', 'a: &x [1]\nb: *x\n'],
  ['merge keys', 'a: {x: 1}\nb:\n  <<: {y: 2}\n'],
  ['tags', 'a: !!str 1\n'],
  ['binary', 'a: !!binary aGVsbG8=\n'],
  ['block scalars', 'a: |\n  text\n'],
  ['folded scalars', 'a: >\n  text\n'],
  ['flow mappings', 'a: {b: 1}\n'],
  ['a mapping in a flow list', 'a: [b: 1]\n'],
  ['multi-line scalars', 'a: one\n  two\n'],
  ['multi-line quoted scalars', 'a: "one\n  two"\n'],
  ['multi-line flow lists', 'a: [x,\n  y]\n'],
  ['duplicate keys', 'a: 1\na: 2\n'],
  ['keys equal as strings only', '1: a\n"1": b\n'],
  ['a flow list as a key', '[a]: 1\n'],
  ['an explicit key', '? a\n: 1\n'],
  ['a compact nested mapping', 'a: b: c\n'],
  ['tabs', 'a:\t1\n'],
  ['CR line ends', 'a: 1\r\nb: 2\r\n'],
  ['a byte order mark', '\uFEFFversion: 1\n'],
  ['a document start', '---\na: 1\n'],
  ['a directive', '%YAML 1.2\n---\na: 1\n'],
  ['two documents', 'a: 1\n---\nb: 2\n'],
  ['a root list', '- a\n'],
  ['a root scalar', 'a\n'],
  ['a comment glued to a quoted value', 'a: "x"#c\n'],
  ['a syntax error', 'a: [x\nb: 1\n'],
  ['an empty flow item', 'a: [x, , y]\n'],
  ['a reserved indicator', 'a: @x\n'],
  ['a key over 1024 characters', `${'k'.repeat(1100)}: 1\n`],
  ['deep nesting', `${Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`],
])('%s take the precise path', (_name, text) => {
  expect(parseYamlManifest(text, 'm.yaml').quick).toBeUndefined();
  sameResult(text);
});

test.each([
  'a : 1\n"b" : 2\n',
  'a:    1   \nb:   [x]   \n',
  'a: [a:b, c]\n',
  'a: ["b":c]\n',
  'a: [x, [y, z], []]\n',
  'a:\n  b: 1\n c: 2\n',
  'a:\n  - b\n  -c\n',
  '- a: 1\n   b: 2\n',
  'a: "\\/ \\e \\  \\0 \\a \\v \\L \\P"\n',
  'a: \'\'\nb: ""\n',
  'a: 12345678901234567890\nb: 0xFFFFFFFFFFFFFFFFFF\nc: 1e400\nd: +12\ne: 0o0\n',
  'a: b\n  # comment\nc: d\n',
  'a: # only a comment\nb: 1\n',
  '# only comments\n',
  'a: x\n...\n',
  'a:\n- b\n- c\nd: e\n',
  'a: -\nb: - x\n',
  'a: "x" y\n',
  'a: [x] y\n',
  'a: x]\n',
  'a: \u00a0x\n',
  'a: \ud800\n',
  'a:\n[x]\n',
  'a:\n"x"\n',
  'a:\nb\n',
  'a:\n  [x]\n  y\n',
  '"a":b\n',
  "'a':b\n",
  'a: [x]:\n',
  'a: 1\nfoo\nb: 2\n',
  '- a\n - b\n',
  'a:',
  'a: b\n   \nc: d\n',
  'a: x #\n',
  'a: [x]#c\n',
  'a: - - x\n',
  'a: b\n- c\n',
  '- a\nb: c\n',
  'a:\n  - b\n  c: d\n',
  'a:\n  b: c\n  - d\n',
])('either path, the same result: %j', (text) => {
  agrees(text);
  sameResult(text);
});

test('hostile inputs: the same result on both paths', () => {
  // Where a stack overflow is noticed depends on the stack at hand, so only the message must match.
  const messages = (text: string, fastPath: boolean) => parseManifestText(text, 'm.yaml', { fastPath }).diagnostics.map((d) => d.message);
  for (const deep of ['['.repeat(10_000), Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')]) {
    expect(messages(deep, true)).toEqual(messages(deep, false));
  }
  const hostile = [
    'version: 1\nprojects: &p [*p]\n',
    `version: 1\nprojects:\n${'  - token: t\n    keys: []\n'.repeat(3)}`,
    'version: 1\nprojects:\n  - token: demo\n    keys:\n      - description: a\n        permissions: [NOPE]\n        descriptoin: x\n',
    'version: 1\nprojects:\n  - token: demo\n    keys:\n      - description: "a\\u202Eb"\n        permissions: [OBJECTS_LIST]\n',
    'version: 1\nprojects:\n  - token: demo\n    secret: abc\n    keys: []\n',
    '\u0085a: 1\n',
    'a: "\\q"\n',
    'a: \u0001\n',
  ];
  for (const text of hostile) {
    agrees(text);
    sameResult(text);
  }
});

test('seeded random damage: wherever the fast path answers, it agrees with the precise path', () => {
  let seed = 4242;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = [
    '*', '&a', '<<: ', '- ', ': ', '{', '}', '[', ']', ',', '"', "'", '\\', '\n', '#', ' #', '---', '...', '!!str ', '? ', '|',
    '>', '~', '@', '`', '%', 'yes', '1', '0x1', '.inf', '-0', ' ', '  ', '\u00e9', 'a: b: c', '\t', '[a]: ', '"x"#', '\n  ',
  ];
  const base = [example, generateManifest(12)];
  let answered = 0;
  let same = 0;
  for (let i = 0; i < 1500; i++) {
    let text = base[i % base.length] as string;
    for (let edits = 1 + random(3); edits > 0; edits--) {
      const at = random(text.length);
      const op = random(3);
      if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + random(4));
      else if (op === 1) text = text.slice(0, at) + pieces[random(pieces.length)] + text.slice(at);
      else {
        const lines = text.split('\n');
        const a = random(lines.length);
        const b = random(lines.length);
        [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
        text = lines.join('\n');
      }
    }
    if (agrees(text)) answered++;
    if (i % 5 === 0) {
      sameResult(text);
      same++;
    }
  }
  // The damage must leave plenty of documents the fast path takes, or this test proves nothing.
  expect(answered).toBeGreaterThan(300);
  expect(same).toBe(300);
});

/** Every mapping key in a plain value. */
function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => keysOf(item, into));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keysOf(v, into);
    }
  }
  return into;
}

const oneKey = (...lines: string[]) =>
  ['version: 1', 'projects:', '  - token: demo', '    keys:', '      - description: a', '        permissions: [OBJECTS_LIST]', ...lines, ''].join('\n');

// The line reader names every mapping key, and the rules skip a field the document never names: each manifest here
// names the field a skipped rule is about, in the line reader's subset, so the fast path must still report it.
test.each([
  ['a former description equal to the current one', oneKey('        formerDescriptions: [a]')],
  ['a former description claimed twice', oneKey('        formerDescriptions: [old]', '      - description: b', '        permissions: [OBJECTS_LIST]', '        formerDescriptions: [old]')],
  ['a uuid pinned twice', oneKey('        uuid: 0b5c3a0e-1111-4222-8333-444455556666', '      - description: b', '        permissions: [OBJECTS_LIST]', '        uuid: 0b5c3a0e-1111-4222-8333-444455556666')],
  ['a protected key switched off', oneKey('        protected: true', '        active: false')],
  ['a pinned key that rotates', oneKey('        uuid: 0b5c3a0e-1111-4222-8333-444455556666', '        rotate:', '          every: 90d', '          overlap: 7d')],
  ['a project rotation whose overlap is as long as its period', oneKey().replace('    keys:', '    rotate:\n      every: 7d\n      overlap: 7d\n    keys:')],
  ['an expiry that is no date', oneKey('        expires: 2027-02-30')],
  ['a sink with both exec and file', oneKey('        deliver:', '          - exec: [gh, secret, set, "{name}"]', '            file: out.env')],
  ['a secret pasted into a key', oneKey('        apiKey: abc')],
  ['a secret pasted into a project', oneKey().replace('    keys:', '    secret-key: abc\n    keys:')],
])('%s: reported on the fast path too', (_name, text) => {
  const lines = readPlainManifest(text);
  expect(lines).toBeDefined();
  expect(lines!.fieldNames).toEqual(keysOf(lines!.value));
  // The rules alone (a schema error would send the whole manifest to the precise path and hide a skipped rule).
  const parsed = parseYamlManifest(text, 'm.yaml');
  expect(parsed.fieldNames).toEqual(lines!.fieldNames);
  const skipping = checkRules(parsed.value, parsed.locate, { trust: operatorTrust({}), fieldNames: parsed.fieldNames });
  expect(skipping.diagnostics).not.toEqual([]);
  expect(skipping).toEqual(checkRules(parsed.value, parsed.locate, { trust: operatorTrust({}) }));
  expect(parseManifestText(text, 'm.yaml')).toEqual(parseManifestText(text, 'm.yaml', { fastPath: false }));
});

test('reading a manifest leaves the process alone: process.env is never replaced, on either path', () => {
  const original = Object.getOwnPropertyDescriptor(process, 'env') as PropertyDescriptor;
  const env = process.env;
  let replaced = 0;
  // Count assignments to `process.env` while both paths read a plain and a non-plain manifest.
  Object.defineProperty(process, 'env', {
    configurable: true,
    enumerable: original.enumerable ?? true,
    get: () => env,
    set: () => {
      replaced++;
    },
  });
  try {
    parseYamlManifest(example, 'm.yaml');
    parseYamlManifest(example, 'm.yaml', { fastPath: false });
    parseYamlManifest('a: &x [1]\nb: *x\n', 'm.yaml');
  } finally {
    Object.defineProperty(process, 'env', original);
  }
  expect(replaced).toBe(0);
  expect(process.env).toBe(env);
});

test('the precompiled schema validator is build output: ignored by git and generated before every tsc run', () => {
  const ignored = fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n').map((line) => line.trim());
  expect(ignored).toContain('src/manifest/schema-validator.generated.ts');
  const { scripts, dependencies } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };
  // `npm test` type-checks before it builds, so it must generate first too; `prepare` (npm install / npm ci) builds.
  for (const name of ['build', 'typecheck', 'test']) {
    const script = scripts[name] ?? '';
    expect(script.indexOf('generate:schema-validator')).toBeGreaterThanOrEqual(0);
    expect(script.indexOf('generate:schema-validator')).toBeLessThan(script.indexOf('tsc'));
  }
  expect(scripts.prepare).toBe('npm run build');
  // Only the generator needs ajv-formats; the generated code requires nothing but ajv's runtime.
  expect(Object.keys(dependencies)).not.toContain('ajv-formats');
  const generated = fs.readFileSync(path.join(ROOT, 'src/manifest/schema-validator.generated.ts'), 'utf8');
  const required = [...generated.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  expect(required.filter((name) => !name?.startsWith('ajv/dist/runtime/'))).toEqual([]);
});
