/**
 * `readCdktfStack`: a synthesized stack back to a DesiredState, validated like a YAML manifest, with problems
 * located at the resource's line in cdk.tf.json and naming its construct path; and the small helpers the
 * destroy-time `deactivate` relies on (`readKeySpecText`, `readStackFile`, and the pure `lookupStackKey` /
 * `destroyVerdict` of the destroy check).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Permission, ScaleflexApiKey, ScaleflexProject } from '../../src/cdktf';
import { destroyVerdict, lookupStackKey } from '../../src/manifest/cdktf/destroy-check';
import { readCdktfStack, readCdktfStackText, readKeySpecText, readStackFile } from '../../src/manifest/cdktf/reader';
import { escapeTerraformTemplate, unescapeTerraformTemplate } from '../../src/manifest/cdktf/wire';
import { formatDiagnostics, parseManifestText } from '../../src/manifest';
import type { DesiredState } from '../../src/model';
import { operatorTrust } from '../../src/trust';

/** What the operator of these stacks allows: their API origin and their credential variable. */
const trust = operatorTrust({ SCALEFLEX_ALLOWED_API_URLS: 'https://api.example.test', SCALEFLEX_ALLOWED_CREDENTIAL_ENV: 'DEMO_ADMIN_KEY' });
/** A diagnostic as `validate` prints it: the construct path comes from the structured `construct`. */
const shown = (d: import('../../src/errors').Diagnostic | undefined) => (d ? formatDiagnostics([d], 'text').replace(/^.*?: error: /, '') : '');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Synthesizes a stack the way `cdktf synth` does (metadata included) and returns the cdk.tf.json path. */
function synthFile(build: (stack: TerraformStack) => void, opts: { skipValidation?: boolean } = {}): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  dirs.push(outdir);
  const app = new App({ outdir, skipValidation: opts.skipValidation ?? false });
  build(new TerraformStack(app, 'keys'));
  app.synth();
  return path.join(outdir, 'stacks', 'keys', 'cdk.tf.json');
}

