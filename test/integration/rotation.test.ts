/**
 * Rotation with overlap and expiry, end to end against the emulator: a scheduled rotation across plan/apply runs
 * with `--now` moving time (start, overlap, deactivation); every state a kill -9 can leave a rotation in, then a
 * re-run (exactly one successor, the old key active until its deadline), and a real SIGKILL mid-apply; the on-demand
 * `rotate` command and its rollback; expiry; the refusals; and a leak scan over all CLI output.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, callApi, cleanEnv, expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

const PERMS = ['FILE_UPLOAD', 'OBJECTS_LIST'];
/** Long before any test clock: every key seeded this old is due under `every: 90d`. */
const OLD = '2026-06-01T00:00:00Z';

beforeAll(async () => {
  api = await startTestApi(['sched', 'crash', 'kill', 'ondemand', 'expiry', 'refuse']);
  dir = tempDir();
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function manifest(token: string, extra = ''): string {
  const file = `${token}.yaml`;
  fs.writeFileSync(
    path.join(dir, file),
    `version: 1\nprojects:\n  - token: ${token}\n    unmanaged: ignore\n    keys:\n      - description: CI uploader\n        permissions: [${PERMS.join(', ')}]\n        rotate: { every: 90d, overlap: 7d }\n${extra}`,
  );
  return file;
}

// The built CLI as a child process: the leak scan reads exactly what a user's terminal or CI log would get.
const cli = (token: string, args: string[]) => runCli(args, { env: api.env(token), cwd: dir });
const uploaderKeys = async (token: string) => (await liveKeys(api.handle, token)).filter((k) => k.description.startsWith('CI uploader'));
const secretOf = async (token: string, uuid: string) => ((await callApi(api.handle, token, 'GET', `/keys/${uuid}/secret`)) as { secret: string }).secret;

test('a scheduled rotation across runs: start, overlap, then the old key is deactivated (reason rotated)', async () => {
  const [old] = await api.handle.seedKeys('sched', [{ description: 'CI uploader', permissions: PERMS, createdAt: OLD }] as Parameters<typeof api.handle.seedKeys>[1]);
  const file = manifest('sched');
  const T0 = '2026-12-10T12:00:00Z';

  const plan = await cli('sched', ['plan', '-f', file, '--now', T0, '--detailed-exitcode']);
  expect(plan.code).toBe(2);
  expect(plan.stdout).toContain('description: "CI uploader" -> "CI uploader (rotated 2026-12-10, off after 2026-12-17)"');
  expect(plan.stdout).toContain('+ successor key "CI uploader", the same 2 permissions, active');
  expect(plan.stdout).toContain('Plan: 1 to create, 1 to change, 0 to deactivate.');

  // The new secret must land somewhere: refused without --secrets-out (no deliver: in this branch), nothing changed.
  const refused = await cli('sched', ['apply', '-f', file, '--now', T0, '--auto-approve']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('the new secret must land somewhere');
  expect(await uploaderKeys('sched')).toHaveLength(1);

  const applied = await cli('sched', ['apply', '-f', file, '--now', T0, '--auto-approve', '--secrets-out', 'sched.json']);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toContain('Apply complete: 1 created, 1 changed, 0 deactivated.');
  let keys = await uploaderKeys('sched');
  expect(keys).toHaveLength(2);
  const retiring = keys.find((k) => k.uuid === old!.uuid)!;
  const successor = keys.find((k) => k.uuid !== old!.uuid)!;
  expect(retiring).toMatchObject({ description: 'CI uploader (rotated 2026-12-10, off after 2026-12-17)', active: true });
  expect(successor).toMatchObject({ description: 'CI uploader', active: true });
  expect([...successor.permissions].sort()).toEqual(PERMS);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'sched.json'), 'utf8')) as Record<string, Record<string, string>>;
  expect(saved.sched!['CI uploader']).toBe(await secretOf('sched', successor.uuid));
  expect((fs.statSync(path.join(dir, 'sched.json')).mode & 0o777).toString(8)).toBe('600');

  // The overlap: the retiring key is neither unmanaged nor touched, up to and including its last day.
  for (const now of ['2026-12-11T00:00:00Z', '2026-12-17T23:59:59Z']) {
    const during = await cli('sched', ['plan', '-f', file, '--now', now, '--detailed-exitcode']);
    expect(during.code).toBe(0);
  }
  // A plan with unmanaged: deactivate leaves it alone too: it belongs to the entry.
  fs.writeFileSync(path.join(dir, 'sched-strict.yaml'), fs.readFileSync(path.join(dir, file), 'utf8').replace('unmanaged: ignore', 'unmanaged: deactivate'));
  expect((await cli('sched', ['plan', '-f', 'sched-strict.yaml', '--now', '2026-12-12T00:00:00Z', '--detailed-exitcode'])).code).toBe(0);

  const after = await cli('sched', ['plan', '-f', file, '--now', '2026-12-18T00:00:00Z', '--detailed-exitcode', '--out', 'sched-plan.json']);
  expect(after.code).toBe(2);
  expect(after.stdout).toContain('(rotated out: its overlap is over and its successor is active)');
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'sched-plan.json'), 'utf8')) as { projects: { changes: { kind: string; reason?: string }[] }[] };
  expect(doc.projects[0]!.changes).toEqual([expect.objectContaining({ kind: 'deactivate', reason: 'rotated' })]);
  // The saved plan applies with the same clock; its precondition is re-checked like any change.
  const done = await cli('sched', ['apply', 'sched-plan.json', '--now', '2026-12-18T00:00:00Z']);
  expect(done.code).toBe(0);
  keys = await uploaderKeys('sched');
  expect(keys.find((k) => k.uuid === old!.uuid)!.active).toBe(false);
  expect(keys.find((k) => k.uuid === successor.uuid)!.active).toBe(true);
  expect((await cli('sched', ['plan', '-f', file, '--now', '2026-12-18T00:00:00Z', '--detailed-exitcode'])).code).toBe(0);

  // Warned ahead (default 14 days): the successor's own rotation, 90 days after it was made.
  const made = ((await callApi(api.handle, 'sched', 'GET', `/keys/${successor.uuid}`)) as { key: { created_at: string } }).key.created_at;
  const day80 = new Date(Date.parse(made) + 80 * 86_400_000).toISOString();
  const ahead = await cli('sched', ['plan', '-f', file, '--now', day80]);
  expect(ahead.stderr).toContain(`warning: project sched: rotation of "CI uploader" (uuid ${successor.uuid}) comes due`);
  const quiet = await cli('sched', ['plan', '-f', file, '--warn-within', '3d', '--now', day80]);
  expect(quiet.stderr).not.toContain('comes due');
});

