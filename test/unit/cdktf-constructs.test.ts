/**
 * The CDKTF constructs synthesized with cdktf's own `Testing` helpers: which resources, triggers, provisioners
 * and dependencies a stack gets, how a change to one key shows in the triggers, and the synth-time validation
 * (the manifest's schema and rules, every problem with its construct path). Snapshots pin the whole output.
 */
import 'cdktf/lib/testing/adapters/jest';
import { App, Testing, TerraformStack } from 'cdktf';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource } from '@cdktf/provider-null/lib/resource';
import {
  type DeliverySink,
  Permission,
  ScaleflexApiKey,
  type ScaleflexApiKeyProps,
  ScaleflexProject,
  type ScaleflexProjectProps,
} from '../../src/cdktf';
import { readCdktfStackText } from '../../src/manifest/cdktf/reader';
import { keySpecJson } from '../../src/manifest/cdktf/wire';

Testing.setupJest();

type KeyDecl = [id: string, props: ScaleflexApiKeyProps];

/** A representative project: sets, a rename, a deactivated key, a pinned key. */
const DEMO_KEYS: KeyDecl[] = [
  ['ci-uploader', { description: 'CI uploader', permissions: [Permission.FILE_UPLOAD], permissionSets: ['read-only'], formerDescriptions: ['uploader'] }],
  ['storefront', { description: 'Storefront read-only', permissions: [], permissionSets: ['read-only'] }],
  ['legacy', { description: 'Legacy importer', permissions: [Permission.FILE_UPLOAD, Permission.DIR_CREATE], active: false }],
  ['pinned', { description: 'test', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' }],
];
const DEMO_PROPS: ScaleflexProjectProps = {
  token: 'demo',
  credentialsEnv: 'SCALEFLEX_API_KEY_DEMO',
  permissionSets: { 'read-only': [Permission.OBJECTS_LIST, Permission.OBJECTS_FETCH] },
};

function declare(scope: TerraformStack, props: ScaleflexProjectProps = DEMO_PROPS, keys: KeyDecl[] = DEMO_KEYS) {
  const project = new ScaleflexProject(scope, props.token, props);
  const created = keys.map(([id, p]) => new ScaleflexApiKey(project, id, p));
  return { project, keys: created };
}

type Synth = { resource: { null_resource: Record<string, { triggers: Record<string, string>; depends_on?: string[]; provisioner?: unknown[]; lifecycle?: unknown }> } };

describe('a synthesized ScaleflexProject', () => {
  // Synthesized once: importing and running cdktf is the slow part.
  const synthesized = Testing.synthScope((scope) => void declare(scope as TerraformStack));
  const json = JSON.parse(synthesized) as Synth;
  const resources = json.resource.null_resource;

  test('matches the snapshot', () => {
    expect(synthesized).toMatchSnapshot();
  });

  test('has one null_resource per key and one for the project, and the null provider', () => {
    expect(Object.keys(resources)).toHaveLength(DEMO_KEYS.length + 1);
    expect(synthesized).toHaveProvider(NullProvider);
  });

  test("each key's triggers hold its canonical spec with permission sets expanded and sorted", () => {
    expect(synthesized).toHaveResourceWithProperties(Resource, {
      triggers: {
        scaleflex_keys: 'api-key',
        project: 'demo',
        credentials_env: 'SCALEFLEX_API_KEY_DEMO',
        spec: JSON.stringify({
          description: 'CI uploader',
          permissions: ['FILE_UPLOAD', 'OBJECTS_FETCH', 'OBJECTS_LIST'],
          active: true,
          formerDescriptions: ['uploader'],
        }),
      },
    });
    expect(synthesized).toHaveResourceWithProperties(Resource, {
      triggers: expect.objectContaining({
        spec: JSON.stringify({ description: 'Legacy importer', permissions: ['DIR_CREATE', 'FILE_UPLOAD'], active: false, formerDescriptions: [] }),
      }),
    });
    expect(synthesized).toHaveResourceWithProperties(Resource, {
      triggers: expect.objectContaining({
        spec: JSON.stringify({
          description: 'test',
          permissions: ['OBJECTS_LIST'],
          active: true,
          formerDescriptions: [],
          uuid: '0b0f1c6e-1111-4222-8333-944455556666',
        }),
      }),
    });
  });

  test('the project resource depends on every key resource, in declaration order', () => {
    const keyIds = Object.keys(resources).filter((id) => resources[id]!.triggers.scaleflex_keys === 'api-key');
    const order = DEMO_KEYS.map(([id]) => keyIds.find((k) => k.startsWith(`demo_${id}_`)));
    expect(resources.demo!.depends_on).toEqual(order.map((id) => `null_resource.${id}`));
  });

  test('the project resource runs apply at create, is replaced when a key resource is, and is created before it is destroyed', () => {
    const keyRefs = (resources.demo!.depends_on ?? []).slice();
    expect(keyRefs).toHaveLength(DEMO_KEYS.length);
    expect(synthesized).toHaveResourceWithProperties(Resource, {
      lifecycle: { create_before_destroy: true, replace_triggered_by: keyRefs },
      provisioner: [
        {
          'local-exec': {
            command: 'scaleflex-keys apply --from-cdktf "${path.module}/cdk.tf.json" --project demo --auto-approve',
          },
        },
      ],
    });
  });

  test('each key resource deactivates its own key at destroy, from its triggers in state, unless it is being replaced', () => {
    for (const [id] of DEMO_KEYS) {
      const name = Object.keys(resources).find((k) => k.startsWith(`demo_${id}_`))!;
      expect(resources[name]!.lifecycle).toEqual({ create_before_destroy: true });
      expect(resources[name]!.provisioner).toEqual([
        {
          'local-exec': {
            when: 'destroy',
            command:
              'scaleflex-keys deactivate --key-spec-env SCALEFLEX_KEYS_APPLIED_KEY --project demo --credentials-env ${self.triggers.credentials_env}' +
              ` --skip-if-replaced-in "\${path.module}/cdk.tf.json" --key-resource ${name} --auto-approve`,
            environment: { SCALEFLEX_KEYS_APPLIED_KEY: '${self.triggers.spec}' },
          },
        },
      ]);
    }
  });

  test("a project's apiUrl reaches its keys' triggers and their deactivation's environment", () => {
    const s = JSON.parse(
      Testing.synthScope((scope) => {
        const p = new ScaleflexProject(scope, 'shop', { token: 'shop', apiUrl: 'https://api.example.test' });
        new ScaleflexApiKey(p, 'k', { description: 'k', permissions: [Permission.OBJECTS_LIST] });
      }),
    ) as Synth;
    const key = Object.entries(s.resource.null_resource).find(([id]) => id.startsWith('shop_k_'))![1];
    expect(key.triggers).toMatchObject({ api_url: 'https://api.example.test' });
    expect(key.triggers).not.toHaveProperty('credentials_env');
    const exec = (key.provisioner as Array<{ 'local-exec': { command: string; environment: Record<string, string> } }>)[0]!['local-exec'];
    expect(exec.environment).toEqual({ SCALEFLEX_KEYS_APPLIED_KEY: '${self.triggers.spec}', SCALEFLEX_API_URL: '${self.triggers.api_url}' });
    expect(exec.command).not.toContain('--credentials-env');
  });

  test("the project's spec trigger holds its settings and its key resources' names, no key spec, and names the credential variable only", () => {
    const spec = JSON.parse(resources.demo!.triggers.spec!) as Record<string, unknown>;
    const keyNames = Object.keys(resources).filter((id) => resources[id]!.triggers.scaleflex_keys === 'api-key').sort();
    expect(spec).toEqual({ token: 'demo', credentials: { env: 'SCALEFLEX_API_KEY_DEMO' }, unmanaged: 'deactivate', keys: keyNames });
  });
});

describe('triggers across two synths', () => {
  function synthWith(keys: KeyDecl[]): Synth['resource']['null_resource'] {
    return (JSON.parse(Testing.synthScope((scope) => void declare(scope as TerraformStack, DEMO_PROPS, keys))) as Synth).resource.null_resource;
  }
  const before = synthWith(DEMO_KEYS);

  const differingAfter = (keys: KeyDecl[]) => {
    const after = synthWith(keys);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    return Object.keys(after)
      .filter((id) => JSON.stringify(after[id]!.triggers) !== JSON.stringify(before[id]!.triggers))
      .map((id) => id.replace(/_[0-9A-F]{8}$/, ''))
      .sort();
  };

  test.each([
    {
      name: "changing one key's permissions changes exactly one null_resource's triggers: that key's",
      keys: DEMO_KEYS.map(([id, p]): KeyDecl => (id === 'storefront' ? [id, { ...p, permissions: [Permission.COLLECTIONS_LIST] }] : [id, p])),
      changed: ['demo_storefront'],
    },
    {
      name: "deactivating one key changes only that key's triggers",
      keys: DEMO_KEYS.map(([id, p]): KeyDecl => (id === 'ci-uploader' ? [id, { ...p, active: false }] : [id, p])),
      changed: ['demo_ci-uploader'],
    },
    {
      name: "renaming one key changes only that key's triggers",
      keys: DEMO_KEYS.map(([id, p]): KeyDecl => (id === 'legacy' ? [id, { ...p, description: 'Old importer', formerDescriptions: ['Legacy importer'] }] : [id, p])),
      changed: ['demo_legacy'],
    },
    {
      name: "listing a key's permissions in another order changes nothing",
      keys: DEMO_KEYS.map(([id, p]): KeyDecl => (id === 'legacy' ? [id, { ...p, permissions: [...p.permissions].reverse() }] : [id, p])),
      changed: [],
    },
    {
      name: 'declaring the keys in another order changes nothing',
      keys: [...DEMO_KEYS].reverse(),
      changed: [],
    },
  ])('$name', ({ keys, changed }) => {
    expect(differingAfter(keys)).toEqual(changed);
  });

  test.each([
    {
      name: "giving one key an owner, purpose, justification, rotation, expiry or sinks changes only that key's triggers",
      keys: DEMO_KEYS.map(([id, p]): KeyDecl =>
        id === 'storefront'
          ? [id, { ...p, owner: '@web', purpose: 'shop', justification: 'none risky', rotate: { every: '90d', overlap: '7d' }, expires: '2027-03-01', deliver: [{ file: 'secrets/web.env' }] }]
          : [id, p],
      ),
      changed: ['demo_storefront'],
    },
  ])('$name', ({ keys, changed }) => {
    expect(differingAfter(keys)).toEqual(changed);
  });

  test.each([
    { name: 'a rotation', props: { ...DEMO_PROPS, rotate: { every: '90d', overlap: '7d' } } },
    { name: 'delivery sinks', props: { ...DEMO_PROPS, deliver: [{ exec: ['gh', 'secret', 'set', '{name}'] }] as DeliverySink[] } },
  ])("giving the project $name changes the project's own triggers (its apply re-runs) and no key's", ({ props }) => {
    const after = (JSON.parse(Testing.synthScope((scope) => void declare(scope as TerraformStack, props))) as Synth).resource.null_resource;
    expect(after.demo!.triggers).not.toEqual(before.demo!.triggers);
    for (const id of Object.keys(after).filter((k) => k !== 'demo')) expect(after[id]!.triggers).toEqual(before[id]!.triggers);
  });

  test.each([
    { name: 'adding a key', keys: [...DEMO_KEYS, ['extra', { description: 'Extra', permissions: [Permission.OBJECTS_LIST] }] as KeyDecl] },
    { name: 'removing a key', keys: DEMO_KEYS.filter(([id]) => id !== 'pinned') },
  ])("$name changes the project's own triggers, so its apply re-runs (replace_triggered_by fires on no create), and no other key's", ({ keys }) => {
    const after = synthWith(keys);
    expect(after.demo!.triggers).not.toEqual(before.demo!.triggers);
    for (const id of Object.keys(after).filter((k) => k !== 'demo' && k in before)) expect(after[id]!.triggers).toEqual(before[id]!.triggers);
  });
});

describe('owner, purpose, justification, rotate, expires and deliver', () => {
  const sinks: DeliverySink[] = [{ exec: ['gh', 'secret', 'set', '{name}', '--env', 'production'], timeout: 30 }, { file: 'secrets/demo.env' }];
  const synthesized = Testing.synthScope((scope) => {
    const project = new ScaleflexProject(scope, 'demo', { token: 'demo', rotate: { every: '90d', overlap: '7d' }, deliver: [{ file: 'secrets/all.json' }] });
    new ScaleflexApiKey(project, 'full', {
      description: 'CI uploader',
      permissions: [Permission.FILE_UPLOAD],
      owner: '@platform-team',
      purpose: 'uploads from CI',
      justification: 'needs uploads',
      rotate: { overlap: '14d', every: '1y' },
      expires: '2027-03-01',
      deliver: sinks,
    });
    new ScaleflexApiKey(project, 'nowhere', { description: 'Quiet', permissions: [Permission.OBJECTS_LIST], deliver: [] });
    new ScaleflexApiKey(project, 'plain', { description: 'Plain', permissions: [Permission.OBJECTS_LIST] });
  });
  const resources = (JSON.parse(synthesized) as Synth).resource.null_resource;
  const specOf = (prefix: string) => Object.entries(resources).find(([id]) => id.startsWith(prefix))![1].triggers.spec;

  test("a key's spec trigger holds each field it sets, after the existing ones, in a fixed order", () => {
    expect(specOf('demo_full_')).toBe(
      JSON.stringify({
        description: 'CI uploader',
        permissions: ['FILE_UPLOAD'],
        active: true,
        formerDescriptions: [],
        owner: '@platform-team',
        purpose: 'uploads from CI',
        justification: 'needs uploads',
        rotate: { every: '1y', overlap: '14d' },
        expires: '2027-03-01',
        deliver: [{ exec: ['gh', 'secret', 'set', '{name}', '--env', 'production'], timeout: 30 }, { file: 'secrets/demo.env' }],
      }),
    );
  });

  test("a key's own `deliver: []` is kept (it overrides the project's sinks); a key that sets nothing holds none of the project's defaults", () => {
    expect(JSON.parse(specOf('demo_nowhere_')!)).toEqual({ description: 'Quiet', permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [], deliver: [] });
    expect(specOf('demo_plain_')).toBe(JSON.stringify({ description: 'Plain', permissions: ['OBJECTS_LIST'], active: true, formerDescriptions: [] }));
  });

  test("the project's defaults are in its own spec trigger, after its key resources' names", () => {
    const spec = JSON.parse(resources.demo!.triggers.spec!) as Record<string, unknown>;
    expect(Object.keys(spec)).toEqual(['token', 'unmanaged', 'keys', 'rotate', 'deliver']);
    expect(spec).toMatchObject({ rotate: { every: '90d', overlap: '7d' }, deliver: [{ file: 'secrets/all.json' }] });
  });

  test('the stack passes validation at synth', () => {
    const stack = new TerraformStack(Testing.app(), 'ok');
    const p = new ScaleflexProject(stack, 'demo', { token: 'demo', rotate: { every: '90d', overlap: '7d' }, deliver: sinks });
    new ScaleflexApiKey(p, 'k', { description: 'k', permissions: [Permission.OBJECTS_LIST], owner: '@me', expires: '2027-03-01T12:00:00Z', deliver: [] });
    expect(() => stack.runAllValidations()).not.toThrow();
  });
});

describe('values Terraform would read as templates', () => {
  test('a description with ${...} and %{...} is escaped in the JSON and read back literally', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'escapes');
    declare(stack, { token: 'demo' }, [['odd', { description: 'cost ${var.x} %{if y}', permissions: [Permission.OBJECTS_LIST] }]]);
    const synthesized = Testing.synth(stack, true);
    expect(synthesized).toContain('cost $${var.x} %%{if y}');
    expect(synthesized).not.toMatch(/[^$]\$\{var\.x\}/);
    const full = Testing.fullSynth(stack);
    const text = require('node:fs').readFileSync(`${full}/stacks/escapes/cdk.tf.json`, 'utf8') as string;
    const read = readCdktfStackText(text, 'cdk.tf.json');
    expect(read.diagnostics).toEqual([]);
    expect(read.state?.projects[0]?.keys[0]?.description).toBe('cost ${var.x} %{if y}');
  });
});

