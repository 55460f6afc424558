/**
 * `whois` end to end against the emulator over HTTP: found (text, JSON), not found, which secrets were fetched (the
 * emulator's request log: only candidates' whose masked preview fits), `--quarantine` (the key inactive afterwards,
 * and the printed manifest edit makes the next plan agree), refusals (the tool's own key, a protected key), stdin
 * rules (a terminal without `--prompt` is refused; `--prompt` reads without echo, through a real pty from
 * `script(1)`; no argument or option takes the secret), and a leak scan of every byte printed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allOutput, BIN, cleanEnv, expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;
const requestLog: string[] = [];
/** Secrets fed on stdin that the emulator never issued (the leak scan checks them too). */
const fed: string[] = [];
let seeded: Record<string, { uuid: string; secret: string; description: string }[]>;

const MANIFEST = (extra = '') =>
  'version: 1\nprojects:\n' +
  '  - token: who\n    unmanaged: ignore\n    keys:\n' +
  '      - description: CI uploader\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n' +
  '      - description: Guarded\n        permissions: [OBJECTS_LIST]\n        protected: true\n' +
  extra +
  '  - token: also\n    unmanaged: deactivate\n    keys: []\n';

beforeAll(async () => {
  api = await startTestApi(['who', 'also', 'stray'], { log: (line) => requestLog.push(line) });
  dir = tempDir();
  fs.writeFileSync(path.join(dir, 'scaleflex-keys.yaml'), MANIFEST());
  const make = async (token: string, descriptions: string[], permissions: string[]) => {
    const made = await api.handle.seedKeys(token, descriptions.map((description) => ({ description, permissions })));
    return made.map((m, i) => ({ ...m, description: descriptions[i]! }));
  };
  seeded = {
    who: [
      ...(await make('who', ['CI uploader'], ['FILE_UPLOAD', 'OBJECTS_LIST'])),
      ...(await make('who', ['Guarded'], ['OBJECTS_LIST'])),
      ...(await make('who', Array.from({ length: 40 }, (_, i) => `bystander ${i}`), ['OBJECTS_LIST'])),
    ],
    also: await make('also', Array.from({ length: 20 }, (_, i) => `also ${i}`), ['OBJECTS_LIST']),
    stray: await make('stray', ['stray key'], ['OBJECTS_LIST']),
  };
});

