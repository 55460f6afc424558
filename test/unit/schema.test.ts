/**
 * The manifest JSON Schema is the one source of truth: valid draft 2020-12 (compiles under ajv strict mode),
 * documented (every property has a description), in step with the precompiled validator and the README's
 * manifest reference, and every example validates — while every example in examples/invalid/ does not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { parseManifestText, readDesiredState } from '../../src/manifest';
import { MANIFEST_FIELDS, UNMANAGED_POLICIES } from '../../src/manifest/document';

const ROOT = path.join(__dirname, '../..');
const schemaText = fs.readFileSync(path.join(ROOT, 'schemas/scaleflex-keys.schema.json'), 'utf8');
const schema = JSON.parse(schemaText);

function strictAjv() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv;
}

/** Every property schema in the document, with a path for messages. */
function propertySchemas(node: unknown, at = '#'): [string, Record<string, unknown>][] {
  if (node === null || typeof node !== 'object') return [];
  const out: [string, Record<string, unknown>][] = [];
  const obj = node as Record<string, unknown>;
  for (const [name, child] of Object.entries((obj.properties as Record<string, unknown>) ?? {})) {
    out.push([`${at}/properties/${name}`, child as Record<string, unknown>]);
  }
  if (obj.additionalProperties && typeof obj.additionalProperties === 'object') {
    out.push([`${at}/additionalProperties`, obj.additionalProperties as Record<string, unknown>]);
  }
  for (const [key, child] of Object.entries(obj)) {
    if (Array.isArray(child)) child.forEach((c, i) => out.push(...propertySchemas(c, `${at}/${key}/${i}`)));
    else if (typeof child === 'object') out.push(...propertySchemas(child, `${at}/${key}`));
  }
  return out;
}

test('the schema declares draft 2020-12 and is valid against its meta-schema', () => {
  expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  const ajv = strictAjv();
  expect(ajv.validateSchema(schema)).toBe(true);
  expect(ajv.errors ?? null).toBeNull();
});

test('the schema compiles under ajv strict mode', () => {
  expect(() => strictAjv().compile(schema)).not.toThrow();
});

test('the schema needs no custom keyword or format: a default ajv 2020 compiles it', () => {
  expect(() => new Ajv2020().compile(schema)).not.toThrow();
});

test('every property and every definition has a description', () => {
  const properties = propertySchemas(schema);
  expect(properties.length).toBeGreaterThan(15);
  const missing = [
    ...properties.filter(([, s]) => typeof s.description !== 'string' || s.description === '').map(([p]) => p),
    // `permission` has none of its own so that editors' hover shows the matched permission's description.
    ...Object.entries(schema.$defs as Record<string, Record<string, unknown>>)
      .filter(([name, s]) => name !== 'permission' && typeof s.description !== 'string')
      .map(([name]) => `#/$defs/${name}`),
    ...(schema.$defs.permission.anyOf as { description?: string }[])
      .filter((branch) => !branch.description)
      .map((_, i) => `#/$defs/permission/anyOf/${i}`),
  ];
  expect(missing).toEqual([]);
});

test('the schema defaults are the defaults the code applies', () => {
  const { state } = parseManifestText('version: 1\nprojects: [{token: demo, keys: [{description: a, permissions: [OBJECTS_LIST]}]}]\n', 'm.yaml');
  expect(schema.$defs.key.properties.active.default).toBe(state?.projects[0]?.keys[0]?.active);
  expect(schema.$defs.project.properties.unmanaged.default).toBe(state?.projects[0]?.unmanaged);
});

describe('the TypeScript manifest types and the schema declare the same fields', () => {
  const objects: Record<keyof typeof MANIFEST_FIELDS, Record<string, unknown>> = {
    manifest: schema,
    project: schema.$defs.project,
    credentials: schema.$defs.credentials,
    delivery: schema.$defs.delivery,
    key: schema.$defs.key,
  };
  test.each(Object.keys(objects) as (keyof typeof MANIFEST_FIELDS)[])('%s', (name) => {
    const object = objects[name];
    const fields = MANIFEST_FIELDS[name] as Record<string, string>;
    expect(Object.keys(object.properties as object).sort()).toEqual(Object.keys(fields).sort());
    expect([...((object.required as string[] | undefined) ?? [])].sort()).toEqual(
      Object.keys(fields).filter((f) => fields[f] === 'required').sort(),
    );
    expect(object.additionalProperties).toBe(false);
  });

  test('unmanaged policies', () => {
    expect(schema.$defs.project.properties.unmanaged.enum).toEqual(UNMANAGED_POLICIES);
  });
});

test('the precompiled validator checks exactly the schema\'s permissions, as an enum', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { validationSchema } = require('../../scripts/generate-schema-validator.js') as { validationSchema(s: object): any };
  const derived = validationSchema(schema);
  expect(derived.$defs.permission).toEqual({ type: 'string', enum: schema.$defs.permission.anyOf.map((b: { const: string }) => b.const) });
  expect({ ...derived, $defs: { ...derived.$defs, permission: undefined } }).toEqual({ ...schema, $defs: { ...schema.$defs, permission: undefined } });
});

test('the precompiled validator is up to date with the schema (npm run generate:schema-validator)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { generate, OUT } = require('../../scripts/generate-schema-validator.js') as { generate(): string; OUT: string };
  expect(fs.readFileSync(OUT, 'utf8')).toBe(generate());
});