describe('provisioner options', () => {
  test('cliCommand and secretsOut shape the create-time command', () => {
    const synthesized = Testing.synthScope((scope) => {
      const p = new ScaleflexProject(scope, 'shop', { token: 'shop', cliCommand: 'npx scaleflex-keys', secretsOut: 'secrets/shop keys.json' });
      new ScaleflexApiKey(p, 'k', { description: 'k', permissions: [Permission.OBJECTS_LIST] });
    });
    expect(synthesized).toHaveResourceWithProperties(Resource, {
      provisioner: expect.arrayContaining([
        {
          'local-exec': {
            command: 'npx scaleflex-keys apply --from-cdktf "${path.module}/cdk.tf.json" --project shop --auto-approve --secrets-out "secrets/shop keys.json"',
          },
        },
      ]),
    });
  });

  test('a stack with its own NullProvider keeps exactly one', () => {
    const synthesized = Testing.synthScope((scope) => {
      new NullProvider(scope, 'mine', {});
      declare(scope as TerraformStack);
    });
    expect((JSON.parse(synthesized) as { provider: { null: unknown[] } }).provider.null).toHaveLength(1);
  });

  test('a ScaleflexApiKey outside a ScaleflexProject is refused with a clear message', () => {
    const stack = new TerraformStack(Testing.app(), 'wrong');
    expect(() => new ScaleflexApiKey(stack as unknown as ScaleflexProject, 'k', { description: 'k', permissions: [] })).toThrow(
      /must be created inside a ScaleflexProject/,
    );
  });
});

