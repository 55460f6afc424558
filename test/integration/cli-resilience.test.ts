/**
 * The CLI under a flaky API and under concurrency: apply at fault rate 0.2 converges with no duplicate key,
 * two applies racing on one project leave a correct state, and many projects are applied concurrently with
 * output grouped per project in a fixed order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FaultKind } from '../../src/emulator';
import { expectNoSecretInOutput, liveKeys, runCli, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

/** Every fault kind but the stall, which only waits out the client's 30 s timeout. */
const FAULTS: FaultKind[] = ['http500', 'http503', 'http429', 'reset', 'applied-then-reset'];

function manifest(name: string, projects: Record<string, string[]>, perms = 'OBJECTS_LIST'): string {
  const body = Object.entries(projects)
    .map(([token, keys]) => `  - token: ${token}\n    keys:\n${keys.map((d) => `      - description: ${JSON.stringify(d)}\n        permissions: [${perms}]\n`).join('')}`)
    .join('');
  fs.writeFileSync(path.join(dir, name), `version: 1\nprojects:\n${body}`);
  return name;
}

/** Descriptions of the active keys, each once per key (duplicates show up twice). */
async function activeDescriptions(token: string): Promise<string[]> {
  return (await liveKeys(api.handle, token)).filter((k) => k.active).map((k) => k.description).sort();
}

const PROJECTS = ['flaky', 'race', 'p1', 'p2', 'p3', 'p4', 'p5', 'slow', 'qa', 'qb', 'ra', 'rb'];

