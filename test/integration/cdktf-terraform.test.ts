/**
 * The CDKTF example carried out the way Terraform would, against the emulator over HTTP: `npm run synth`
 * writes the stack, a Terraform stand-in (`cdktf-terraform-player.ts`) runs the `local-exec` provisioners in
 * dependency order through a real shell and the built `scaleflex-keys` on PATH, and the live keys are checked
 * after each step — create, a no-op re-apply, a second synth with one key's permissions changed (exactly one
 * null_resource's triggers differ, that key's; Terraform replaces it and, through `replace_triggered_by`, its
 * project's resource, whose apply converges the key; the old key instance's destroy-time provisioner
 * deactivates nothing), and destroy (each key resource deactivates its key: declared keys deactivated, never
 * deleted, the tool's own key and undeclared keys untouched). Then, with a fresh state, key constructs removed
 * from the stack: their destroy-time provisioners do not run (Terraform runs none for a removed block), and the
 * project's re-run apply handles the keys per its `unmanaged` policy, as the YAML path does. Nothing synthesized, stored
 * or printed contains a secret the emulator issued.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanEnv, liveKeys, ROOT, startTestApi, tempDir, type TestApi, BIN } from '../helpers/cli';
import { readStackResources, TerraformPlayer } from './cdktf-terraform-player';

const STACK = 'scaleflex-keys';
let api: TestApi;
let dir: string;
let outdir: string;
let stackFile: string;
let player: TerraformPlayer;
let playerEnv: NodeJS.ProcessEnv;
const synthesized: string[] = [];

/** Runs a shell command (like `npm run synth`) and fails the test with its output when it fails. */
function sh(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}:\n${out}`))));
  });
}

/** `npm run synth`'s own command line, with the output directory cdktf's CLI would set. */
async function synth(mainFile?: string): Promise<void> {
  const script = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.synth!;
  const command = mainFile ? script.replace('examples/cdktf/main.ts', JSON.stringify(mainFile)) : script;
  await sh(command, { cwd: ROOT, env: { ...process.env, CDKTF_OUTDIR: outdir } });
  synthesized.push(fs.readFileSync(stackFile, 'utf8'));
}

/** An address without cdktf's hash suffix. */
const strip = (address: string) => address.replace(/_[0-9A-F]{8}$/, '');

type Live = Record<string, { uuid: string; permissions: string[]; active: boolean }>;
async function live(token: string): Promise<Live> {
  const out: Live = {};
  for (const k of await liveKeys(api.handle, token)) out[k.description] = { uuid: k.uuid, permissions: [...k.permissions].sort(), active: k.active };
  return out;
}

const DEMO_DECLARED = ['CI uploader', 'Website gallery', 'Product feed sync', 'Legacy mobile app'];
const MEDIA_DECLARED = ['Asset pipeline', 'Approval bot: marketing', 'Config auditor'];
let adminUuids: Record<string, string>;
let renamedUuid: string;

beforeAll(async () => {
  api = await startTestApi(['demo', 'media-prod']);
  dir = tempDir();
  outdir = path.join(dir, 'cdktf.out');
  stackFile = path.join(outdir, 'stacks', STACK, 'cdk.tf.json');
  adminUuids = {
    demo: Object.values(await live('demo'))[0]!.uuid,
    'media-prod': Object.values(await live('media-prod'))[0]!.uuid,
  };
  const [pim] = await api.handle.seedKeys('demo', [
    { description: 'PIM import', permissions: ['OBJECTS_LIST'] },
    { description: 'Old intern key', permissions: ['FILE_DELETE'] },
  ]);
  renamedUuid = pim!.uuid;
  await api.handle.seedKeys('media-prod', [{ description: 'Made in the hub', permissions: ['OBJECTS_LIST'] }]);

  // `scaleflex-keys` on PATH, as for a user who installed the package.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'scaleflex-keys'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o755 });
  playerEnv = cleanEnv({ ...api.env(), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  player = new TerraformPlayer(playerEnv);
});

afterAll(async () => {
  await api?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('terraform apply and destroy of the CDKTF example, played step by step', () => {
  test('npm run synth writes the stack; the first apply creates every resource, keys before their project', async () => {
    await synth();
    const actions = player.plan(stackFile);
    expect(actions.every((a) => a.action === 'create')).toBe(true);
    const order = actions.map((a) => a.address);
    for (const [address, r] of readStackResources(stackFile)) {
      for (const dep of r.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(address));
    }
    await player.apply(stackFile);
    expect(player.runs.map((r) => [r.address, r.when])).toEqual([
      ['null_resource.demo', 'create'],
      ['null_resource.media-prod', 'create'],
    ]);
  });

  test('after the create-time provisioners the live keys are exactly the declared ones', async () => {
    const demo = await live('demo');
    expect(demo['CI uploader']).toMatchObject({ active: true, permissions: ['DIR_CREATE', 'FILE_META_CREATE', 'FILE_UPLOAD'] });
    expect(demo['Website gallery']).toMatchObject({ active: true, permissions: ['OBJECTS_FETCH', 'OBJECTS_LIST'] });
    expect(demo['Product feed sync']).toMatchObject({ uuid: renamedUuid, active: true });
    expect(demo['Product feed sync']!.permissions).toContain('FILE_PRODUCT_CHANGE');
    expect(demo['PIM import']).toBeUndefined();
    expect(demo['Legacy mobile app']).toMatchObject({ active: false });
    expect(demo['Old intern key']).toMatchObject({ active: false }); // unmanaged: deactivate
    expect(Object.values(demo).find((k) => k.uuid === adminUuids.demo)?.active).toBe(true);

    const media = await live('media-prod');
    expect(media['Config auditor']).toMatchObject({ active: true, permissions: ['ACCESS_READ', 'CONFIG_LIST'] });
    expect(media['Approval bot: marketing']).toMatchObject({ active: true, permissions: ['OBJECTS_APPROVAL_VOTE', 'OBJECTS_LIST'] });
    expect(media['Made in the hub']).toMatchObject({ active: true }); // unmanaged: ignore
  });

  test('applying the same synth again plans nothing and runs nothing', async () => {
    const runsBefore = player.runs.length;
    expect(player.plan(stackFile)).toEqual([]);
    await player.apply(stackFile);
    expect(player.runs.length).toBe(runsBefore);
  });

  test("a second synth with one key's permissions changed changes exactly one null_resource's triggers: that key's", async () => {
    const before = readStackResources(stackFile);
    const source = fs.readFileSync(path.join(ROOT, 'examples/cdktf/main.ts'), 'utf8');
    const changed = source
      .replace('permissions: [Permission.CONFIG_LIST, Permission.ACCESS_READ]', 'permissions: [Permission.CONFIG_LIST]')
      .replace("from '../../src/cdktf'", `from ${JSON.stringify(path.join(ROOT, 'src/cdktf'))}`)
      .replace("from 'cdktf'", `from ${JSON.stringify(path.join(ROOT, 'node_modules/cdktf'))}`);
    expect(changed).not.toBe(source);
    const mainFile = path.join(dir, 'app', 'main.ts');
    fs.mkdirSync(path.dirname(mainFile));
    fs.writeFileSync(mainFile, changed);
    await synth(mainFile);

    const after = readStackResources(stackFile);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const differing = [...after.keys()].filter((a) => JSON.stringify(after.get(a)!.triggers) !== JSON.stringify(before.get(a)!.triggers));
    expect(differing).toHaveLength(1);
    expect(differing.map(strip)).toEqual(['null_resource.media-prod_config-auditor']);
    // Terraform replaces that key's resource, and its project's because of replace_triggered_by.
    expect(player.plan(stackFile).map((a) => [strip(a.address), a.action])).toEqual([
      ['null_resource.media-prod_config-auditor', 'replace'],
      ['null_resource.media-prod', 'replace'],
    ]);
  });

  test("applying it changes that key only: the project's apply re-runs, the old key instance deactivates nothing", async () => {
    const demoBefore = await live('demo');
    const runsBefore = player.runs.length;
    await player.apply(stackFile);
    const runs = player.runs.slice(runsBefore);
    expect(runs.map((r) => [strip(r.address), r.when])).toEqual([
      ['null_resource.media-prod', 'create'],
      ['null_resource.media-prod_config-auditor', 'destroy'],
    ]);
    expect(runs[1]!.stdout).toMatch(/still declares .* with a newer spec.*nothing to deactivate/);

    const media = await live('media-prod');
    expect(media['Config auditor']).toMatchObject({ active: true, permissions: ['CONFIG_LIST'] });
    for (const d of MEDIA_DECLARED) expect(media[d]?.active).toBe(true);
    expect(await live('demo')).toEqual(demoBefore);
    expect(player.plan(stackFile)).toEqual([]);
  });

  test('terraform destroy deactivates every declared key, deletes none, and leaves the rest alone', async () => {
    const countBefore = { demo: Object.keys(await live('demo')).length, media: Object.keys(await live('media-prod')).length };
    const runsBefore = player.runs.length;
    await player.destroy();
    const runs = player.runs.slice(runsBefore);
    // Each key resource deactivates its own key; the project resources have no destroy-time provisioner.
    expect(runs.every((r) => r.when === 'destroy')).toBe(true);
    const keyAddresses = [...readStackResources(stackFile)].filter(([, r]) => r.triggers.scaleflex_keys === 'api-key').map(([a]) => a);
    expect(runs.map((r) => r.address).sort()).toEqual(keyAddresses.sort());
    expect(keyAddresses).toHaveLength(DEMO_DECLARED.length + MEDIA_DECLARED.length);
    expect(player.stateTriggers().size).toBe(0);

    const demo = await live('demo');
    const media = await live('media-prod');
    expect(Object.keys(demo).length).toBe(countBefore.demo);
    expect(Object.keys(media).length).toBe(countBefore.media);
    for (const d of DEMO_DECLARED) expect(demo[d]?.active).toBe(false);
    for (const d of MEDIA_DECLARED) expect(media[d]?.active).toBe(false);
    expect(Object.values(demo).find((k) => k.uuid === adminUuids.demo)?.active).toBe(true);
    expect(Object.values(media).find((k) => k.uuid === adminUuids['media-prod'])?.active).toBe(true);
    expect(media['Made in the hub']?.active).toBe(true);
  });

  test('no secret the emulator issued appears in the synthesized JSON, the state or any provisioner output', () => {
    const secrets = api.handle.issuedSecrets();
    expect(secrets.length).toBeGreaterThan(MEDIA_DECLARED.length + DEMO_DECLARED.length);
    const texts = [
      ...synthesized,
      JSON.stringify([...player.stateTriggers()]),
      ...player.runs.flatMap((r) => [r.command, r.stdout, r.stderr]),
    ];
    const leaked = secrets.filter((s) => texts.some((t) => t.includes(s)));
    expect(leaked).toEqual([]);
    // Credentials are referenced by name only: the provisioners' environment holds the spec, nothing else.
    for (const r of readStackResources(stackFile).values()) {
      for (const p of r.provisioners) expect(Object.keys(p.environment ?? {})).toEqual(p.when === 'destroy' ? ['SCALEFLEX_KEYS_APPLIED_KEY'] : []);
    }
  });
});

describe('removing key constructs from the stack, played as Terraform does it', () => {
  /** The example with the given key constructs left out, synthesized into its own output directory. */
  async function synthWithout(ids: string[]): Promise<string> {
    let source = fs.readFileSync(path.join(ROOT, 'examples/cdktf/main.ts'), 'utf8')
      .replace("from '../../src/cdktf'", `from ${JSON.stringify(path.join(ROOT, 'src/cdktf'))}`)
      .replace("from 'cdktf'", `from ${JSON.stringify(path.join(ROOT, 'node_modules/cdktf'))}`);
    for (const id of ids) {
      const without = source.replace(new RegExp(`\\n    new ScaleflexApiKey\\(\\w+, '${id}', \\{[\\s\\S]*?\\n    \\}\\);`), '');
      expect(without).not.toBe(source);
      source = without;
    }
    const mainFile = path.join(dir, `app-${ids.length}`, 'main.ts');
    fs.mkdirSync(path.dirname(mainFile), { recursive: true });
    fs.writeFileSync(mainFile, source);
    await synth(mainFile);
    return stackFile;
  }

  test("a removed key's destroy-time provisioner does not run; the project's apply handles it per its unmanaged policy", async () => {
    const removal = new TerraformPlayer(playerEnv);
    await synth();
    await removal.apply(stackFile);
    const demoBefore = await live('demo');
    const mediaBefore = await live('media-prod');
    expect(demoBefore['Website gallery']?.active).toBe(true);
    expect(mediaBefore['Approval bot: marketing']?.active).toBe(true);

    await synthWithout(['website-gallery', 'approval-bot']);
    const plan = removal.plan(stackFile).map((a) => [strip(a.address), a.action]).sort();
    expect(plan).toEqual([
      ['null_resource.demo', 'replace'],
      ['null_resource.demo_website-gallery', 'destroy'],
      ['null_resource.media-prod', 'replace'],
      ['null_resource.media-prod_approval-bot', 'destroy'],
    ]);
    const runsBefore = removal.runs.length;
    await removal.apply(stackFile);
    expect(removal.runs.slice(runsBefore).map((r) => [strip(r.address), r.when])).toEqual([
      ['null_resource.demo', 'create'],
      ['null_resource.media-prod', 'create'],
    ]);
    const demo = await live('demo');
    const media = await live('media-prod');
    expect(demo['Website gallery']?.active).toBe(false); // unmanaged: deactivate
    expect(media['Approval bot: marketing']?.active).toBe(true); // unmanaged: ignore, as in YAML
    expect(Object.keys(demo).length).toBe(Object.keys(demoBefore).length);
    expect(removal.plan(stackFile)).toEqual([]);
  });
});
