/**
 * `plan` and `apply` end to end against the emulator over HTTP: exit codes, output formats, saved plans (and
 * stale ones), confirmation, ambiguity, every guard, credentials, tracing, and the `import` round trip.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseManifestText } from '../../src/manifest';
import { callApi, expectNoSecretInOutput, liveKeys, runCli, runInProcess, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;

/** Writes a manifest for `projects` ({token: keys YAML}) and returns its file name. */
function manifest(name: string, projects: Record<string, string>): string {
  const body = Object.entries(projects)
    .map(([token, keys]) => `  - token: ${token}\n    keys:${keys ? `\n${keys}` : ' []\n'}`)
    .join('');
  fs.writeFileSync(path.join(dir, name), `version: 1\nprojects:\n${body}`);
  return name;
}
const key = (description: string, perms = 'OBJECTS_LIST', extra = '') =>
  `      - description: ${JSON.stringify(description)}\n        permissions: [${perms}]\n${extra}`;

const cli = (args: string[], env: Record<string, string | undefined> = api.env()) => runCli(args, { env, cwd: dir });
async function selfKey(token: string): Promise<{ uuid: string; description: string }> {
  return ((await callApi(api.handle, token, 'GET', '/keys/self')) as { key: { uuid: string; description: string } }).key;
}

beforeAll(async () => {
  api = await startTestApi(['codes', 'amb', 'other', 'guarded', 'selfish', 'imp', 'stale']);
  dir = tempDir();
});

afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('exit codes and formats', () => {
  test('plan exits 0 with changes, 2 with --detailed-exitcode, and 0 once applied', async () => {
    const f = manifest('codes.yaml', { codes: key('one') });
    const plain = await cli(['plan', '-f', f]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('Plan: 1 to create, 0 to change, 0 to deactivate.');
    expect((await cli(['plan', '-f', f, '--detailed-exitcode'])).code).toBe(2);
    expect((await cli(['apply', '-f', f, '--auto-approve'])).code).toBe(0);
    const after = await cli(['plan', '-f', f, '--detailed-exitcode']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('No changes.');
  });

  test('--format json prints only the documented plan on stdout, and --out saves the same document', async () => {
    const f = manifest('codes2.yaml', { codes: key('one') + key('two') });
    const r = await cli(['plan', '-f', f, '--format', 'json', '--out', 'codes.plan.json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.format_version).toBe(2);
    expect(doc.projects[0].project).toBe('codes');
    expect(doc.projects[0].changes).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, 'codes.plan.json'), 'utf8')).toBe(r.stdout);
    expect(r.stderr).toContain('apply exactly it with: scaleflex-keys apply codes.plan.json');
  });

  test('--format markdown renders a PR comment', async () => {
    const r = await cli(['plan', '-f', 'codes2.yaml', '--format', 'markdown']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^## scaleflex-keys plan/);
    expect(r.stdout).toContain('two');
  });

  test('a usage error exits 1 (never 2, which means changes), a missing credential exits 1 naming the variable', async () => {
    expect((await cli(['plan', '--no-such-flag'])).code).toBe(1);
    const missing = await cli(['plan', '-f', 'codes.yaml'], { SCALEFLEX_API_URL: api.handle.url });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('SCALEFLEX_API_KEY_CODES');
  });

  test('a rejected credential exits 1 naming where it came from', async () => {
    api.handle.resetStats();
    const r = await cli(['plan', '-f', 'codes.yaml'], { SCALEFLEX_API_URL: api.handle.url, SCALEFLEX_API_KEY_CODES: 'f'.repeat(32) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SCALEFLEX_API_KEY_CODES');
    // The key is checked once: the early listing's failure is the answer, not retried by the regular path.
    expect(api.handle.stats().byRoute['GET /keys/self']).toBe(1);
  });

  test('a credentials file is read relative to the manifest, whatever the current directory', async () => {
    fs.mkdirSync(path.join(dir, 'team', 'keys'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'team', 'keys', 'codes.key'), `${api.handle.adminKey('codes')}\n`, { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, 'team', 'm.yaml'),
      `version: 1\nprojects:\n  - token: codes\n    credentials: { file: ./keys/codes.key }\n    keys:\n${key('one')}`,
    );
    const r = await cli(['plan', '-f', 'team/m.yaml'], { SCALEFLEX_API_URL: api.handle.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    fs.rmSync(path.join(dir, 'team', 'keys', 'codes.key'));
    const gone = await cli(['plan', '-f', 'team/m.yaml'], { SCALEFLEX_API_URL: api.handle.url });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('keys/codes.key');
  });

  test('a read-only key can plan but not apply or pull secrets, and the error names ACCESS_MANAGE', async () => {
    const [reader] = await api.handle.seedKeys('codes', [{ description: 'read-only admin', permissions: ['ACCESS_READ'] }]);
    const env = { SCALEFLEX_API_URL: api.handle.url, SCALEFLEX_API_KEY_CODES: reader!.secret };
    const f = manifest('readonly.yaml', { codes: key('one') + key('read-only admin', 'ACCESS_READ') + key('never created') });
    // The read-only key cannot see which admin key apply will use: the undeclared bootstrap admin key would be
    // deactivated as unmanaged, and it is the last key holding ACCESS_MANAGE, so the plan already refuses.
    const planned = await cli(['plan', '-f', f], env);
    expect(planned.code).toBe(3);
    expect(planned.stdout).toContain('the last active key holding ACCESS_MANAGE');
    const applied = await cli(['apply', '-f', f, '--auto-approve'], env);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain('ACCESS_MANAGE');
    expect((await liveKeys(api.handle, 'codes')).some((k) => k.description === 'never created')).toBe(false);
    const pull = await cli(['secrets', 'pull', '-f', f, '--out', 'ro.json'], env);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('ACCESS_MANAGE');
  });

  test('--project outside the manifest is a usage error', async () => {
    const r = await cli(['plan', '-f', 'codes.yaml', '--project', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"nope"');
  });

  test('an invalid manifest exits 1 with file:line:col diagnostics and sends no request at all', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nprojects:\n  - token: codes\n    keys:\n      - description: x\n        permissions: [FILE_UPLOD]\n');
    api.handle.resetStats();
    const r = await cli(['plan', '-f', 'bad.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:6:\d+: error: .*FILE_UPLOAD/);
    expect((await cli(['apply', '-f', 'bad.yaml', '--auto-approve'])).code).toBe(1);
    expect(api.handle.stats().requests).toBe(0);
  });

  test('a large invalid manifest sends no request either (nothing is listed while it is read)', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `      - description: k${i}\n        permissions: [OBJECTS_LIST]\n`).join('');
    fs.writeFileSync(path.join(dir, 'big-bad.yaml'), `version: 1\nprojects:\n  - token: codes\n    keys:\n${keys}      - description: x\n        permissions: [FILE_UPLOD]\n`);
    api.handle.resetStats();
    const r = await cli(['plan', '-f', 'big-bad.yaml']);
    expect(r.code).toBe(1);
    expect(api.handle.stats().requests).toBe(0);
  });

  test('--verbose or SCALEFLEX_DEBUG=1 traces each request to stderr without the key', async () => {
    const r = await cli(['plan', '-f', 'codes.yaml', '--verbose']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/trace: .*GET .*\/keys\/self/);
    expect(r.stderr).not.toContain(api.handle.adminKey('codes'));
    const debug = await cli(['plan', '-f', 'codes.yaml'], { ...api.env(), SCALEFLEX_DEBUG: '1' });
    expect(debug.stderr).toMatch(/trace: .*GET .*\/keys\/self/);
    expect((await cli(['plan', '-f', 'codes.yaml'])).stderr).not.toContain('trace:');
  });
});

describe('apply with a manifest', () => {
  test('without a terminal it needs --auto-approve and changes nothing', async () => {
    const f = manifest('confirm.yaml', { codes: key('one') + key('needs confirmation') });
    const before = await liveKeys(api.handle, 'codes');
    const r = await cli(['apply', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--auto-approve');
    expect(await liveKeys(api.handle, 'codes')).toEqual(before);
  });

  test('on a terminal anything but "yes" cancels, and "yes" applies', async () => {
    const no = await runInProcess(['apply', '-f', 'confirm.yaml'], { env: api.env(), cwd: dir, stdinIsTTY: true, answer: 'y' });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('Only "yes" will be accepted');
    expect((await liveKeys(api.handle, 'codes')).some((k) => k.description === 'needs confirmation')).toBe(false);
    const yes = await runInProcess(['apply', '-f', 'confirm.yaml'], { env: api.env(), cwd: dir, stdinIsTTY: true, answer: 'yes' });
    expect(yes.code).toBe(0);
    expect((await liveKeys(api.handle, 'codes')).some((k) => k.description === 'needs confirmation')).toBe(true);
  });
});

describe('saved plans', () => {
  test('apply plan.json applies exactly the saved changes', async () => {
    const f = manifest('stale.yaml', { stale: key('a') + key('b') });
    expect((await cli(['apply', '-f', f, '--auto-approve'])).code).toBe(0);
    const f2 = manifest('stale2.yaml', { stale: key('a', 'OBJECTS_LIST, OBJECTS_FETCH') + key('c') });
    expect((await cli(['plan', '-f', f2, '--out', 'stale.plan.json'])).code).toBe(0);
    const r = await cli(['apply', 'stale.plan.json']);
    expect(r.code).toBe(0);
    // The plan names the manifest it was made from, so the hint for fetching the new key's secret names it too.
    expect(r.stdout).toContain('scaleflex-keys secrets pull -f stale2.yaml --project stale --description "c" --out FILE');
    const live = await liveKeys(api.handle, 'stale');
    expect(live.find((k) => k.description === 'a')!.permissions.sort()).toEqual(['OBJECTS_FETCH', 'OBJECTS_LIST']);
    expect(live.find((k) => k.description === 'b')!.active).toBe(false);
    expect(live.find((k) => k.description === 'c')!.active).toBe(true);
  });

  test('a manifest changed after the plan (an unreviewed commit) is refused, and nothing is changed', async () => {
    const f = manifest('bound.yaml', { stale: key('a', 'OBJECTS_LIST, OBJECTS_FETCH') + key('c') + key('e') });
    expect((await cli(['plan', '-f', f, '--out', 'bound.plan.json'])).code).toBe(0);
    manifest('bound.yaml', { stale: key('a', 'OBJECTS_LIST, OBJECTS_FETCH, FILE_DELETE, ACCESS_MANAGE') + key('c') + key('e') });
    const before = await liveKeys(api.handle, 'stale');
    const r = await cli(['apply', 'bound.plan.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the manifest changed since this plan was made (commit not reviewed?); run plan again');
    expect(await liveKeys(api.handle, 'stale')).toEqual(before);
  });

  test('drift through the API on a key the plan changes refuses the saved plan, saying how it moved; nothing is changed', async () => {
    const f = manifest('stale3.yaml', { stale: key('a', 'OBJECTS_LIST') + key('c') + key('d') });
    expect((await cli(['plan', '-f', f, '--out', 'drift.plan.json'])).code).toBe(0);
    const a = (await liveKeys(api.handle, 'stale')).find((k) => k.description === 'a')!;
    await callApi(api.handle, 'stale', 'PATCH', `/keys/${a.uuid}`, { permissions: ['FILE_DELETE', 'OBJECTS_FETCH', 'OBJECTS_LIST'] });
    const before = await liveKeys(api.handle, 'stale');
    const r = await cli(['apply', 'drift.plan.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"a" permissions changed since the plan: +FILE_DELETE');
    expect(await liveKeys(api.handle, 'stale')).toEqual(before);
  });

  test('drift on a key the plan does not touch does not block the saved plan', async () => {
    const f = manifest('stale4.yaml', { stale: key('a', 'OBJECTS_LIST') + key('c') + key('d') + key('g') });
    expect((await cli(['plan', '-f', f, '--out', 'untouched.plan.json'])).code).toBe(0);
    const c = (await liveKeys(api.handle, 'stale')).find((k) => k.description === 'c')!;
    await callApi(api.handle, 'stale', 'PATCH', `/keys/${c.uuid}`, { permissions: ['OBJECTS_FETCH'] });
    const r = await cli(['apply', 'untouched.plan.json']);
    expect(r.code).toBe(0);
    expect((await liveKeys(api.handle, 'stale')).find((k) => k.description === 'g')?.active).toBe(true);
    expect((await liveKeys(api.handle, 'stale')).find((k) => k.uuid === c.uuid)!.permissions).toEqual(['OBJECTS_FETCH']);
  });

  test('a plan file pointing at another API than this run resolves is refused before any key is sent', async () => {
    const f = manifest('elsewhere.yaml', { stale: key('a') });
    expect((await cli(['plan', '-f', f, '--out', 'elsewhere.plan.json'])).code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'elsewhere.plan.json'), 'utf8'));
    doc.projects[0].api_url = 'https://attacker.example';
    fs.writeFileSync(path.join(dir, 'elsewhere.plan.json'), JSON.stringify(doc));
    const r = await cli(['apply', 'elsewhere.plan.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the plan was made against https://attacker.example');
  });

  test('a plan file that is not a plan exits 1', async () => {
    fs.writeFileSync(path.join(dir, 'junk.json'), '{"format_version": 99}');
    const r = await cli(['apply', 'junk.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*junk\.json/);
  });
});

describe('ambiguity', () => {
  test('an entry matching two live keys refuses that project, lists both with their uuid: line, and still plans the others', async () => {
    const [first, second] = await api.handle.seedKeys('amb', [
      { description: 'test', permissions: ['OBJECTS_LIST'] },
      { description: 'test', permissions: ['OBJECTS_FETCH'] },
    ]);
    const f = manifest('amb.yaml', { amb: key('test'), other: key('fine') });
    const r = await cli(['plan', '-f', f, '--detailed-exitcode', '--out', 'amb.plan.json']);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(dir, 'amb.plan.json'))).toBe(false);
    expect(r.stderr).toContain(`uuid: ${first!.uuid}`);
    expect(r.stderr).toContain(`uuid: ${second!.uuid}`);
    expect(r.stdout).toContain('fine');
    expect(r.stdout).toContain('1 project could not be planned and is not shown: amb.');
    const markdown = await cli(['plan', '-f', f, '--format', 'markdown']);
    expect(markdown.stdout).toContain('could not be planned');
    expect(markdown.stdout).not.toContain('Live keys match the manifest');
    const applied = await cli(['apply', '-f', f, '--auto-approve']);
    expect(applied.code).toBe(1);
    expect((await liveKeys(api.handle, 'other')).some((k) => k.description === 'fine')).toBe(false);
    // Pinning resolves it.
    const pinned = manifest('amb2.yaml', { amb: key('test', 'OBJECTS_LIST', `        uuid: ${first!.uuid}\n`) });
    expect((await cli(['plan', '-f', pinned])).code).toBe(0);
  });
});

test('a project refused while another is still listing is reported, not a crash', async () => {
  // `quick` is refused (ambiguous) after one page while `slow` still follows its cursor through three pages.
  const slowApi = await startTestApi(['quick', 'slow'], { latencyMs: 20 });
  try {
    await slowApi.handle.seedKeys('quick', [
      { description: 'twin', permissions: ['OBJECTS_LIST'] },
      { description: 'twin', permissions: ['OBJECTS_FETCH'] },
    ]);
    const many = Array.from({ length: 250 }, (_, i) => `k${i}`);
    await slowApi.handle.seedKeys('slow', many.map((description) => ({ description, permissions: ['OBJECTS_LIST'] })));
    const f = manifest('race.yaml', { quick: key('twin'), slow: many.map((d) => key(d)).join('') });
    const r = await cli(['plan', '-f', f, '--format', 'markdown'], slowApi.env());
    expect(r.stderr).not.toContain('Unhandled');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('could not be planned');
    expect(r.stderr).toContain('ambiguous match');
  } finally {
    await slowApi.close();
  }
});

test("--parallelism bounds the pages in flight, while the next projects' self checks are answered ahead", async () => {
  // At --parallelism 1 the pages go one after another; the next project is opened (its self check sent) while the
  // current page is on the wire, so that a freed slot goes at once to that project's page.
  const LATENCY_MS = 150;
  const seen: { route: string; token: string; start: number; end: number }[] = [];
  const log = (line: string) => {
    const m = /^GET \/(\w+)\/v5\/(keys\/self|keys)\b\S* \d+ (\d+)ms/.exec(line);
    const end = performance.now();
    if (m) seen.push({ token: m[1]!, route: m[2]!, start: end - Number(m[3]), end });
  };
  const tokens = ['la', 'lb', 'lc', 'ld'];
  const lookApi = await startTestApi(tokens, { latencyMs: LATENCY_MS, log });
  try {
    const f = manifest('lookahead.yaml', Object.fromEntries(tokens.map((t) => [t, ''])));
    const r = await cli(['plan', '-f', f, '--parallelism', '1', '--detailed-exitcode'], lookApi.env());
    expect([r.code, r.stderr]).toEqual([0, '']);
    const pages = seen.filter((e) => e.route === 'keys').sort((a, b) => a.start - b.start);
    expect(pages.map((p) => p.token)).toEqual(tokens);
    // One page at a time (the log's durations are whole milliseconds).
    for (let i = 1; i < pages.length; i++) expect(pages[i]!.start).toBeGreaterThan(pages[i - 1]!.end - 2);
    // Project k+1's self check left while project k's page was still on the wire.
    const self = (token: string) => seen.find((e) => e.route === 'keys/self' && e.token === token)!;
    for (let i = 1; i < tokens.length; i++) expect(self(tokens[i]!).start).toBeLessThan(pages[i - 1]!.end - LATENCY_MS / 2);
  } finally {
    await lookApi.close();
  }
});

describe('guards', () => {
  test('mass deactivation is refused with exit 3 by plan and apply, and --force lets apply pass', async () => {
    await api.handle.seedKeys('guarded', Array.from({ length: 12 }, (_, i) => ({ description: `k${i}`, permissions: ['OBJECTS_LIST'] })));
    const f = manifest('guarded.yaml', { guarded: key('k0') + key('k1') });
    const p = await cli(['plan', '-f', f]);
    expect(p.code).toBe(3);
    expect(p.stdout).toMatch(/deactivates 10 of 13 active keys \(76\.9%\)/);
    expect(p.stdout).toContain('--force');
    const a = await cli(['apply', '-f', f, '--auto-approve']);
    expect(a.code).toBe(3);
    expect((await liveKeys(api.handle, 'guarded')).filter((k) => k.active)).toHaveLength(13);
    expect((await cli(['plan', '-f', f, '--max-deactivate-ratio', '0.8'])).code).toBe(0);
    const forced = await cli(['apply', '-f', f, '--auto-approve', '--force']);
    expect(forced.code).toBe(0);
    expect((await liveKeys(api.handle, 'guarded')).filter((k) => k.active)).toHaveLength(3);
  });

  test.each([
    { name: 'deactivating the tool\'s own key', perms: 'ACCESS_READ, ACCESS_MANAGE', extra: '        active: false\n', message: 'lock the tool out' },
    { name: 'removing ACCESS_MANAGE from the tool\'s own key', perms: 'ACCESS_READ', extra: '', message: 'removes ACCESS_MANAGE' },
  ])('$name is refused with exit 3, even with --force', async ({ perms, extra, message }) => {
    const self = await selfKey('selfish');
    const f = manifest('selfish.yaml', { selfish: key(self.description, perms, extra) });
    const before = await liveKeys(api.handle, 'selfish');
    const p = await cli(['plan', '-f', f]);
    expect(p.code).toBe(3);
    expect(p.stdout).toContain(message);
    const a = await cli(['apply', '-f', f, '--auto-approve', '--force']);
    expect(a.code).toBe(3);
    expect(await liveKeys(api.handle, 'selfish')).toEqual(before);
  });
});

describe('import', () => {
  test('import writes a manifest that validates and plans empty, pinning shared descriptions, with no secret', async () => {
    const seeded = await api.handle.seedKeys('imp', [
      { description: 'test', permissions: ['OBJECTS_LIST'] },
      { description: 'test', permissions: ['OBJECTS_FETCH', 'FILE_UPLOAD'] },
      { description: 'old', permissions: ['OBJECTS_LIST'], active: false },
      { description: 'web: read-only', permissions: ['OBJECTS_LIST', 'OBJECTS_FETCH'] },
    ]);
    const r = await cli(['import', '--project', 'imp', '--out', 'imported.yaml']);
    expect(r.code).toBe(0);
    const text = fs.readFileSync(path.join(dir, 'imported.yaml'), 'utf8');
    expect(parseManifestText(text, 'imported.yaml').diagnostics).toEqual([]);
    expect(text).toContain(`uuid: ${seeded[0]!.uuid}`);
    expect(text).toContain(`uuid: ${seeded[1]!.uuid}`);
    expect(text).not.toContain(`uuid: ${seeded[2]!.uuid}`);
    expect(text).toContain(`# uuid ${seeded[2]!.uuid}, created `);
    for (const s of seeded) expect(text).not.toContain(s.secret);
    const p = await cli(['plan', '-f', 'imported.yaml', '--detailed-exitcode']);
    expect(p.stdout).toContain('No changes.');
    expect(p.code).toBe(0);
    const stdout = await cli(['import', '--project', 'imp']);
    expect(stdout.stdout).toBe(text);
  });
});