beforeAll(async () => {
  api = await startTestApi(PROJECTS);
  dir = tempDir();
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('apply at fault rate 0.2 converges to the manifest with no duplicate key', async () => {
  const names = Array.from({ length: 30 }, (_, i) => `flaky key ${String(i).padStart(2, '0')}`);
  const seeded = await api.handle.seedKeys('flaky', [
    { description: 'to rename', permissions: ['OBJECTS_LIST'] },
    ...Array.from({ length: 3 }, (_, i) => ({ description: `stray ${i}`, permissions: ['OBJECTS_LIST'] })),
  ]);
  const f = manifest('flaky.yaml', { flaky: names });
  fs.appendFileSync(path.join(dir, f), '      - description: renamed\n        formerDescriptions: [to rename]\n        permissions: [OBJECTS_LIST, OBJECTS_FETCH]\n');
  api.handle.configure({ faultRate: 0.2, faults: FAULTS, seed: 7 });
  const codes: number[] = [];
  try {
    for (let run = 0; run < 4; run++) {
      const r = await runCli(['apply', '-f', f, '--auto-approve', '--secrets-out', 'flaky.json'], { env: api.env('flaky'), cwd: dir });
      codes.push(r.code);
      if (r.code === 0) break;
      expect(r.code).toBe(1);
    }
  } finally {
    api.handle.configure({ faultRate: 0 });
  }
  expect(codes[codes.length - 1]).toBe(0);
  expect(api.handle.stats().faults).not.toEqual({});
  const live = await liveKeys(api.handle, 'flaky');
  const admin = live.filter((k) => !names.includes(k.description) && !k.description.startsWith('stray') && k.description !== 'renamed');
  expect(admin).toHaveLength(1);
  // Every declared key exists exactly once, active; the renamed key kept its uuid; the strays are inactive.
  expect(await activeDescriptions('flaky')).toEqual([admin[0]!.description, ...names, 'renamed'].sort());
  expect(live.filter((k) => names.includes(k.description))).toHaveLength(names.length);
  expect(live.find((k) => k.description === 'renamed')!.uuid).toBe(seeded[0]!.uuid);
  expect(live.filter((k) => k.description.startsWith('stray')).every((k) => !k.active)).toBe(true);
  const secrets = JSON.parse(fs.readFileSync(path.join(dir, 'flaky.json'), 'utf8')).flaky;
  expect(Object.keys(secrets).sort()).toEqual(names);
  const plan = await runCli(['plan', '-f', f, '--detailed-exitcode'], { env: api.env('flaky'), cwd: dir });
  expect(plan.code).toBe(0);
});

test('two applies racing on one project leave a correct state: no duplicate, and the manifest holds', async () => {
  await api.handle.seedKeys('race', [
    { description: 'kept', permissions: ['OBJECTS_LIST'] },
    { description: 'stray', permissions: ['OBJECTS_LIST'] },
  ]);
  const wanted = ['kept', ...Array.from({ length: 8 }, (_, i) => `racer ${i}`)];
  const f = manifest('race.yaml', { race: wanted }, 'OBJECTS_LIST, OBJECTS_FETCH');
  const env = api.env('race');
  const [a, b] = await Promise.all([
    runCli(['apply', '-f', f, '--auto-approve'], { env, cwd: dir }),
    runCli(['apply', '-f', f, '--auto-approve'], { env, cwd: dir }),
  ]);
  // Each run either applied or stopped cleanly because the other changed the keys first.
  for (const r of [a, b]) {
    expect([0, 1]).toContain(r.code);
    if (r.code === 1) expect(r.stderr).toMatch(/changed since the plan|appeared since the plan|Run plan again|run plan again/i);
  }
  const live = await liveKeys(api.handle, 'race');
  const declared = live.filter((k) => wanted.includes(k.description) && k.active);
  expect(declared.map((k) => k.description).sort()).toEqual([...wanted].sort());
  // If both applies got to create, the CLI must have resolved the duplicates (see the apply command).
  const again = await runCli(['apply', '-f', f, '--auto-approve'], { env, cwd: dir });
  expect(again.code).toBe(0);
  const plan = await runCli(['plan', '-f', f, '--detailed-exitcode'], { env, cwd: dir });
  expect(plan.code).toBe(0);
  expect(live.find((k) => k.description === 'stray')!.active).toBe(false);
});

test('projects are applied concurrently with output grouped per project, in token order', async () => {
  const tokens = ['p5', 'p3', 'p1', 'p4', 'p2'];
  const f = manifest('multi.yaml', Object.fromEntries(tokens.map((t) => [t, [`${t} a`, `${t} b`, `${t} c`]])));
  api.handle.configure({ latencyMs: [0, 15], seed: 3 });
  try {
    const r = await runCli(['apply', '-f', f, '--auto-approve', '--parallelism', '3'], { env: api.env(...tokens), cwd: dir });
    expect(r.code).toBe(0);
    const headers = [...r.stdout.matchAll(/^project (p\d): applying 3 changes$/gm)].map((m) => m[1]);
    expect(headers).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    // Within the apply output, each project's lines sit together between its header and its summary.
    for (const t of tokens) {
      const block = r.stdout.slice(r.stdout.indexOf(`project ${t}: applying`), r.stdout.indexOf(`project ${t}: 3 changes applied`));
      expect(block.match(/\+ created/g)).toHaveLength(3);
      expect(block).not.toMatch(/project p\d: applying[\s\S]*project p\d: applying/);
    }
    expect(r.stdout).toContain('Apply complete: 15 created, 0 changed, 0 deactivated.');
  } finally {
    api.handle.configure({ latencyMs: 0 });
  }
});

test('two runs of the same changes print the same output, whatever order the API answers in', async () => {
  const keys = Array.from({ length: 12 }, (_, i) => `key ${String(i).padStart(2, '0')}`);
  const normalized = async (a: string, b: string, seed: number) => {
    const f = manifest(`det-${a}.yaml`, { [a]: keys, [b]: keys.slice(0, 5) });
    api.handle.configure({ latencyMs: [0, 30], seed });
    try {
      const r = await runCli(['apply', '-f', f, '--auto-approve'], { env: api.env(a, b), cwd: dir });
      expect(r.code).toBe(0);
      return r.stdout
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
        .replace(/127\.0\.0\.1:\d+/g, 'HOST')
        .replaceAll(a, 'A')
        .replaceAll(b, 'B');
    } finally {
      api.handle.configure({ latencyMs: 0 });
    }
  };
  const first = await normalized('qa', 'qb', 11);
  const second = await normalized('ra', 'rb', 99);
  expect(second).toBe(first);
  expect(first).toMatch(/\+ created "key 00"[\s\S]*\+ created "key 11"/);
});

test('on a terminal a long apply asks for yes, then shows a progress line while it runs', async () => {
  const names = Array.from({ length: 60 }, (_, i) => `slow ${i}`);
  const f = manifest('slow.yaml', { slow: names });
  api.handle.configure({ latencyMs: 25 });
  try {
    const r = await runInProcess(['apply', '-f', f, '--parallelism', '1'], { env: api.env('slow'), cwd: dir, stdinIsTTY: true, answer: 'yes' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Only "yes" will be accepted');
    expect(r.stderr).toMatch(/progress: \d+\/60 changes done \(\d+%\)/);
    expect(r.stdout.match(/\+ created/g)).toHaveLength(60);
  } finally {
    api.handle.configure({ latencyMs: 0 });
  }
});
