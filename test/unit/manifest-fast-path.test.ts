/**
 * The YAML fast path must be invisible: wherever it answers, it gives exactly the value and the positions the
 * full yaml Document path gives, and that path finds nothing wrong. Checked on the examples, hand-picked
 * edge cases and a few thousand seeded random variants of the example.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, Parser } from 'yaml';
import { escapePointer } from '../../src/manifest/diagnostics';
import { parseFast } from '../../src/manifest/yaml-fast';
import { parseYamlManifest } from '../../src/manifest/yaml-source';

const ROOT = path.join(__dirname, '../..');
const example = fs.readFileSync(path.join(ROOT, 'examples/scaleflex-keys.yaml'), 'utf8');

function fast(text: string) {
  const lineCounter = new LineCounter();
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  return parseFast(text, tokens, 'm.yaml', lineCounter);
}

/** Every pointer into a plain value. */
function pointers(value: unknown, at = ''): string[] {
  if (value === null || typeof value !== 'object') return [at];
  const children = Array.isArray(value)
    ? value.flatMap((v, i) => pointers(v, `${at}/${i}`))
    : Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => pointers(v, `${at}/${escapePointer(k)}`));
  return [at, ...children];
}

/** Whether the fast path answered; when it did, that it agrees with the full path in every respect. */
function agrees(text: string): boolean {
  const quick = fast(text);
  if (!quick) return false;
  const full = parseYamlManifest(text, 'm.yaml', { fastPath: false });
  expect({ text, diagnostics: full.diagnostics }).toEqual({ text, diagnostics: [] });
  expect(quick.value).toEqual(full.value);
  for (const p of [...pointers(full.value), '/nope', '/projects/99/keys']) {
    expect({ p, value: quick.locate(p), key: quick.locate(p, 'key') }).toEqual({ p, value: full.locate(p), key: full.locate(p, 'key') });
  }
  return true;
}

test('the fast path answers for the example and for a large plain manifest', () => {
  expect(agrees(example)).toBe(true);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { generateManifest } = require('../../bench/validate.js') as { generateManifest(n: number): string };
  expect(fast(generateManifest(500))).toBeDefined();
});

test.each([
  ['quoted keys and values with escapes', 'version: 1\n"projects":\n  - token: \'demo\'\n    keys:\n      - description: "tab\\tin \\u00e9"\n        permissions: [OBJECTS_LIST, "FILE_UPLOAD"]\n'],
  ['empty values, nulls and empty lists', 'version: 1\nprojects:\n  - token: demo\n    apiUrl:\n    unmanaged: ~\n    keys: [ ]\n'],
  ['numbers, booleans and YAML 1.1 words', 'a: 0x1F\nb: 0o17\nc: -1.5e3\nd: .inf\ne: yes\nf: True\ng: null\nh: 007\n'],
  ['comments everywhere and a document start', '--- # start\n# top\na: 1 # one\n\n# between\nb:\n  # inside\n  - x # item\n  - [y, z] # flow\n'],
  ['a __proto__ key stays data', '__proto__:\n  a: 1\nb: 1\n'],
  ['a byte order mark', '\uFEFFversion: 1\n'],
  ['sequences of sequences', 'a:\n- - x\n  - y\n- []\n'],
])('%s', (_name, text) => {
  expect(agrees(text)).toBe(true);
});

test.each([
  ['anchors and aliases', 'a: &x [1]\nb: *x\n'],
  ['merge keys', 'a: {x: 1}\nb:\n  <<: {y: 2}\n'],
  ['tags', 'a: !!str 1\n'],
  ['block scalars', 'a: |\n  text\n'],
  ['flow mappings', 'a: {b: 1}\n'],
  ['multi-line scalars', 'a: one\n  two\n'],
  ['multi-line flow lists', 'a: [x,\n  y]\n'],
  ['duplicate keys', 'a: 1\na: 2\n'],
  ['non-string keys', '1: a\n'],
  ['a compact nested mapping', 'a: b: c\n'],
  ['tabs', 'a:\t1\n'],
  ['two documents', 'a: 1\n---\nb: 2\n'],
  ['a root list', '- a\n'],
  ['a comment glued to a quoted value', 'a: "x"#c\n'],
  ['a syntax error', 'a: [x\nb: 1\n'],
  ['a trailing comma', 'a: [x, y,]\n'],
])('%s take the full path', (_name, text) => {
  expect(fast(text)).toBeUndefined();
});

test('seeded random damage: wherever the fast path answers, it agrees with the full path', () => {
  let seed = 4242;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = ['*', '&a', '<<: ', '- ', ': ', '{', '}', '[', ']', ',', '"', "'", '\\', '\n', '#', ' #', '---', '...', '!!str ', '? ', '|', '>', '~', '@', '`', '%', 'yes', '1', '0x1', ' ', '  ', '\u00e9', 'a: b: c'];
  let answered = 0;
  for (let i = 0; i < 500; i++) {
    let text = example;
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
  }
  // The damage must leave plenty of documents the fast path takes, or this test proves nothing.
  expect(answered).toBeGreaterThan(100);
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
