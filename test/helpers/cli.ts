/**
 * Test harness for the CLI end to end: a real emulator on port 0 with its own temp state dir, the built CLI
 * run as a child process (`node dist/cli/bin.js ...`) with a clean environment, or `main()` in-process with a
 * capturing Io. Every byte of CLI output is collected so that each test file can assert, in its afterAll, that
 * none of the secrets the emulator issued was ever printed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../../src/emulator';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/io';
import { redact } from '../../src/redact';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');

/** Everything any CLI run of this test file printed (stdout and stderr), for the leak scan. */
export const allOutput: string[] = [];

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp directory, removed by `cleanup()`. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
}

/** The environment of a child CLI: nothing inherited but PATH, so CI's own variables cannot leak in. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs the built CLI as a child process. */
export function runCli(args: readonly string[], opts: { env: Record<string, string | undefined>; cwd: string; input?: string }): Promise<CliResult> {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` before the CLI tests`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      allOutput.push(stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `main()` in-process with a capturing Io (fast; same redaction as the real process Io). */
export async function runInProcess(
  args: readonly string[],
  opts: {
    env: Record<string, string | undefined>;
    cwd: string;
    stdinIsTTY?: boolean;
    /** The answer to the confirmation; a function runs at that moment (to change the world between plan and apply). */
    answer?: string | (() => Promise<string>);
  },
): Promise<CliResult & { raw: string }> {
  let stdout = '';
  let stderr = '';
  let raw = '';
  const io: Io = {
    env: cleanEnv(opts.env),
    cwd: opts.cwd,
    stdoutIsTTY: Boolean(opts.stdinIsTTY),
    stdinIsTTY: Boolean(opts.stdinIsTTY),
    out: (t) => void (stdout += redact(t)),
    err: (t) => void (stderr += redact(t)),
    readLine: async (prompt) => {
      stderr += prompt;
      return typeof opts.answer === 'function' ? opts.answer() : opts.answer;
    },
    unredactedOut: (t) => void (raw += t),
  };
  const code = await main(args, io);
  allOutput.push(stdout, stderr);
  return { code, stdout, stderr, raw };
}

/** A started emulator with its temp state dir; `env(tokens)` gives the CLI variables for it. */
export interface TestApi {
  readonly handle: EmulatorHandle;
  readonly dir: string;
  env(...tokens: string[]): Record<string, string>;
  close(): Promise<void>;
}

/** Starts an emulator on port 0 for `projects`, state in a fresh temp dir. */
export async function startTestApi(projects: string[], opts: Partial<EmulatorOptions> = {}): Promise<TestApi> {
  const dir = tempDir();
  const handle = await startEmulator({ stateDir: path.join(dir, 'state'), port: 0, projects, ...opts });
  return {
    handle,
    dir,
    env: (...tokens) => {
      const env: Record<string, string> = { SCALEFLEX_API_URL: handle.url };
      for (const t of tokens.length ? tokens : projects) env[`SCALEFLEX_API_KEY_${t.toUpperCase().replace(/-/g, '_')}`] = handle.adminKey(t);
      return env;
    },
    close: async () => {
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lists a project's keys straight from the API (the test's own view, independent of the CLI). */
export async function liveKeys(handle: EmulatorHandle, token: string): Promise<{ uuid: string; description: string; permissions: string[]; active: boolean }[]> {
  const keys: { uuid: string; description: string; permissions: string[]; active: boolean }[] = [];
  let cursor: string | null = null;
  do {
    const url = `${handle.url}/${token}/v5/keys?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(url, { headers: { 'X-Filerobot-Key': handle.adminKey(token) } });
    if (!res.ok) throw new Error(`list ${token}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { keys: typeof keys; next_cursor: string | null };
    keys.push(...body.keys);
    cursor = body.next_cursor;
  } while (cursor);
  return keys;
}

/** Calls the API directly (drift made "by someone else" between plan and apply). */
export async function callApi(handle: EmulatorHandle, token: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${handle.url}/${token}/v5${route}`, {
    method,
    headers: { 'X-Filerobot-Key': handle.adminKey(token), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Fails when any collected CLI output contains a secret the emulator issued. */
export function expectNoSecretInOutput(...handles: EmulatorHandle[]): void {
  // `::add-mask::<secret>` (GitHub Actions, only with GITHUB_ACTIONS=true) is the one deliberate exception.
  const text = allOutput.join('\n').replace(/^::add-mask::.*$/gm, '');
  const leaked = handles.flatMap((h) => h.issuedSecrets()).filter((s) => text.includes(s));
  expect(leaked).toEqual([]);
  expect(allOutput.length).toBeGreaterThan(0);
}