const exampleFiles = fs
  .readdirSync(path.join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
  // examples/github/ holds GitHub workflows, not manifests (validated against GitHub's schemas in action-workflows.test.ts).
  .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith(`invalid${path.sep}`) && !f.startsWith(`github${path.sep}`));

test('there is at least the main example', () => {
  expect(exampleFiles).toContain('scaleflex-keys.yaml');
});

test.each(exampleFiles)('examples/%s validates against the schema and the rules', (file) => {
  const text = fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8');
  const validate = strictAjv().compile(schema);
  expect(validate(parseYaml(text))).toBe(true);
  expect(parseManifestText(text, file).diagnostics).toEqual([]);
});

test('the main example points editors at the schema with a correct relative path', () => {
  const text = fs.readFileSync(path.join(ROOT, 'examples/scaleflex-keys.yaml'), 'utf8');
  const match = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text.split('\n')[0] ?? '');
  expect(match).not.toBeNull();
  expect(fs.existsSync(path.join(ROOT, 'examples', match![1]!))).toBe(true);
});

test('the main example has two projects, permission sets, a deactivated key and a rename', () => {
  const { state } = parseManifestText(fs.readFileSync(path.join(ROOT, 'examples/scaleflex-keys.yaml'), 'utf8'), 'x');
  const keys = state!.projects.flatMap((p) => p.keys);
  expect(state!.projects).toHaveLength(2);
  expect(fs.readFileSync(path.join(ROOT, 'examples/scaleflex-keys.yaml'), 'utf8')).toMatch(/^permissionSets:/m);
  expect(keys.some((k) => !k.active)).toBe(true);
  expect(keys.some((k) => k.formerDescriptions.length > 0)).toBe(true);
  expect(keys.every((k) => k.uuid === undefined)).toBe(true);
});

/** Each broken example and the problems it must produce: `line:column` and a key phrase. */
const brokenExamples: Record<string, [string, string][]> = {
  'alias-bomb.yaml': [['10:22', 'alias bomb']],
  'bad-values.yaml': [
    ['2:10', 'version must be 1'],
    ['4:12', 'token "Demo"'],
    ['5:16', 'unmanaged must be one of'],
    ['9:15', 'uuid must be a UUID'],
    ['12:12', 'project token "media" is declared twice'],
  ],
  'duplicate-description.yaml': [['8:22', 'duplicate description "test"']],
  'duplicate-key.yaml': [['8:9', 'duplicate key "permissions"']],
  'empty.yaml': [['1:1', 'the manifest is empty']],
  'not-a-mapping.yaml': [['2:1', 'root must be a mapping']],
  'secret-in-manifest.yaml': [
    ['6:12', 'secrets never go in the manifest'],
    ['10:9', 'secrets never go in the manifest'],
  ],
  'two-documents.yaml': [['6:1', 'one YAML document']],
  'unknown-field.yaml': [
    ['3:1', 'did you mean "projects"?'],
    ['10:9', 'did you mean "permissions"?'],
  ],
  'unknown-permission-set.yaml': [
    ['9:26', 'did you mean "read-only"?'],
    ['10:9', 'has no permissions'],
  ],
  'unknown-permission.yaml': [
    ['7:23', 'did you mean "FILE_UPLOAD"?'],
    ['7:35', 'did you mean "FILE_UPLOAD"?'],
  ],
  'yaml-1-1-boolean.yaml': [['8:17', 'YAML 1.2']],
  'invisible-characters.yaml': [
    ['6:22', 'contains U+200B (ZERO WIDTH SPACE), an invisible character; remove it'],
    ['8:22', 'contains U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional control character'],
  ],
  'secret-variable-collision.yaml': [['8:22', 'would store its secret in the variable SCALEFLEX_KEY_DEMO_CI_UPLOADER, like key "CI uploader"']],
  'untrusted-sources.yaml': [
    ['5:13', 'the API origin https://keys.attacker.example is not allowed'],
    ['7:12', 'credentials.env "AWS_SECRET_ACCESS_KEY" is not an allowed credential variable'],
    ['12:17', 'is `protected: true` and `active: false`'],
  ],
};

test('every file in examples/invalid/ has its expected problems listed here', () => {
  expect(fs.readdirSync(path.join(ROOT, 'examples/invalid')).sort()).toEqual(Object.keys(brokenExamples).sort());
});

test.each(Object.entries(brokenExamples))('examples/invalid/%s reports exactly its problems', (file, expected) => {
  const reading = readDesiredState({ file: `examples/invalid/${file}`, cwd: ROOT });
  expect(reading.state).toBeUndefined();
  expect(reading.diagnostics.map((d) => `${d.line}:${d.column}`)).toEqual(expected.map(([at]) => at));
  reading.diagnostics.forEach((d, i) => expect(d.message).toContain(expected[i]![1]));
});

test('the README manifest reference names every field of the schema', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /<!-- section:manifest -->([\s\S]*?)<!-- \/section:manifest -->/.exec(readme)?.[1] ?? '';
  const names = new Set<string>();
  for (const [p] of propertySchemas(schema)) {
    const m = /\/properties\/([^/]+)$/.exec(p);
    if (m) names.add(m[1]!);
  }
  // A field appears as `name` or as the last part of a path such as `projects[].token`.
  const missing = [...names].filter((name) => !new RegExp(`\`(?:[A-Za-z]+(?:\\[\\])?\\.)*${name}\``).test(section));
  expect(missing).toEqual([]);
  for (const { const: permission } of schema.$defs.permission.anyOf as { const: string }[]) expect(section).toContain(`\`${permission}\``);
});
