/**
 * Secret delivery end to end (manifest `deliver:`), the built CLI against the emulator over HTTP: `plan` shows the
 * sinks and runs none; `apply` hands each new secret to `exec` stand-ins (small node scripts that record what they
 * got: stdin byte for byte, argv, and their own /proc/self/cmdline and /proc/self/environ) and to `file` sinks;
 * a failing and a hanging sink are reported per key and sink while the keys stay, and `secrets push` then delivers;
 * the operator's switch forbids exec sinks; a saved plan whose deliveries changed is refused; the README recipes'
 * argv run against stand-ins named gh, vault, aws, op, doppler and kubectl first on PATH. Every byte the CLI printed
 * is scanned for secrets at the end.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { allOutput, BIN, callApi, cleanEnv, expectNoSecretInOutput, liveKeys, ROOT, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const P = 'deliv';
let api: TestApi;
let dir: string;
/** Where the stand-ins write what they received, one JSON file per run. */
let records: string;
let bin: string;

interface Record {
  name: string;
  argv: string[];
  stdinHex: string;
  cmdline: string;
  environ: string;
  env: { [k: string]: string };
  cwd: string;
}

/** A stand-in program: records stdin, argv, /proc/self/{cmdline,environ} into `records`, then behaves per `mode`. */
function standIn(name: string, mode: 'ok' | 'fail' | 'hang' | 'echo-fail' = 'ok'): string {
  const file = path.join(bin, name);
  fs.writeFileSync(
    file,
    `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const stdin = Buffer.concat(chunks);
  const rec = {
    name: ${JSON.stringify(name)},
    argv: process.argv.slice(2),
    stdinHex: stdin.toString('hex'),
    cmdline: fs.readFileSync('/proc/self/cmdline', 'latin1'),
    environ: fs.readFileSync('/proc/self/environ', 'latin1'),
    env: process.env,
    cwd: process.cwd(),
  };
  fs.writeFileSync(path.join(${JSON.stringify(records)}, ${JSON.stringify(name)} + '-' + process.pid + '.json'), JSON.stringify(rec));
  const mode = ${JSON.stringify(mode)};
  if (mode === 'ok') { console.log(${JSON.stringify(name)} + ': stored'); process.exit(0); }
  if (mode === 'echo-fail') { process.stderr.write('bad value ' + stdin.toString() + '\\n'); process.exit(1); }
  if (mode === 'fail') { process.stderr.write('permission denied\\n'); process.exit(1); }
  setInterval(() => undefined, 1000);
});
`,
    { mode: 0o755 },
  );
  return file;
}

function recordsOf(name: string): Record[] {
  return fs
    .readdirSync(records)
    .filter((f) => f.startsWith(`${name}-`))
    .map((f) => JSON.parse(fs.readFileSync(path.join(records, f), 'utf8')) as Record);
}

function clearRecords(): void {
  for (const f of fs.readdirSync(records)) fs.rmSync(path.join(records, f));
}

function manifest(body: string, file = 'scaleflex-keys.yaml'): void {
  fs.writeFileSync(path.join(dir, file), `version: 1\nprojects:\n  - token: ${P}\n${body}`);
}

/** The CLI's environment: the emulator, our stand-ins first on PATH, and decoy variables that must not reach sinks. */
function env(extra: { [k: string]: string } = {}): { [k: string]: string } {
  return { ...api.env(), PATH: `${bin}:${process.env.PATH}`, HOME: dir, GH_TOKEN: 'gh-token-for-the-sink', UNRELATED_VAR: 'x', ...extra };
}

const cli = (args: string[], extra: { [k: string]: string } = {}) => runCli(args, { env: env(extra), cwd: dir });

async function secretOf(description: string): Promise<string> {
  const key = (await liveKeys(api.handle, P)).find((k) => k.description === description && k.active);
  if (!key) throw new Error(`no live key ${description}`);
  return ((await callApi(api.handle, P, 'GET', `/keys/${key.uuid}/secret`)) as { secret: string }).secret;
}

async function uuidOf(description: string): Promise<string> {
  return (await liveKeys(api.handle, P)).find((k) => k.description === description)!.uuid;
}