afterAll(async () => {
  try {
    expectNoSecretInOutput(api.handle);
    const text = allOutput.join('\n');
    expect(fed.filter((s) => text.includes(s))).toEqual([]);
  } finally {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const key = (token: string, description: string) => seeded[token]!.find((k) => k.description === description)!;
const env = () => api.env('who', 'also', 'stray');
const whois = (args: string[], input: string, cwd = dir) => runCli(['whois', ...args], { env: env(), cwd, input });

/** The uuids whose secret was fetched since the log was last cleared. */
function fetchedSecrets(): string[] {
  return requestLog.flatMap((line) => {
    const m = /^GET \/([^/]+)\/v5\/keys\/([^/ ]+)\/secret /.exec(line);
    return m ? [`${m[1]}/${m[2]}`] : [];
  });
}

/** Every key (admin keys included) of `tokens` whose secret ends like `secret`: the only ones whois may fetch. */
function expectedCandidates(secret: string, tokens: string[]): string[] {
  const all = tokens.flatMap((t) => [...seeded[t]!.map((k) => ({ t, ...k })), { t, uuid: adminUuid[t]!, secret: api.handle.adminKey(t) }]);
  return all.filter((k) => k.secret.slice(-4) === secret.slice(-4)).map((k) => `${k.t}/${k.uuid}`).sort();
}

const adminUuid: Record<string, string> = {};
beforeAll(async () => {
  for (const t of ['who', 'also', 'stray']) {
    const res = await fetch(`${api.handle.url}/${t}/v5/keys/self`, { headers: { 'X-Filerobot-Key': api.handle.adminKey(t) } });
    adminUuid[t] = ((await res.json()) as { key: { uuid: string } }).key.uuid;
  }
});

beforeEach(() => {
  requestLog.length = 0;
});

test('found: prints the key and what the manifest says, and fetches only the candidates’ secrets', async () => {
  const k = key('who', 'CI uploader');
  const r = await whois([], `${k.secret}\n`);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Found: the secret is key "CI uploader" of project who.');
  expect(r.stdout).toMatch(new RegExp(`uuid +${k.uuid}`));
  expect(r.stdout).toMatch(/permissions +FILE_UPLOAD, OBJECTS_LIST/);
  expect(r.stdout).toMatch(/active +true/);
  expect(r.stdout).toMatch(/created_at +\d{4}-\d\d-\d\dT/);
  expect(r.stdout).toMatch(/manifest +declared by the entry "CI uploader" at scaleflex-keys\.yaml:6:\d+/);
  // Both manifest projects were searched, and only keys whose preview fits had their secret read.
  const fetched = fetchedSecrets().sort();
  expect(fetched).toEqual(expectedCandidates(k.secret, ['who', 'also']));
  expect(fetched).toContain(`who/${k.uuid}`);
  expect(fetched.length).toBeLessThan(5); // of 64 keys
  expect(requestLog.some((l) => l.includes('/stray/'))).toBe(false);
});

test('found as JSON, in a project the manifest does not declare, with --project', async () => {
  const k = key('stray', 'stray key');
  const r = await whois(['--project', 'stray', '--format', 'json'], k.secret);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out).toMatchObject({
    found: true,
    matches: [{ project: 'stray', uuid: k.uuid, description: 'stray key', permissions: ['OBJECTS_LIST'], active: true, is_tool_key: false, manifest: { status: 'project-not-in-manifest' } }],
    checked: { projects: 1, keys: 2 },
    errors: [],
  });
  expect(out.matches[0].created_at).toMatch(/^\d{4}-/);
  expect(out.matches[0].secret_preview).toBe(`****${k.secret.slice(-4)}`);
  expect(requestLog.some((l) => l.includes('/who/') || l.includes('/also/'))).toBe(false);
});

test('not found: exit 1 with a clear message; a fake whose tail fits one key fetches that one secret only', async () => {
  const k = key('also', 'also 3');
  const fake = `${'0'.repeat(28)}${k.secret.slice(-4)}`.replace(/^0/, 'f');
  fed.push(fake);
  const r = await whois([], `${fake}\n`);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('Not found: no key of the 2 projects checked holds this secret.');
  expect(fetchedSecrets().sort()).toEqual(expectedCandidates(fake, ['who', 'also']));
  expect(fetchedSecrets()).toContain(`also/${k.uuid}`);

  const none = 'not-a-secret-of-anyone-zz';
  fed.push(none);
  requestLog.length = 0;
  const j = await whois(['--format', 'json'], none);
  expect(j.code).toBe(1);
  expect(JSON.parse(j.stdout)).toMatchObject({ found: false, matches: [], checked: { candidates: 0, secrets_fetched: 0 } });
  expect(fetchedSecrets()).toEqual([]);
});

test('--quarantine of a declared key: inactive at once; the printed edit makes the next plan agree', async () => {
  const k = key('who', 'CI uploader');
  const r = await whois(['--quarantine'], k.secret);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`Quarantine: deactivated key ${k.uuid} of project who.`);
  expect(r.stdout).toMatch(/Manifest edit: scaleflex-keys\.yaml:6:\d+: set `active: false` on the entry for "CI uploader" in project who/);
  expect((await liveKeys(api.handle, 'who')).find((x) => x.uuid === k.uuid)?.active).toBe(false);
  expect(requestLog.filter((l) => l.startsWith('POST /who/v5/keys/status '))).toHaveLength(1);

  // Unedited, the next plan would reactivate it; with the edit it agrees.
  const plan = () => runCli(['plan', '--detailed-exitcode', '--project', 'who'], { env: env(), cwd: dir });
  const before = await plan();
  expect(before.code).toBe(2);
  expect(before.stdout).toContain('CI uploader');
  const edited = MANIFEST().replace('      - description: CI uploader\n        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n', '$&        active: false\n');
  fs.writeFileSync(path.join(dir, 'scaleflex-keys.yaml'), edited);
  try {
    const after = await plan();
    expect(after.stdout + after.stderr).toContain('No changes');
    expect(after.code).toBe(0);
  } finally {
    fs.writeFileSync(path.join(dir, 'scaleflex-keys.yaml'), MANIFEST());
  }

  // Again: already inactive, nothing sent.
  requestLog.length = 0;
  const again = await whois(['--quarantine'], k.secret);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('the key is already inactive; nothing was changed');
  expect(requestLog.some((l) => l.startsWith('POST '))).toBe(false);
});

test('--quarantine of an undeclared key under unmanaged: ignore prints a pinned entry that the next plan agrees with', async () => {
  const k = key('who', 'bystander 7');
  const r = await whois(['--quarantine', '--format', 'json'], k.secret);
  expect(r.code).toBe(0);
  const m = JSON.parse(r.stdout).matches[0];
  expect(m.manifest).toEqual({ status: 'undeclared', unmanaged: 'ignore' });
  expect(m.quarantine.result).toBe('deactivated');
  expect(m.quarantine.manifest_edit.needed).toBe(true);
  const snippet: string = m.quarantine.manifest_edit.snippet;
  expect(snippet).toContain(`uuid: ${k.uuid}`);
  expect((await liveKeys(api.handle, 'who')).find((x) => x.uuid === k.uuid)?.active).toBe(false);
  const file = path.join(dir, 'pinned.yaml');
  // The CI uploader, quarantined by the test above, keeps that test's edit.
  fs.writeFileSync(file, MANIFEST(snippet).replace('        permissions: [FILE_UPLOAD, OBJECTS_LIST]\n', '$&        active: false\n'));
  const plan = await runCli(['plan', '-f', 'pinned.yaml', '--detailed-exitcode', '--project', 'who'], { env: env(), cwd: dir });
  expect(plan.stdout + plan.stderr).toContain('No changes');
  expect(plan.code).toBe(0);
});

test('--quarantine of a key in an unmanaged: deactivate project says no edit is needed', async () => {
  const k = key('also', 'also 11');
  const r = await whois(['--quarantine'], k.secret);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Manifest edit \(none needed\): nothing to change: .*unmanaged: deactivate/);
});