function twoProjects(stack: TerraformStack): void {
  const sets = { 'read-only': [Permission.OBJECTS_LIST, Permission.OBJECTS_FETCH] };
  const demo = new ScaleflexProject(stack, 'demo', { token: 'demo', credentialsEnv: 'DEMO_ADMIN_KEY', apiUrl: 'https://api.example.test', permissionSets: sets });
  new ScaleflexApiKey(demo, 'uploader', { description: 'CI uploader', permissions: [Permission.FILE_UPLOAD], permissionSets: ['read-only'], formerDescriptions: ['uploader'] });
  new ScaleflexApiKey(demo, 'old', { description: 'Old', permissions: [Permission.OBJECTS_LIST], active: false });
  const shop = new ScaleflexProject(stack, 'shop', { token: 'shop', unmanaged: 'ignore' });
  new ScaleflexApiKey(shop, 'pinned', { description: 'test', permissions: [Permission.LABELS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' });
}

describe('readCdktfStack on a synthesized stack', () => {
  const file = synthFile(twoProjects);
  const read = readCdktfStack(file, { trust });

  test('reads every project and key, with sets expanded and defaults filled in', () => {
    expect(read.diagnostics).toEqual([]);
    const projects = read.state!.projects.map((p) => ({
      token: p.token,
      apiUrl: p.apiUrl,
      credentials: p.credentials,
      unmanaged: p.unmanaged,
      keys: p.keys.map(({ source: _source, ...k }) => k),
    }));
    expect(projects).toEqual([
      {
        token: 'demo',
        apiUrl: 'https://api.example.test',
        credentials: { env: 'DEMO_ADMIN_KEY' },
        unmanaged: 'deactivate',
        keys: [
          { description: 'CI uploader', permissions: ['FILE_UPLOAD', 'OBJECTS_FETCH', 'OBJECTS_LIST'], active: true, formerDescriptions: ['uploader'] },
          { description: 'Old', permissions: ['OBJECTS_LIST'], active: false, formerDescriptions: [] },
        ],
      },
      {
        token: 'shop',
        apiUrl: undefined,
        credentials: undefined,
        unmanaged: 'ignore',
        keys: [{ description: 'test', permissions: ['LABELS_LIST'], active: true, formerDescriptions: [], uuid: '0b0f1c6e-1111-4222-8333-944455556666' }],
      },
    ]);
  });

  test("each key's source is its resource's line in cdk.tf.json", () => {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const key = read.state!.projects[0]!.keys[0]!;
    expect(key.source?.file).toBe(file);
    expect(lines[key.source!.line - 1]).toContain('"path": "keys/demo/uploader/Default"');
  });
});

/** A stack that uses every key-lifecycle field: project defaults, a key's own values, and keys that inherit. */
function lifecycleStack(stack: TerraformStack): void {
  const demo = new ScaleflexProject(stack, 'demo', {
    token: 'demo',
    rotate: { every: '90d', overlap: '7d' },
    deliver: [{ exec: ['gh', 'secret', 'set', '{name}', '--env', 'production'], timeout: 120 }, { file: 'secrets/demo.env' }],
  });
  new ScaleflexApiKey(demo, 'own', {
    description: 'CI uploader',
    permissions: [Permission.FILE_UPLOAD],
    owner: '@platform-team',
    purpose: 'uploads from CI',
    justification: 'uploads are its job',
    rotate: { every: '1y', overlap: '30d' },
    expires: '2027-03-01T12:00:00Z',
    deliver: [{ file: 'secrets/ci.json' }],
  });
  new ScaleflexApiKey(demo, 'inherits', { description: 'Storefront', permissions: [Permission.OBJECTS_LIST], expires: '2027-03-01' });
  new ScaleflexApiKey(demo, 'nowhere', { description: 'Quiet', permissions: [Permission.OBJECTS_LIST], deliver: [] });
  new ScaleflexApiKey(demo, 'pinned', { description: 'Pinned', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' });
  const shop = new ScaleflexProject(stack, 'shop', { token: 'shop' });
  new ScaleflexApiKey(shop, 'plain', { description: 'Plain', permissions: [Permission.OBJECTS_LIST], owner: '@shop' });
}

/** `lifecycleStack` as a YAML manifest. */
const LIFECYCLE_YAML = `version: 1
projects:
  - token: demo
    rotate: { every: 90d, overlap: 7d }
    deliver:
      - exec: [gh, secret, set, "{name}", --env, production]
        timeout: 120
      - file: secrets/demo.env
    keys:
      - description: CI uploader
        permissions: [FILE_UPLOAD]
        owner: "@platform-team"
        purpose: uploads from CI
        justification: uploads are its job
        rotate: { every: 1y, overlap: 30d }
        expires: 2027-03-01T12:00:00Z
        deliver:
          - file: secrets/ci.json
      - description: Storefront
        permissions: [OBJECTS_LIST]
        expires: "2027-03-01"
      - description: Quiet
        permissions: [OBJECTS_LIST]
        deliver: []
      - description: Pinned
        permissions: [OBJECTS_LIST]
        uuid: 0b0f1c6e-1111-4222-8333-944455556666
  - token: shop
    keys:
      - description: Plain
        permissions: [OBJECTS_LIST]
        owner: "@shop"
`;

/** A desired state without its source locations (a stack and a manifest declare things in different places). */
function withoutSources(state: DesiredState | undefined): unknown {
  return state?.projects.map(({ source: _p, keys, ...project }) => ({ ...project, keys: keys.map(({ source: _k, ...key }) => key) }));
}

describe('readCdktfStack on a stack using owner, purpose, justification, rotate, expires and deliver', () => {
  const read = readCdktfStack(synthFile(lifecycleStack));
  const yaml = parseManifestText(LIFECYCLE_YAML, 'scaleflex-keys.yaml');

  test('reads back the same desired state as the equivalent YAML manifest', () => {
    expect(read.diagnostics).toEqual([]);
    expect(yaml.diagnostics).toEqual([]);
    expect(withoutSources(read.state)).toEqual(withoutSources(yaml.state));
  });

  test("keys inherit the project's rotate and deliver as in YAML: not a pinned key's rotate, not over a key's own `deliver: []`", () => {
    const [own, inherits, nowhere, pinned] = read.state!.projects[0]!.keys;
    expect([own?.rotate?.every, own?.deliver]).toEqual(['1y', [{ file: 'secrets/ci.json' }]]);
    expect([inherits?.rotate?.every, inherits?.deliver?.length, inherits?.expires]).toEqual(['90d', 2, '2027-03-01T00:00:00.000Z']);
    expect([nowhere?.rotate?.every, nowhere?.deliver]).toEqual(['90d', undefined]);
    expect([pinned?.rotate, pinned?.deliver?.length]).toEqual([undefined, 2]);
    expect(read.state!.projects[1]!.keys[0]).toMatchObject({ owner: '@shop' });
  });

  test('a problem in a new field is reported at the resource that declared it (stack synthesized without validation)', () => {
    const file = synthFile(
      (stack) => {
        const p = new ScaleflexProject(stack, 'demo', { token: 'demo', deliver: [{ file: 'cdk.tf.json' }] });
        new ScaleflexApiKey(p, 'k', { description: 'k', permissions: [Permission.OBJECTS_LIST], rotate: { every: '7d', overlap: '7d' } });
      },
      { skipValidation: true },
    );
    const shownAll = readCdktfStack(file).diagnostics.map(shown);
    expect(shownAll).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\[keys\/demo\] deliver file "cdk\.tf\.json" is the manifest itself/),
        expect.stringMatching(/^\[keys\/demo\/k\] rotate\.overlap "7d" must be shorter than rotate\.every "7d"/),
      ]),
    );
  });
});

describe('readCdktfStack problems', () => {
  test.each([
    {
      name: 'a missing file says how to make one',
      file: () => path.join(os.tmpdir(), 'sfk-no-such-dir', 'cdk.tf.json'),
      words: /no such file; run `npm run synth` or `cdktf synth` first/,
    },
    {
      name: 'a file that is not JSON',
      file: () => writeTemp('{ "resource": '),
      words: /not a synthesized CDKTF stack: invalid JSON/,
    },
    {
      name: 'a JSON array',
      file: () => writeTemp('[]'),
      words: /not a synthesized CDKTF stack: expected a JSON object/,
    },
    {
      name: 'a stack without any ScaleflexProject',
      file: () => writeTemp(JSON.stringify({ resource: { null_resource: { other: { triggers: { a: 'b' } } } } })),
      words: /declares no ScaleflexProject/,
    },
  ])('$name', ({ file, words }) => {
    const read = readCdktfStack(file());
    expect(read.state).toBeUndefined();
    expect(read.diagnostics).toHaveLength(1);
    expect(read.diagnostics[0]!.message).toMatch(words);
  });

  test('an invalid key spec is reported at its resource, naming its construct path (stack synthesized without validation)', () => {
    const file = synthFile(
      (stack) => {
        const p = new ScaleflexProject(stack, 'demo', { token: 'demo' });
        new ScaleflexApiKey(p, 'ok', { description: 'fine', permissions: [Permission.OBJECTS_LIST] });
        new ScaleflexApiKey(p, 'typo', { description: 'typo', permissions: ['FILE_UPLOD' as Permission] });
      },
      { skipValidation: true },
    );
    const read = readCdktfStack(file);
    expect(read.state).toBeUndefined();
    expect(read.diagnostics).toHaveLength(1);
    const d = read.diagnostics[0]!;
    expect(d.construct).toBe('keys/demo/typo');
    expect(shown(d)).toMatch(/^\[keys\/demo\/typo\] unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"\?/);
    expect(d.file).toBe(file);
    expect(fs.readFileSync(file, 'utf8').split('\n')[d.line - 1]).toContain('"path": "keys/demo/typo/Default"');
  });

  test('duplicate descriptions name both resources', () => {
    const file = synthFile(
      (stack) => {
        const p = new ScaleflexProject(stack, 'demo', { token: 'demo' });
        new ScaleflexApiKey(p, 'a', { description: 'same', permissions: [Permission.OBJECTS_LIST] });
        new ScaleflexApiKey(p, 'b', { description: 'same', permissions: [Permission.OBJECTS_LIST] });
      },
      { skipValidation: true },
    );
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const lineOf = (p: string) => lines.findIndex((l) => l.includes(`"path": "${p}/Default"`)) + 1;
    const [d] = readCdktfStack(file).diagnostics;
    expect(shown(d)).toMatch(/^\[keys\/demo\/b\] duplicate description "same"/);
    expect(d?.message).toContain(`line ${lineOf('keys/demo/a')}`);
    expect(d?.related).toEqual([{ file, line: lineOf('keys/demo/a'), column: expect.any(Number), construct: 'keys/demo/a', message: 'first declared here' }]);
    expect(d?.line).toBe(lineOf('keys/demo/b'));
  });

  test.each([
    {
      name: "a project resource whose key list no longer names the key resources it depends on",
      edit: (resources: Record<string, { triggers: Record<string, string> }>) => {
        const spec = JSON.parse(resources.demo!.triggers.spec!) as { keys: string[] };
        resources.demo!.triggers.spec = JSON.stringify({ ...spec, keys: spec.keys.slice(1) });
      },
      words: /^\[keys\/demo\] .*names 1 key resource\(s\) that differ from the 2 it depends on; .*edited by hand, synthesize it again/,
    },
    {
      name: 'a key resource whose credential variable disagrees with its project',
      edit: (resources: Record<string, { triggers: Record<string, string> }>) => {
        const id = Object.keys(resources).find((k) => k.startsWith('demo_old_'))!;
        resources[id]!.triggers.credentials_env = 'OTHER_KEY';
      },
      words: /^\[keys\/demo\/old\] .*"api_url"\/"credentials_env" triggers differ from its project's settings/,
    },
    {
      name: 'a key resource whose project trigger names another project',
      edit: (resources: Record<string, { triggers: Record<string, string> }>) => {
        const id = Object.keys(resources).find((k) => k.startsWith('demo_old_'))!;
        resources[id]!.triggers.project = 'shop';
      },
      words: /^\[keys\/demo\/old\] this key's "project" trigger does not name the project that depends on it/,
    },
  ])('$name is refused as edited by hand', ({ edit, words }) => {
    const file = synthFile(twoProjects);
    const stack = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(stack.resource.null_resource);
    const read = readCdktfStackText(JSON.stringify(stack, null, 2), 'edited.json');
    expect(read.state).toBeUndefined();
    expect(shown(read.diagnostics[0])).toMatch(words);
  });
});

describe('Terraform template escaping', () => {
  test.each([
    ['plain text', 'plain text'],
    ['cost ${x}', 'cost $${x}'],
    ['%{if a}', '%%{if a}'],
    ['already $${escaped}', 'already $$${escaped}'],
    ['$ and % and { alone', '$ and % and { alone'],
  ])('%j is written as %j and read back unchanged', (literal, written) => {
    expect(escapeTerraformTemplate(literal)).toBe(written);
    expect(unescapeTerraformTemplate(written)).toBe(literal);
  });
});

describe('what the destroy-time provisioners read', () => {
  const file = synthFile(twoProjects);
  const stack = JSON.parse(fs.readFileSync(file, 'utf8'));
  const resources = stack.resource.null_resource as Record<string, { triggers: Record<string, string> }>;
  const uploaderId = Object.keys(resources).find((k) => k.startsWith('demo_uploader_'))!;
  const uploaderSpec = unescapeTerraformTemplate(resources[uploaderId]!.triggers.spec!);

  test("readKeySpecText turns a key resource's spec trigger into a one-key desired state of its project", () => {
    const read = readKeySpecText(uploaderSpec, '$SCALEFLEX_KEYS_APPLIED_KEY', { token: 'demo', credentials: { env: 'DEMO_ADMIN_KEY' } }, { trust });
    expect(read.diagnostics).toEqual([]);
    const project = read.state!.projects[0]!;
    expect([project.token, project.credentials, project.keys.map(({ source: _s, ...k }) => k)]).toEqual([
      'demo',
      { env: 'DEMO_ADMIN_KEY' },
      [{ description: 'CI uploader', permissions: ['FILE_UPLOAD', 'OBJECTS_FETCH', 'OBJECTS_LIST'], active: true, formerDescriptions: ['uploader'] }],
    ]);
  });

  test('readKeySpecText accepts a spec carrying owner, purpose, justification, rotate, expires and deliver', () => {
    const file = synthFile(lifecycleStack);
    const all = JSON.parse(fs.readFileSync(file, 'utf8')).resource.null_resource as Record<string, { triggers: Record<string, string> }>;
    const own = unescapeTerraformTemplate(Object.entries(all).find(([id]) => id.startsWith('demo_own_'))![1].triggers.spec!);
    expect(Object.keys(JSON.parse(own))).toEqual(
      expect.arrayContaining(['owner', 'purpose', 'justification', 'rotate', 'expires', 'deliver']),
    );
    const read = readKeySpecText(own, '$SCALEFLEX_KEYS_APPLIED_KEY', { token: 'demo' });
    expect(read.diagnostics).toEqual([]);
    expect(read.state!.projects[0]!.keys[0]).toMatchObject({
      description: 'CI uploader',
      owner: '@platform-team',
      rotate: { every: '1y', overlap: '30d' },
      expires: '2027-03-01T12:00:00.000Z',
      deliver: [{ file: 'secrets/ci.json' }],
    });
  });

  test.each([
    { name: 'not JSON', text: 'nope', words: /not a key spec: the text is not JSON/ },
    { name: 'an invalid key spec', text: JSON.stringify({ description: 'x', permissions: ['NOPE'], active: true, formerDescriptions: [] }), words: /unknown permission "NOPE"/ },
  ])('readKeySpecText rejects $name', ({ text, words }) => {
    const read = readKeySpecText(text, '$X', { token: 'demo' });
    expect(read.state).toBeUndefined();
    expect(read.diagnostics.map((d) => d.message).join('\n')).toMatch(words);
  });

  test.each([
    { name: 'finds its own resource and the project\'s other keys', token: 'demo', id: () => uploaderId, own: true, others: 1 },
    { name: 'reports a resource the stack no longer declares', token: 'demo', id: () => 'demo_gone_12345678', own: false, others: 2 },
    { name: 'looks at the given project only', token: 'shop', id: () => uploaderId, own: false, others: 1 },
  ])('lookupStackKey $name', ({ token, id, own, others }) => {
    const found = lookupStackKey({ file, text: fs.readFileSync(file, 'utf8') }, token, id());
    expect(found.status).toBe('read');
    if (found.status !== 'read') return;
    expect(found.own).toBe(own ? uploaderSpec : undefined);
    expect(found.others).toHaveLength(others);
  });

  test.each([
    { name: 'a stack file that no longer exists', file: () => path.join(path.dirname(file), 'nothing.json'), status: 'no-file' },
    { name: 'a stack file that can be read', file: () => file, status: 'read' },
    { name: 'a directory where the stack file should be, rather than calling the key absent', file: () => path.dirname(file), status: 'unreadable' },
  ])('readStackFile reports $name', ({ file: f, status }) => {
    expect(readStackFile(f()).status).toBe(status);
  });

  test('lookupStackKey reports a file it cannot parse, rather than calling the key absent', () => {
    const f = writeTemp('{');
    expect(lookupStackKey({ file: f, text: fs.readFileSync(f, 'utf8') }, 'demo', uploaderId).status).toBe('unreadable');
  });

  const uploader = { token: 'demo', resourceName: uploaderId, specText: uploaderSpec };
  const content = () => ({ file, text: fs.readFileSync(file, 'utf8') });
  const edited = JSON.stringify({ ...JSON.parse(uploaderSpec), permissions: ['OBJECTS_LIST'] });
  test.each([
    { name: 'no stack file any more: a removal', stack: () => undefined, key: uploader, kind: 'removal' },
    { name: 'the stack declares the resource with the same spec: a removal (cdktf destroy)', stack: content, key: uploader, kind: 'removal' },
    { name: 'the stack declares the resource with another spec: a replacement', stack: content, key: { ...uploader, specText: edited }, kind: 'replacement' },
    { name: 'another resource of the project declares the same description: a move', stack: content, key: { ...uploader, resourceName: 'demo_moved_1234', specText: edited }, kind: 'move' },
    { name: 'another resource declares it under a former description: a move', stack: content, key: { ...uploader, resourceName: 'demo_moved_1234', specText: JSON.stringify({ description: 'uploader', permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [] }) }, kind: 'move' },
    { name: 'the resource is gone and no other declares the key: a removal', stack: content, key: { ...uploader, resourceName: 'demo_gone_1234', specText: JSON.stringify({ description: 'gone', permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [] }) }, kind: 'removal' },
    { name: 'a stack that is not JSON: unreadable, never a removal', stack: () => ({ file: 'x.json', text: '{' }), key: uploader, kind: 'unreadable' },
  ])('destroyVerdict: $name', ({ stack, key, kind }) => {
    expect(destroyVerdict(stack(), key).kind).toBe(kind);
  });
});

function writeTemp(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  dirs.push(dir);
  const file = path.join(dir, 'cdk.tf.json');
  fs.writeFileSync(file, text);
  return file;
}
