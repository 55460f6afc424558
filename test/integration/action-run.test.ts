/**
 * The GitHub Action's entry point (dist/action/main.js) run as a child process with the environment GitHub sets
 * (event payload, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_REPOSITORY, GITHUB_API_URL -> test/helpers/github-server,
 * INPUT_*), against the real emulator over HTTP. Covers plan (one marked comment, created then updated; a guard
 * refusal still comments, then fails), apply (show + apply of the reviewed plan, no secret in the log) and drift
 * (one marked issue opened, updated, closed). Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allOutput, expectNoSecretInOutput, liveKeys, ROOT, startTestApi, tempDir, type TestApi } from '../helpers/cli';
import { startGithubServer, type GithubServer } from '../helpers/github-server';

const ENTRY = path.join(ROOT, 'dist', 'action', 'main.js');
let api: TestApi;
let gh: GithubServer;
let dir: string;

interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** GITHUB_OUTPUT as @actions/core writes it: `name<<DELIM\nvalue\nDELIM` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[3]!;
  return out;
}

async function runAction(eventName: string, payload: unknown, inputs: Record<string, string>, tokens: string[]): Promise<ActionRun> {
  const run = fs.mkdtempSync(path.join(dir, 'run-'));
  const files = { event: path.join(run, 'event.json'), summary: path.join(run, 'summary.md'), output: path.join(run, 'output') };
  fs.writeFileSync(files.event, JSON.stringify(payload));
  fs.writeFileSync(files.summary, '');
  fs.writeFileSync(files.output, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NO_COLOR: '1',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_OUTPUT: files.output,
    GITHUB_REPOSITORY: 'acme/keys',
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_RUN_ID: '42',
    ...api.env(...tokens),
    'INPUT_GITHUB-TOKEN': 'ghs_test_token',
    INPUT_COMMENT: 'true',
    'INPUT_PLAN-AFRESH': 'false',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      allOutput.push(stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr, outputs: parseOutputs(fs.readFileSync(files.output, 'utf8')), summary: fs.readFileSync(files.summary, 'utf8') });
    });
  });
}

const pr = { pull_request: { number: 7 }, number: 7, repository: { name: 'keys', owner: { login: 'acme' } } };
const push = { ref: 'refs/heads/main', repository: { name: 'keys', owner: { login: 'acme' } } };
const schedule = { schedule: '0 6 * * *', repository: { name: 'keys', owner: { login: 'acme' } } };

function writeManifest(name: string, token: string, keys: string, unmanaged = 'ignore'): void {
  fs.writeFileSync(path.join(dir, name), `version: 1\nprojects:\n  - token: ${token}\n    unmanaged: ${unmanaged}\n    keys:${keys ? `\n${keys}` : ' []\n'}`);
}
const key = (description: string, perms = 'OBJECTS_LIST') => `      - description: ${JSON.stringify(description)}\n        permissions: [${perms}]\n`;

beforeAll(async () => {
  if (!fs.existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first`);
  api = await startTestApi(['shop', 'locked', 'drifty', 'sinky']);
  gh = await startGithubServer('acme', 'keys');
  dir = tempDir();
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  // The GitHub token is for the REST calls only: never printed, never handed to the CLI.
  expect(allOutput.join('\n')).not.toContain('ghs_test_token');
  await gh.close();
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('mode: plan on a pull request', () => {
  test('posts ONE marked comment, writes the job summary and sets the outputs', async () => {
    writeManifest('scaleflex-keys.yaml', 'shop', key('CI uploader', 'FILE_UPLOAD'));
    const r = await runAction('pull_request', pr, { mode: 'plan' }, ['shop']);
    expect(r.code).toBe(0);
    expect(r.outputs).toEqual({ exitcode: '2', has_changes: 'true', plan: 'plan.json' });
    expect(fs.existsSync(path.join(dir, 'plan.json'))).toBe(true);
    expect(r.stdout).toContain('::group::The plan (plan.json)');
    expect(r.stdout).toContain('+ key "CI uploader"');
    expect(r.summary).toContain('## scaleflex-keys plan');
    expect(r.summary).toContain('CI uploader');
    const ours = gh.comments.filter((c) => c.issue === 7);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body.startsWith('<!-- scaleflex-keys:plan -->\n## scaleflex-keys plan')).toBe(true);
  });

  test('a second run updates the same comment instead of adding one', async () => {
    const before = gh.comments.filter((c) => c.issue === 7).map((c) => c.id);
    writeManifest('scaleflex-keys.yaml', 'shop', key('CI uploader', 'FILE_UPLOAD') + key('Storefront'));
    gh.calls.length = 0;
    const r = await runAction('pull_request', pr, { mode: 'plan' }, ['shop']);
    expect(r.code).toBe(0);
    const ours = gh.comments.filter((c) => c.issue === 7);
    expect(ours.map((c) => c.id)).toEqual(before);
    expect(ours[0]!.body).toContain('Storefront');
    expect(gh.calls.map((c) => c.method).filter((m) => m !== 'GET')).toEqual(['PATCH']);
  });

  test('a guard refusal still gets its comment, then fails the step with exitcode 3', async () => {
    // Taking ACCESS_MANAGE from the admin key the tool runs with would lock it out: the self-lockout guard refuses.
    writeManifest('locked.yaml', 'locked', key('locked admin (bootstrap)'), 'ignore');
    const payload = { ...pr, pull_request: { number: 8 }, number: 8 };
    const r = await runAction('pull_request', payload, { mode: 'plan', manifest: 'locked.yaml', plan: 'locked.plan.json' }, ['locked']);
    expect(r.outputs.exitcode).toBe('3');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('::error::scaleflex-keys plan exited 3: a guard refused');
    const ours = gh.comments.filter((c) => c.issue === 8);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain('A guard refused');
  });
});

describe('mode: apply on push', () => {
  test('shows the reviewed plan in the log and summary, applies it, and never prints a secret', async () => {
    const r = await runAction('push', push, { mode: 'apply', 'secrets-out': 'secrets.json' }, ['shop']);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.outputs.exitcode).toBe('0');
    expect(r.stdout).toContain('::group::The plan to apply (plan.json)');
    expect(r.stdout).toContain('+ key "Storefront"');
    expect(r.summary).toContain('## scaleflex-keys plan');
    expect((await liveKeys(api.handle, 'shop')).map((k) => k.description).sort()).toEqual(['CI uploader', 'Storefront', 'shop admin (bootstrap)']);
    expect((fs.statSync(path.join(dir, 'secrets.json')).mode & 0o777).toString(8)).toBe('600');
  });

  test('with exec-sinks: false, a reviewed plan whose new key has an exec sink is refused and nothing is created', async () => {
    fs.writeFileSync(
      path.join(dir, 'sinky.yaml'),
      `version: 1\nprojects:\n  - token: sinky\n    unmanaged: ignore\n    deliver:\n      - exec: [gh, secret, set, "{name}"]\n    keys:\n${key('Deployer')}`,
    );
    const planned = await runAction('pull_request', pr, { mode: 'plan', manifest: 'sinky.yaml', plan: 'sinky-plan.json', comment: 'false' }, ['sinky']);
    expect(planned.outputs.exitcode).toBe('2');
    const before = await liveKeys(api.handle, 'sinky');
    const r = await runAction('push', push, { mode: 'apply', plan: 'sinky-plan.json', 'exec-sinks': 'false' }, ['sinky']);
    expect(r.code).not.toBe(0);
    expect(r.outputs.exitcode).toBe('1');
    expect(r.stdout + r.stderr).toContain('exec');
    expect(await liveKeys(api.handle, 'sinky')).toEqual(before);
  });

  test('without a downloaded plan and without plan-afresh it fails and changes nothing', async () => {
    const r = await runAction('push', push, { mode: 'apply', plan: 'missing.json' }, ['shop']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('no reviewed plan at missing.json');
  });
});

describe('mode: drift on a schedule', () => {
  test('opens ONE marked issue on drift, updates it on the next run, and closes it when live matches again', async () => {
    const admin = (await liveKeys(api.handle, 'drifty'))[0]!;
    const adminEntry = key(admin.description, admin.permissions.join(', '));
    writeManifest('drift.yaml', 'drifty', adminEntry + key('Wanted'), 'ignore');
    const inputs = { mode: 'drift', manifest: 'drift.yaml' };
    const first = await runAction('schedule', schedule, inputs, ['drifty']);
    expect(first.code).toBe(0);
    expect(first.outputs).toMatchObject({ exitcode: '2', has_changes: 'true' });
    const open = gh.issues.filter((i) => i.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]!.body).toContain('<!-- scaleflex-keys:drift -->');

    const second = await runAction('schedule', schedule, inputs, ['drifty']);
    expect(second.code).toBe(0);
    expect(gh.issues).toHaveLength(1);

    // The manifest says what live has again: the admin key exactly as it is.
    writeManifest('drift.yaml', 'drifty', adminEntry, 'ignore');
    const third = await runAction('schedule', schedule, inputs, ['drifty']);
    expect(third.code).toBe(0);
    expect(third.outputs.exitcode).toBe('0');
    expect(gh.issues.map((i) => i.state)).toEqual(['closed']);
  });
});