test('--quarantine refuses the key the tool runs with (exit 3), and it stays active', async () => {
  const r = await whois(['--quarantine', '--project', 'who'], api.handle.adminKey('who'));
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/note +this is the key scaleflex-keys runs with for project who \(SCALEFLEX_API_KEY_WHO\)/);
  expect(r.stdout).toContain('Quarantine refused: nothing was changed.');
  expect(r.stdout).toContain('the key scaleflex-keys authenticates with');
  expect(requestLog.some((l) => l.startsWith('POST '))).toBe(false);
  expect((await liveKeys(api.handle, 'who')).find((x) => x.uuid === adminUuid.who)?.active).toBe(true);
});

test('--quarantine refuses a key a protected: true entry declares (exit 3), and it stays active', async () => {
  const k = key('who', 'Guarded');
  const r = await whois(['--quarantine'], k.secret);
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/manifest +declared by the entry "Guarded" at scaleflex-keys\.yaml:8:\d+ \(protected: true\)/);
  expect(r.stdout).toContain('which the manifest declares protected: true');
  expect(requestLog.some((l) => l.startsWith('POST '))).toBe(false);
  expect((await liveKeys(api.handle, 'who')).find((x) => x.uuid === k.uuid)?.active).toBe(true);
});

test('a read-only admin key is refused before any secret is read: whois needs ACCESS_MANAGE', async () => {
  const [reader] = await api.handle.seedKeys('stray', [{ description: 'read only', permissions: ['ACCESS_READ', 'OBJECTS_LIST'] }]);
  const k = key('stray', 'stray key');
  const r = await runCli(['whois', '--project', 'stray'], { env: { ...env(), SCALEFLEX_API_KEY_STRAY: reader!.secret }, cwd: dir, input: k.secret });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/ACCESS_MANAGE.*whois/);
  expect(fetchedSecrets()).toEqual([]);
});

test('no argument or option takes the secret: refused before any request, and never echoed', async () => {
  const k = key('who', 'bystander 1');
  for (const args of [[k.secret], ['--secret', k.secret], ['--project', 'who', k.secret]]) {
    const r = await whois(args, '');
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(k.secret.slice(0, 8));
  }
  expect(requestLog).toEqual([]);
});

test('bad stdin is refused before any request: empty, two lines', async () => {
  const k = key('who', 'bystander 2');
  const empty = await whois([], '');
  expect(empty.code).toBe(1);
  expect(empty.stderr).toContain('no secret on stdin');
  const two = await whois([], `${k.secret}\n${k.secret}\n`);
  expect(two.code).toBe(1);
  expect(two.stderr).toContain('more than one line');
  expect(requestLog).toEqual([]);
});

test('no project to look in: a usage error naming --project', async () => {
  const empty = tempDir();
  try {
    const r = await whois([], 'whatever-secret-value', empty);
    fed.push('whatever-secret-value');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no project to look in');
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

/** Runs the CLI with a pseudo-terminal on stdin/stdout through script(1); `type` writes to the terminal. */
function runInPty(args: string[], onOutput?: (text: string, type: (s: string) => void) => void): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, env: cleanEnv(env()), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const type = (s: string) => child.stdin.write(s);
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      onOutput?.(output, type);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      allOutput.push(output);
      resolve({ code: code ?? -1, output });
    });
  });
}

const hasScript = fs.existsSync('/usr/bin/script') || fs.existsSync('/bin/script');
(hasScript ? test : test.skip)('a terminal on stdin is refused without --prompt, before any request', async () => {
  const r = await runInPty(['whois', '--project', 'who']);
  expect(r.code).toBe(1);
  expect(r.output).toContain('stdin is a terminal');
  expect(r.output).toContain('--prompt');
  expect(requestLog).toEqual([]);
});

(hasScript ? test : test.skip)('--prompt reads the secret from the terminal without echoing it', async () => {
  const k = key('who', 'bystander 9');
  let typed = false;
  const r = await runInPty(['whois', '--project', 'who', '--prompt'], (output, type) => {
    if (!typed && output.includes('(not echoed)')) {
      typed = true;
      type(`${k.secret}\r`);
    }
  });
  expect(r.output).toContain('Found: the secret is key "bystander 9" of project who.');
  expect(r.code).toBe(0);
  expect(r.output).not.toContain(k.secret.slice(0, 8));
});