describe('every state a kill -9 can leave a rotation in: the re-run resumes, one successor, the old key active until its deadline', () => {
  const T0 = '2026-12-10T12:00:00Z';
  const RETIRED = 'CI uploader (rotated 2026-12-10, off after 2026-12-17)';

  test('killed after the rename, before the create: the next plan creates the successor, not a second rotation', async () => {
    const [old] = await api.handle.seedKeys('crash', [{ description: RETIRED, permissions: PERMS, createdAt: OLD }] as Parameters<typeof api.handle.seedKeys>[1]);
    const file = manifest('crash');
    const plan = await cli('crash', ['plan', '-f', file, '--now', T0]);
    expect(plan.stdout).toContain('+ key "CI uploader"');
    expect(plan.stdout).toContain('Plan: 1 to create, 0 to change, 0 to deactivate.');
    expect(plan.stdout).not.toContain('rotate:');
    // Even after the deadline: the old key is the only working one, so it is never deactivated before a successor exists.
    const late = await cli('crash', ['plan', '-f', file, '--now', '2026-12-30T00:00:00Z']);
    expect(late.stdout).toContain('Plan: 1 to create, 0 to change, 0 to deactivate.');

    for (let run = 0; run < 2; run++) {
      expect((await cli('crash', ['apply', '-f', file, '--now', T0, '--auto-approve', '--secrets-out', 'crash.env'])).code).toBe(0);
    }
    const keys = await uploaderKeys('crash');
    expect(keys.filter((k) => k.description === 'CI uploader')).toHaveLength(1);
    expect(keys.find((k) => k.uuid === old!.uuid)).toMatchObject({ description: RETIRED, active: true });
  });

  test('killed after the create (secret not yet stored): the re-run changes nothing and never makes a second successor', async () => {
    // The state: old key renamed, successor created; a re-run at any time during the overlap.
    for (const now of [T0, '2026-12-17T00:00:00Z']) {
      const r = await cli('crash', ['apply', '-f', manifest('crash'), '--now', now, '--auto-approve', '--secrets-out', 'crash.env']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('No changes');
    }
    expect((await uploaderKeys('crash')).filter((k) => k.description === 'CI uploader')).toHaveLength(1);
    // The secret of the successor is fetched again with `secrets pull`, as after any interrupted create.
    const pulled = await cli('crash', ['secrets', 'pull', '-f', 'crash.yaml', '--project', 'crash', '--out', 'pulled.env']);
    expect(pulled.code).toBe(0);
  });

  test('a real SIGKILL during an apply, at each step (slow API), then a re-run: exactly one successor, old key active', async () => {
    for (const step of ['before-rename', 'after-rename'] as const) {
      const token = 'kill';
      for (const k of await liveKeys(api.handle, token)) {
        if (k.description.startsWith('CI uploader') && k.active) await callApi(api.handle, token, 'POST', '/keys/status', { uuids: [k.uuid], active: false });
        if (k.description.startsWith('CI uploader')) await callApi(api.handle, token, 'PATCH', `/keys/${k.uuid}`, { description: `gone ${k.uuid}` });
      }
      const [old] = await api.handle.seedKeys(token, [{ description: 'CI uploader', permissions: PERMS, createdAt: OLD }] as Parameters<typeof api.handle.seedKeys>[1]);
      const file = manifest(token);
      api.handle.configure({ latencyMs: 700 });
      const child = spawn(process.execPath, [BIN, 'apply', '-f', file, '--now', T0, '--auto-approve', '--secrets-out', 'kill.env', '--timeout', '60'], {
        cwd: dir,
        env: cleanEnv(api.env(token)),
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      if (step === 'after-rename') {
        const until = Date.now() + 30_000;
        while (Date.now() < until && !(await liveKeys(api.handle, token)).some((k) => k.uuid === old!.uuid && k.description !== 'CI uploader')) {
          await new Promise((r) => setTimeout(r, 50));
        }
      } else {
        await new Promise((r) => setTimeout(r, 300));
      }
      child.kill('SIGKILL');
      await exited;
      api.handle.configure({ latencyMs: 0 });
      await new Promise((r) => setTimeout(r, 1000)); // a request the killed run had in flight lands (or not)
      const rerun = await cli(token, ['apply', '-f', file, '--now', T0, '--auto-approve', '--secrets-out', 'kill.env']);
      expect(rerun.code).toBe(0);
      const keys = (await liveKeys(api.handle, token)).filter((k) => k.description.startsWith('CI uploader'));
      expect(keys.filter((k) => k.description === 'CI uploader' && k.active)).toHaveLength(1);
      expect(keys.find((k) => k.uuid === old!.uuid)).toMatchObject({ description: 'CI uploader (rotated 2026-12-10, off after 2026-12-17)', active: true });
      expect((await cli(token, ['plan', '-f', file, '--now', T0, '--detailed-exitcode'])).code).toBe(0);
      // The old key stays active through its last day, and only then is planned off.
      expect((await cli(token, ['plan', '-f', file, '--now', '2026-12-17T23:00:00Z', '--detailed-exitcode'])).code).toBe(0);
      const off = await cli(token, ['plan', '-f', file, '--now', '2026-12-18T00:00:00Z', '--detailed-exitcode']);
      expect(off.code).toBe(2);
      expect(off.stdout).toContain('Plan: 0 to create, 0 to change, 1 to deactivate.');
    }
  }, 120_000);
});

test('rotate on demand, then --rollback: the old key is back under its description, the successor is off', async () => {
  const [old] = await api.handle.seedKeys('ondemand', [{ description: 'CI uploader', permissions: PERMS }]);
  // No rotate: in the manifest; the key is brand new: only the command rotates it.
  const file = 'ondemand.yaml';
  fs.writeFileSync(path.join(dir, file), `version: 1\nprojects:\n  - token: ondemand\n    keys:\n      - description: CI uploader\n        permissions: [${PERMS.join(', ')}]\n`);
  expect((await cli('ondemand', ['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);

  const noSink = await cli('ondemand', ['rotate', '-f', file, '--project', 'ondemand', '--description', 'CI uploader', '--auto-approve']);
  expect(noSink.code).toBe(1);
  expect(noSink.stderr).toContain('the new secret must land somewhere');

  const r = await cli('ondemand', ['rotate', '-f', file, '--project', 'ondemand', '--description', 'CI uploader', '--auto-approve', '--secrets-out', 'od.env']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('rotate: on demand');
  expect(r.stdout).toMatch(/~ rotated "CI uploader": uuid \S+ renamed "CI uploader \(rotated \d{4}-\d{2}-\d{2}, off after \d{4}-\d{2}-\d{2}\)", successor uuid/);
  let keys = await uploaderKeys('ondemand');
  expect(keys).toHaveLength(2);
  const successor = keys.find((k) => k.uuid !== old!.uuid)!;
  expect(fs.readFileSync(path.join(dir, 'od.env'), 'utf8')).toContain(await secretOf('ondemand', successor.uuid));
  // Again during the overlap: nothing to do, never a second successor.
  const again = await cli('ondemand', ['rotate', '-f', file, '--project', 'ondemand', '--description', 'CI uploader', '--auto-approve', '--secrets-out', 'od.env']);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('is already being rotated');
  expect(await uploaderKeys('ondemand')).toHaveLength(2);

  const back = await cli('ondemand', ['rotate', '--rollback', '-f', file, '--project', 'ondemand', '--description', 'CI uploader', '--auto-approve']);
  expect(back.code).toBe(0);
  keys = await uploaderKeys('ondemand');
  expect(keys.find((k) => k.uuid === old!.uuid)).toMatchObject({ description: 'CI uploader', active: true });
  expect(keys.find((k) => k.uuid === successor.uuid)).toMatchObject({ active: false });
  expect(keys.find((k) => k.uuid === successor.uuid)!.description).toMatch(/^CI uploader \(rolled back \d{4}-\d{2}-\d{2}\)$/);
  expect((await cli('ondemand', ['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);
  const none = await cli('ondemand', ['rotate', '--rollback', '-f', file, '--project', 'ondemand', '--description', 'CI uploader', '--auto-approve']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('nothing to roll back');
});

test('expiry: warned ahead, then deactivated (reason expired); a past expires is a warning in validate', async () => {
  await api.handle.seedKeys('expiry', [{ description: 'Temp', permissions: ['OBJECTS_LIST'] }]);
  const file = 'expiry.yaml';
  fs.writeFileSync(
    path.join(dir, file),
    'version: 1\nprojects:\n  - token: expiry\n    keys:\n      - description: Temp\n        permissions: [OBJECTS_LIST]\n        expires: 2026-12-20\n      - description: Never made\n        permissions: [OBJECTS_LIST]\n        expires: 2026-12-01T00:00:00Z\n',
  );
  const before = await cli('expiry', ['plan', '-f', file, '--now', '2026-12-10T00:00:00Z', '--detailed-exitcode']);
  expect(before.code).toBe(0); // "Never made" has expired: it is not created
  expect(before.stderr).toContain('warning: project expiry: expiry of "Temp"');
  const at = await cli('expiry', ['plan', '-f', file, '--now', '2026-12-20T00:00:00Z', '--detailed-exitcode']);
  expect(at.code).toBe(2);
  expect(at.stdout).toContain("(expired: its entry's expires has come)");
  const applied = await cli('expiry', ['apply', '-f', file, '--now', '2026-12-20T00:00:00Z', '--auto-approve']);
  // Compared with its output, so that a failure shows what the run printed (it failed once, in a loaded CI run).
  expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect((await liveKeys(api.handle, 'expiry')).find((k) => k.description === 'Temp')!.active).toBe(false);

  fs.writeFileSync(path.join(dir, 'past.yaml'), 'version: 1\nprojects:\n  - token: expiry\n    keys:\n      - description: Temp\n        permissions: [OBJECTS_LIST]\n        expires: 2020-01-01\n');
  const v = await runCli(['validate', '-f', 'past.yaml'], { env: {}, cwd: dir });
  expect(v.code).toBe(0);
  expect(v.stderr).toContain('past.yaml:5:9: warning: key "Temp" of project "expiry" expired at 2020-01-01T00:00:00.000Z');
  fs.writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nprojects:\n  - token: expiry\n    keys:\n      - description: Temp\n        permissions: [OBJECTS_LIST]\n        expires: 2020-02-30\n');
  const bad = await runCli(['validate', '-f', 'bad.yaml'], { env: {}, cwd: dir });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('bad.yaml:7:18: error: expires "2020-02-30" is not a date');
});

test('refused with a clear message, exit 1, nothing changed: the tool\'s own key, a pinned entry', async () => {
  const self = ((await callApi(api.handle, 'refuse', 'GET', '/keys/self')) as { key: { uuid: string; description: string; permissions: string[] } }).key;
  const [pinned] = await api.handle.seedKeys('refuse', [{ description: 'pinned', permissions: ['OBJECTS_LIST'] }]);
  const file = 'refuse.yaml';
  fs.writeFileSync(
    path.join(dir, file),
    `version: 1\nprojects:\n  - token: refuse\n    keys:\n      - description: ${JSON.stringify(self.description)}\n        permissions: [${self.permissions.join(', ')}]\n` +
      `      - description: pinned\n        permissions: [OBJECTS_LIST]\n        uuid: ${pinned!.uuid}\n`,
  );
  const before = await liveKeys(api.handle, 'refuse');
  const own = await cli('refuse', ['rotate', '-f', file, '--project', 'refuse', '--description', self.description, '--auto-approve', '--secrets-out', 'r.env']);
  expect(own.code).toBe(1);
  expect(own.stderr).toContain('it is the key scaleflex-keys runs with');
  const pin = await cli('refuse', ['rotate', '-f', file, '--project', 'refuse', '--description', 'pinned', '--auto-approve', '--secrets-out', 'r.env']);
  expect(pin.code).toBe(1);
  expect(pin.stderr).toContain(`the entry pins uuid ${pinned!.uuid}`);
  expect(await liveKeys(api.handle, 'refuse')).toEqual(before);
});