describe('validation at synth', () => {
  /** Runs every validation of a stack and returns cdktf's message (or undefined when valid). */
  function validationError(build: (stack: TerraformStack) => void): string | undefined {
    const stack = new TerraformStack(Testing.app(), 'stack');
    build(stack);
    try {
      stack.runAllValidations();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  test('a valid stack passes', () => {
    expect(validationError((s) => void declare(s))).toBeUndefined();
  });

  test('every problem is reported at once, each with the construct path that declared it', () => {
    const message = validationError((stack) => {
      const p = new ScaleflexProject(stack, 'demo', {
        token: 'Demo!',
        permissionSets: { ro: [Permission.OBJECTS_LIST, 'OBJECTS_LISTT' as Permission] },
      });
      new ScaleflexApiKey(p, 'a', { description: 'x', permissions: ['FILE_UPLOD' as Permission], permissionSets: ['rw'] });
      new ScaleflexApiKey(p, 'b', { description: 'x', permissions: [Permission.FILE_UPLOAD, Permission.FILE_UPLOAD] });
      new ScaleflexApiKey(p, 'c', { description: ' y', permissions: [Permission.FILE_UPLOAD], active: 'yes' as unknown as boolean });
      new ScaleflexApiKey(p, 'd', { descripton: 'z', permissions: [Permission.FILE_UPLOAD] } as unknown as ScaleflexApiKeyProps);
      const q = new ScaleflexProject(stack, 'demo2', { token: 'Demo!', credentialsEnv: '0123456789abcdef0123456789abcdef' });
      new ScaleflexApiKey(q, 'empty', { description: 'no permissions', permissions: [] });
    });
    expect(message).toMatchSnapshot();
    const lines = (message ?? '').split('\n').filter((l) => l.startsWith('  ['));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}\[stack\/demo\] .*"OBJECTS_LISTT".*OBJECTS_LIST/),
        expect.stringMatching(/^ {2}\[stack\/demo\] .*token "Demo!"/),
        expect.stringMatching(/^ {2}\[stack\/demo\/a\] .*"FILE_UPLOD".*did you mean "FILE_UPLOAD"/),
        expect.stringMatching(/^ {2}\[stack\/demo\/a\] .*permission set "rw"/),
        expect.stringMatching(/^ {2}\[stack\/demo\/b\] .*"FILE_UPLOAD" is listed twice/),
        expect.stringMatching(/^ {2}\[stack\/demo\/b\] .*duplicate description "x".*stack\/demo\/a.*stack\/demo\/b/),
        expect.stringMatching(/^ {2}\[stack\/demo\/c\] .*whitespace/),
        expect.stringMatching(/^ {2}\[stack\/demo\/c\] .*active must be true or false/),
        expect.stringMatching(/^ {2}\[stack\/demo\/d\] .*"descripton".*did you mean "description"/),
        expect.stringMatching(/^ {2}\[stack\/demo2\] .*declared twice: at stack\/demo and here, at stack\/demo2/),
        expect.stringMatching(/^ {2}\[stack\/demo2\] .*secret/),
        expect.stringMatching(/^ {2}\[stack\/demo2\/empty\] .*no permissions/),
      ]),
    );
  });

  test.each([
    { name: 'two keys with one description', keys: [['a', { description: 'same', permissions: [Permission.OBJECTS_LIST] }], ['b', { description: 'same', permissions: [Permission.OBJECTS_LIST] }]] as KeyDecl[], path: 'stack/p/b', words: /duplicate description "same"/ },
    { name: 'a former description equal to a current one', keys: [['a', { description: 'one', permissions: [Permission.OBJECTS_LIST] }], ['b', { description: 'two', permissions: [Permission.OBJECTS_LIST], formerDescriptions: ['one'] }]] as KeyDecl[], path: 'stack/p/b', words: /former description "one"/ },
    { name: 'one uuid pinned twice', keys: [['a', { description: 'a', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' }], ['b', { description: 'b', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' }]] as KeyDecl[], path: 'stack/p/b', words: /pinned by two entries/ },
  ])('duplicates across keys of a project are caught like in YAML: $name', ({ keys, path, words }) => {
    const message = validationError((stack) => void declare(stack, { token: 'p' }, keys)) ?? '';
    const line = message.split('\n').find((l) => l.startsWith(`  [${path}]`));
    expect(line).toMatch(words);
  });

  test.each([
    { name: 'a zero-width space', description: 'CI upl\u200Boader', words: /^ {2}\[stack\/p\/a\] description "CI upl\\u200Boader" contains U\+200B \(ZERO WIDTH SPACE\), an invisible character; remove it/m },
    { name: 'a right-to-left override', description: 'CI \u202Euploader', words: /^ {2}\[stack\/p\/a\] .*U\+202E \(RIGHT-TO-LEFT OVERRIDE\)/m },
  ])('descriptions must print as they are, as in YAML: $name', ({ description, words }) => {
    const message = validationError((stack) => void declare(stack, { token: 'p' }, [['a', { description, permissions: [Permission.OBJECTS_LIST] }]]));
    expect(message).toMatch(words);
  });

  const ok = { description: 'k', permissions: [Permission.OBJECTS_LIST] };
  test.each([
    { name: 'a key whose rotate.overlap is not shorter than rotate.every', project: {}, key: { ...ok, rotate: { every: '7d', overlap: '1w' } }, path: 'stack/p/k', words: /rotate\.overlap "1w" must be shorter than rotate\.every "7d"/ },
    { name: 'a project whose rotate.overlap is not shorter than rotate.every', project: { rotate: { every: '30d', overlap: '30d' } }, key: ok, path: 'stack/p', words: /rotate\.overlap "30d" must be shorter/ },
    { name: 'a malformed rotation duration', project: {}, key: { ...ok, rotate: { every: '90 days', overlap: '7d' } }, path: 'stack/p/k', words: /90 days/ },
    { name: 'a key pinned by uuid with its own rotate', project: {}, key: { ...ok, uuid: '0b0f1c6e-1111-4222-8333-944455556666', rotate: { every: '90d', overlap: '7d' } }, path: 'stack/p/k', words: /pins a uuid and cannot rotate/ },
    { name: 'an expiry that is not a date', project: {}, key: { ...ok, expires: '2027-02-30' }, path: 'stack/p/k', words: /expires "2027-02-30" is not a date/ },
    { name: 'an empty owner', project: {}, key: { ...ok, owner: '' }, path: 'stack/p/k', words: /owner/ },
    { name: 'an unknown placeholder in a key\'s exec sink', project: {}, key: { ...ok, deliver: [{ exec: ['gh', 'secret', 'set', '{nmae}'] }] }, path: 'stack/p/k', words: /unknown placeholder \{nmae\} in deliver exec argument/ },
    { name: 'an unknown placeholder in a project\'s exec sink', project: { deliver: [{ exec: ['vault', '{token}'] }] }, key: ok, path: 'stack/p', words: /unknown placeholder \{token\}/ },
    { name: 'a file sink outside the stack directory', project: {}, key: { ...ok, deliver: [{ file: '../../secrets.env' }] }, path: 'stack/p/k', words: /leaves the manifest's directory/ },
    { name: 'an absolute file sink', project: { deliver: [{ file: '/etc/secrets.json' }] }, key: ok, path: 'stack/p', words: /is an absolute path/ },
    { name: 'a file sink naming the stack file itself', project: {}, key: { ...ok, deliver: [{ file: './cdk.tf.json' }] }, path: 'stack/p/k', words: /is the manifest itself/ },
    { name: 'a file sink with a timeout', project: {}, key: { ...ok, deliver: [{ file: 'secrets.env', timeout: 5 } as unknown as DeliverySink] }, path: 'stack/p/k', words: /`timeout` applies to `exec` sinks only/ },
    { name: 'a sink with both exec and file', project: {}, key: { ...ok, deliver: [{ exec: ['cat'], file: 'a.env' } as unknown as DeliverySink] }, path: 'stack/p/k', words: /exactly one of `exec` or `file`/ },
  ] as Array<{ name: string; project: Partial<ScaleflexProjectProps>; key: ScaleflexApiKeyProps; path: string; words: RegExp }>)(
    'the new fields are checked like in YAML, at the construct that declared them: $name',
    ({ project, key, path, words }) => {
      const message = validationError((stack) => void declare(stack, { token: 'p', ...project }, [['k', key]])) ?? '';
      const lines = message.split('\n').filter((l) => l.startsWith(`  [${path}] `));
      expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(words)]));
    },
  );

  test('two keys whose secrets would share a variable are refused, naming both constructs', () => {
    const keys: KeyDecl[] = [
      ['a', { description: 'CI uploader', permissions: [Permission.OBJECTS_LIST] }],
      ['b', { description: 'ci-uploader', permissions: [Permission.OBJECTS_LIST] }],
    ];
    const message = validationError((stack) => void declare(stack, { token: 'p' }, keys)) ?? '';
    expect(message).toMatch(/^ {2}\[stack\/p\/b\] .*SCALEFLEX_KEY_P_CI_UPLOADER.*at stack\/p\/a;/m);
  });

  test('`protected` goes into the key spec only when true, and cannot be combined with `active: false`', () => {
    const stack = new TerraformStack(Testing.app(), 'prot');
    const { keys: [guarded, plain] } = declare(stack, { token: 'p' }, [
      ['guarded', { description: 'admin', permissions: [Permission.ACCESS_READ], protected: true }],
      ['plain', { description: 'plain', permissions: [Permission.OBJECTS_LIST], protected: false }],
    ]);
    expect(JSON.parse(keySpecJson(guarded!.spec))).toMatchObject({ description: 'admin', protected: true });
    expect('protected' in JSON.parse(keySpecJson(plain!.spec))).toBe(false);
    const message = validationError((s) => void declare(s, { token: 'p' }, [['k', { description: 'k', permissions: [Permission.ACCESS_READ], protected: true, active: false }]]));
    expect(message).toMatch(/\[stack\/p\/k\] key "k" is `protected: true` and `active: false`/);
  });

  test('a protected key survives the trip through the synthesized stack', () => {
    const synthesized = Testing.synthScope((scope) => void declare(scope as TerraformStack, { token: 'p' }, [['k', { description: 'k', permissions: [Permission.ACCESS_READ], protected: true }]]));
    const read = readCdktfStackText(synthesized, 'cdk.tf.json');
    expect(read.diagnostics).toEqual([]);
    expect(read.state?.projects[0]?.keys[0]?.protected).toBe(true);
  });

  test('keys pinned by uuid may share a description, as in YAML', () => {
    const keys: KeyDecl[] = [
      ['a', { description: 'test', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556666' }],
      ['b', { description: 'test', permissions: [Permission.OBJECTS_LIST], uuid: '0b0f1c6e-1111-4222-8333-944455556667' }],
    ];
    expect(validationError((stack) => void declare(stack, { token: 'p' }, keys))).toBeUndefined();
  });

  test('app.synth() refuses an invalid stack before writing anything', () => {
    const outdir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'sfk-')) as string;
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'bad');
      declare(stack, { token: 'bad' }, [['k', { description: 'k', permissions: ['NOPE' as Permission] }]]);
      expect(() => app.synth()).toThrow(/\[bad\/bad\/k\] unknown permission "NOPE"/);
      expect(require('node:fs').existsSync(`${outdir}/stacks/bad/cdk.tf.json`)).toBe(false);
    } finally {
      require('node:fs').rmSync(outdir, { recursive: true, force: true });
    }
  });
});