beforeAll(async () => {
  api = await startTestApi([P]);
  dir = tempDir();
  records = path.join(dir, 'records');
  bin = path.join(dir, 'bin');
  fs.mkdirSync(records);
  fs.mkdirSync(bin);
  for (const name of ['gh', 'vault', 'aws', 'op', 'doppler', 'kubectl', 'recorder']) standIn(name);
  standIn('failing-sink', 'fail');
  standIn('leaky-failing-sink', 'echo-fail');
  standIn('hanging-sink', 'hang');
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('plan and apply deliver new secrets to exec and file sinks', () => {
  beforeAll(() =>
    manifest(
      `    deliver:\n      - exec: [recorder, secret, set, "{name}", --key, "{uuid}", --project, "{project}", --description, "{description}"]\n` +
        `      - file: secrets/out.env\n` +
        `    keys:\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n` +
        `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n        deliver: [{ file: secrets/own.json }]\n`,
    ),
  );

  test('plan shows where each new secret goes, in text and JSON, and runs no sink', async () => {
    const text = await cli(['plan']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('→ exec recorder secret set SCALEFLEX_KEY_DELIV_CI_UPLOADER --key {uuid} --project deliv --description "CI uploader" (stdin)');
    expect(text.stdout).toContain('→ file secrets/out.env');
    expect(text.stdout).toContain('→ file secrets/own.json');
    const json = await cli(['plan', '--format', 'json']);
    const doc = JSON.parse(json.stdout);
    const create = doc.projects[0].changes.find((c: { after: { description: string } }) => c.after.description === 'CI uploader');
    expect(create.deliveries).toEqual([
      { kind: 'exec', argv: ['recorder', 'secret', 'set', 'SCALEFLEX_KEY_DELIV_CI_UPLOADER', '--key', '{uuid}', '--project', 'deliv', '--description', 'CI uploader'] },
      { kind: 'file', path: 'secrets/out.env' },
    ]);
    const md = await cli(['plan', '--format', 'markdown']);
    expect(md.stdout).toContain('📤 secret delivered → `file secrets/out.env`');
    expect(fs.readdirSync(records)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'secrets'))).toBe(false);
  });

  test('apply gives the exec sink the secret on stdin only, byte for byte, and writes the file sinks 0600', async () => {
    const r = await cli(['apply', '--auto-approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const secret = await secretOf('CI uploader');
    const uuid = await uuidOf('CI uploader');
    expect(r.stdout).toContain(`→ delivered to exec recorder secret set SCALEFLEX_KEY_DELIV_CI_UPLOADER --key ${uuid}`);
    expect(r.stdout).toContain('| recorder: stored');
    // Keys with sinks are not listed as "not saved".
    expect(r.stdout).not.toContain('were not saved');
    const [rec, ...more] = recordsOf('recorder');
    expect(more).toEqual([]);
    expect(Buffer.from(rec!.stdinHex, 'hex').toString('utf8')).toBe(secret);
    expect(rec!.stdinHex).toBe(Buffer.from(secret).toString('hex'));
    expect(rec!.argv).toEqual(['secret', 'set', 'SCALEFLEX_KEY_DELIV_CI_UPLOADER', '--key', uuid, '--project', P, '--description', 'CI uploader']);
    // The secret is in neither the command line nor the environment of the running program (its own /proc view).
    expect(rec!.cmdline).not.toContain(secret);
    expect(rec!.environ).not.toContain(secret);
    expect(rec!.cmdline.toLowerCase()).not.toContain(secret.toLowerCase().slice(0, 16));
    // A minimal environment: metadata, PATH and HOME; no admin key, nothing the operator did not pass on.
    expect(rec!.environ).not.toContain('SCALEFLEX_API_KEY');
    expect(rec!.environ).not.toContain(api.handle.adminKey(P));
    expect(rec!.env).toMatchObject({ SCALEFLEX_KEY_PROJECT: P, SCALEFLEX_KEY_UUID: uuid, SCALEFLEX_KEY_DESCRIPTION: 'CI uploader', SCALEFLEX_KEY_NAME: 'SCALEFLEX_KEY_DELIV_CI_UPLOADER', HOME: dir });
    expect(rec!.env.GH_TOKEN).toBeUndefined();
    expect(rec!.env.UNRELATED_VAR).toBeUndefined();
    expect(rec!.env.SCALEFLEX_API_URL).toBeUndefined();
    expect(fs.realpathSync(rec!.cwd)).toBe(fs.realpathSync(dir));
    const envFile = path.join(dir, 'secrets', 'out.env');
    expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(envFile, 'utf8')).toContain(`SCALEFLEX_KEY_DELIV_CI_UPLOADER=${secret}\n`);
    // The key's own deliver: replaces the project's (no exec run for it, its own file only).
    const own = JSON.parse(fs.readFileSync(path.join(dir, 'secrets', 'own.json'), 'utf8'));
    expect(own[P]['Own sink']).toBe(await secretOf('Own sink'));
    expect(fs.readFileSync(envFile, 'utf8')).not.toContain('OWN_SINK');
  });

  test('the operator can pass chosen variables on to sinks (SCALEFLEX_DELIVERY_PASS_ENV), never an admin key', async () => {
    clearRecords();
    const r = await cli(['secrets', 'push', '--description', 'CI uploader'], { SCALEFLEX_DELIVERY_PASS_ENV: 'GH_TOKEN,SCALEFLEX_*' });
    expect(r.code).toBe(0);
    const [rec] = recordsOf('recorder');
    expect(rec!.env.GH_TOKEN).toBe('gh-token-for-the-sink');
    expect(rec!.environ).not.toContain('SCALEFLEX_API_KEY');
    expect(Buffer.from(rec!.stdinHex, 'hex').toString()).toBe(await secretOf('CI uploader'));
  });

  test('a saved plan whose deliveries differ from the manifest is refused, and applies once the manifest is as reviewed', async () => {
    const reviewed =
      `    deliver:\n      - exec: [recorder, secret, set, "{name}", --key, "{uuid}", --project, "{project}", --description, "{description}"]\n` +
      `      - file: secrets/out.env\n` +
      `    keys:\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n` +
      `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n        deliver: [{ file: secrets/own.json }]\n` +
      `      - description: Later\n        permissions: [OBJECTS_LIST]\n`;
    manifest(reviewed);
    const saved = await cli(['plan', '--out', 'plan.json']);
    expect(saved.code).toBe(0);
    manifest(
      `    deliver:\n      - exec: [recorder, somewhere, else]\n` +
        `    keys:\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n` +
        `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n        deliver: [{ file: secrets/own.json }]\n` +
        `      - description: Later\n        permissions: [OBJECTS_LIST]\n`,
    );
    clearRecords();
    const r = await cli(['apply', 'plan.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the manifest changed since this plan was made');
    expect((await liveKeys(api.handle, P)).some((k) => k.description === 'Later')).toBe(false);
    expect(fs.readdirSync(records)).toEqual([]);
    // The reviewed manifest back in place: the saved plan applies and delivers as it showed.
    manifest(reviewed);
    const ok = await cli(['apply', 'plan.json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const [rec] = recordsOf('recorder');
    expect(rec!.argv.slice(0, 3)).toEqual(['secret', 'set', 'SCALEFLEX_KEY_DELIV_LATER']);
    expect(Buffer.from(rec!.stdinHex, 'hex').toString()).toBe(await secretOf('Later'));
    expect(fs.readFileSync(path.join(dir, 'secrets', 'out.env'), 'utf8')).toContain(`SCALEFLEX_KEY_DELIV_LATER=${await secretOf('Later')}\n`);
  });
});

describe('a failed delivery is reported per key and sink, the key stays, and secrets push delivers again', () => {
  test('apply exits 1, names each failed sink, redacts what the program printed, and the other keys go on', async () => {
    clearRecords();
    manifest(
      `    unmanaged: ignore\n    keys:\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n        deliver: []\n` +
        `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n        deliver: []\n` +
        `      - description: Broken store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [leaky-failing-sink] }, { file: secrets/broken.json }]\n` +
        `      - description: Slow store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [hanging-sink], timeout: 1 }]\n` +
        `      - description: Good store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [recorder, "{name}"] }]\n`,
    );
    const started = Date.now();
    const r = await cli(['apply', '--auto-approve']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Apply complete: 3 created, 0 changed, 0 deactivated.');
    expect(r.stdout).toContain('! delivery to exec leaky-failing-sink (stdin) failed: exited with code 1');
    expect(r.stdout).toContain('| bad value [REDACTED]');
    expect(r.stdout).toContain('! delivery to exec hanging-sink (stdin) failed: timed out after 1 s (killed)');
    expect(r.stderr).toContain('2 deliveries failed; the keys exist and keep their secrets:');
    expect(r.stderr).toContain(`scaleflex-keys secrets push --project ${P} --description "Broken store"`);
    expect(r.stderr).toContain(`scaleflex-keys secrets push --project ${P} --description "Slow store"`);
    expect(r.stderr).toContain('error: 2 deliveries of new secrets failed');
    const live = await liveKeys(api.handle, P);
    for (const d of ['Broken store', 'Slow store', 'Good store']) expect(live.find((k) => k.description === d)?.active).toBe(true);
    // The sink after the failed one still ran; the good key's sink got its secret.
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'secrets', 'broken.json'), 'utf8'))[P]['Broken store']).toBe(await secretOf('Broken store'));
    expect(Buffer.from(recordsOf('recorder')[0]!.stdinHex, 'hex').toString()).toBe(await secretOf('Good store'));
    expect(recordsOf('hanging-sink')).toHaveLength(1);
  });

  test('secrets push delivers the current secrets once the sinks are fixed', async () => {
    clearRecords();
    manifest(
      `    keys:\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n        deliver: []\n` +
        `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n        deliver: []\n` +
        `      - description: Broken store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [recorder, "{name}"] }]\n` +
        `      - description: Slow store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [recorder, "{name}"] }]\n` +
        `      - description: Good store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [recorder, "{name}"] }]\n`,
    );
    const r = await cli(['secrets', 'push', '--project', P, '--description', 'Broken store', '--description', 'Slow store']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Delivered to 2 sinks.');
    const got = recordsOf('recorder').map((x) => [x.argv[0], Buffer.from(x.stdinHex, 'hex').toString()]).sort();
    expect(got).toEqual([
      ['SCALEFLEX_KEY_DELIV_BROKEN_STORE', await secretOf('Broken store')],
      ['SCALEFLEX_KEY_DELIV_SLOW_STORE', await secretOf('Slow store')],
    ]);
  });

  test('secrets push exits 1 when a sink still fails', async () => {
    manifest(
      `    keys:\n      - description: Broken store\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: [failing-sink] }]\n` +
        `      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n      - description: Own sink\n        permissions: [OBJECTS_LIST]\n` +
        `      - description: Slow store\n        permissions: [OBJECTS_LIST]\n      - description: Good store\n        permissions: [OBJECTS_LIST]\n`,
    );
    const r = await cli(['secrets', 'push']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('! delivery to exec failing-sink (stdin) failed: exited with code 1');
    expect(r.stderr).toContain('scaleflex-keys secrets push --project deliv --description "Broken store"');
  });
});

test('a run stopped by SIGINT or SIGTERM stops the sinks it is running (their own process groups) before it ends', async () => {
  // A project of its own: the keys this leaves behind must not change what the other tests plan.
  const own = await startTestApi(['stopping']);
  try {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      clearRecords();
      fs.writeFileSync(
        path.join(dir, 'stopping.yaml'),
        `version: 1\nprojects:\n  - token: stopping\n    keys:\n      - description: Stopped by ${signal}\n        permissions: [OBJECTS_LIST]\n` +
          `        deliver: [{ exec: [hanging-sink], timeout: 120 }]\n`,
      );
      const childEnv = cleanEnv({ ...own.env(), PATH: `${bin}:${process.env.PATH}`, HOME: dir });
      const child = spawn(process.execPath, [BIN, 'apply', '-f', 'stopping.yaml', '--auto-approve'], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => (output += d));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      // The stand-in records itself (its pid in the file name) once it has read the secret, then hangs.
      let sinkPid: number | undefined;
      for (let i = 0; i < 200 && sinkPid === undefined; i++) {
        const file = fs.readdirSync(records).find((f) => f.startsWith('hanging-sink-'));
        if (file) sinkPid = Number(/-(\d+)\.json$/.exec(file)![1]);
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(sinkPid).toBeDefined();
      child.kill(signal);
      expect(await exited).toBe(signal);
      const alive = () => {
        try {
          process.kill(sinkPid!, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(alive()).toBe(false);
      allOutput.push(output);
    }
    expectNoSecretInOutput(own.handle);
  } finally {
    await own.close();
  }
});

test('secrets push needs ACCESS_MANAGE: a read-only admin key is refused before any secret is read', async () => {
  clearRecords();
  const made = (await callApi(api.handle, P, 'POST', '/keys', { description: 'read-only bot', permissions: ['ACCESS_READ', 'OBJECTS_LIST'] })) as { key: { secret: string } };
  const r = await cli(['secrets', 'push'], { SCALEFLEX_API_KEY_DELIV: made.key.secret });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('lacks ACCESS_MANAGE, which secrets push needs');
  expect(fs.readdirSync(records)).toEqual([]);
});

describe('the operator can forbid exec sinks outside the manifest', () => {
  beforeAll(() =>
    manifest(
      `    deliver: [{ exec: [recorder, "{name}"] }]\n` +
        `    keys:\n      - description: Broken store\n        permissions: [OBJECTS_LIST]\n      - description: CI uploader\n        permissions: [FILE_UPLOAD]\n` +
        `      - description: Own sink\n        permissions: [OBJECTS_LIST]\n      - description: Slow store\n        permissions: [OBJECTS_LIST]\n` +
        `      - description: Good store\n        permissions: [OBJECTS_LIST]\n      - description: Forbidden\n        permissions: [OBJECTS_LIST]\n`,
    ),
  );

  test.each([
    ['SCALEFLEX_DELIVERY_EXEC=deny', [], { SCALEFLEX_DELIVERY_EXEC: 'deny' }],
    ['--no-exec-sinks', ['--no-exec-sinks'], {}],
    ['an unknown SCALEFLEX_DELIVERY_EXEC value', [], { SCALEFLEX_DELIVERY_EXEC: 'maybe' }],
  ] as const)('%s: apply refuses before creating anything', async (_name, flags, extra) => {
    clearRecords();
    const r = await cli(['apply', '--auto-approve', ...flags], { ...extra });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exec delivery sinks are forbidden here|SCALEFLEX_DELIVERY_EXEC="maybe" is not understood/);
    expect((await liveKeys(api.handle, P)).some((k) => k.description === 'Forbidden')).toBe(false);
    expect(fs.readdirSync(records)).toEqual([]);
  });

  test('secrets push refuses too, before reading any secret', async () => {
    clearRecords();
    const r = await cli(['secrets', 'push'], { SCALEFLEX_DELIVERY_EXEC: 'deny' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exec delivery sinks are forbidden here (SCALEFLEX_DELIVERY_EXEC=deny)');
    expect(fs.readdirSync(records)).toEqual([]);
  });
});

describe('a file sink stays inside the manifest tree on disk too', () => {
  test('a directory that is a symbolic link leading out is refused before anything is created', async () => {
    const outside = tempDir();
    fs.symlinkSync(outside, path.join(dir, 'linked'));
    try {
      manifest(`    unmanaged: ignore\n    keys:\n      - description: Escaper\n        permissions: [OBJECTS_LIST]\n        deliver: [{ file: linked/x.env }]\n`);
      const r = await cli(['apply', '--auto-approve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("outside the manifest's directory");
      expect((await liveKeys(api.handle, P)).some((k) => k.description === 'Escaper')).toBe(false);
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      fs.rmSync(path.join(dir, 'linked'));
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('the README recipes, against stand-ins named like the real CLIs', () => {
  /** Every `exec: [...]` sink of the README's recipe table, parsed as the manifest would parse it. */
  function readmeRecipes(): string[][] {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = /<!-- section:secrets-delivery -->([\s\S]*?)<!-- \/section:secrets-delivery -->/.exec(readme)![1]!;
    const table = section.slice(section.indexOf('#### Recipes'));
    return [...table.matchAll(/^\| [^|]+ \| `(exec: \[.*?\])` \|/gm)].map((m) => (parse(m[1]!.replace(/\\\|/g, '|')) as { exec: string[] }).exec);
  }

  test('each recipe receives exactly the secret on stdin and its argv as written', async () => {
    clearRecords();
    const recipes = readmeRecipes();
    expect(recipes.map((r) => r[0])).toEqual(['gh', 'vault', 'aws', 'op', 'doppler', 'kubectl', 'sh']);
    const entries = recipes
      .map((argv, i) => `      - description: Recipe ${i + 1}\n        permissions: [OBJECTS_LIST]\n        deliver: [{ exec: ${JSON.stringify(argv)} }]\n`)
      .join('');
    manifest(`    unmanaged: ignore\n    keys:\n${entries}`, 'recipes.yaml');
    const r = await cli(['apply', '-f', 'recipes.yaml', '--auto-approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const received = (program: string, argv: string[]) => recordsOf(program).filter((x) => JSON.stringify(x.argv) === JSON.stringify(argv));
    for (const [i, argv] of recipes.entries()) {
      const secret = await secretOf(`Recipe ${i + 1}`);
      const name = `SCALEFLEX_KEY_DELIV_RECIPE_${i + 1}`;
      // The shell recipe: its first kubectl gets the secret on stdin, its second the first one's output.
      const [program, expected] =
        argv[0] === 'sh'
          ? ['kubectl', ['create', 'secret', 'generic', 'scaleflex-demo-uploader', '--from-file=api-key=/dev/stdin', '--dry-run=client', '-o', 'yaml']]
          : [argv[0]!, argv.slice(1).map((a) => a.replace('{name}', name).replace('{project}', P))];
      const [rec, ...more] = received(program, expected);
      expect(more).toEqual([]);
      expect(rec!.stdinHex).toBe(Buffer.from(secret).toString('hex'));
      expect(rec!.environ).not.toContain(secret);
      expect(rec!.cmdline).not.toContain(secret);
      if (argv[0] === 'sh') expect(received('kubectl', ['apply', '-f', '-'])).toHaveLength(1);
    }
  });
});
