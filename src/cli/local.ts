/**
 * `--local`, the embedded default: runs the emulator in-process with its state in `.scaleflex-local/` of the
 * current directory, makes sure every project the command names exists there (with its bootstrap admin key),
 * and hands those admin keys to the commands as credentials. A newcomer needs no account and no server.
 * The emulator module is loaded only when `--local` is used.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ScaleflexKeysError } from '../errors';
import { secrets } from '../redact';

/** The state directory `--local` uses, relative to the current directory. */
export const LOCAL_STATE_DIR = '.scaleflex-local';

/** The running embedded emulator, as the commands see it. */
export interface LocalApi {
  /** The emulator's base URL (loopback, a free port). */
  readonly url: string;
  readonly stateDir: string;
  /** The bootstrap admin key of a project this session ensured; registered with the redactor. */
  adminKey(token: string): { apiKey: string; source: string };
  close(): Promise<void>;
}

/**
 * The emulator already running on `stateDir` (`scaleflex-keys emulator`, which records where it listens in its
 * lock), used as it is: its bootstrap admin keys are read from the state dir. Every project must be served.
 */
function useRunning(cwd: string, stateDir: string, running: { pid: number; url: string }, tokens: readonly string[]): LocalApi {
  const keys = new Map<string, string>();
  for (const token of new Set(tokens)) {
    const file = path.join(stateDir, `${token}.admin-key`);
    let key: string;
    try {
      key = readFileSync(file, 'utf8').trim();
    } catch {
      throw new ScaleflexKeysError(`project ${token} is not served by the emulator running on ${path.relative(cwd, stateDir) || stateDir} (pid ${running.pid}, ${running.url})`, {
        hint: `restart that emulator with --project ${token}, or stop it so that --local starts its own`,
      });
    }
    secrets.add(key);
    keys.set(token, key);
  }
  return {
    url: running.url,
    stateDir,
    adminKey(token) {
      const apiKey = keys.get(token);
      if (apiKey === undefined) throw new Error(`local emulator: project ${token} was not set up`);
      return { apiKey, source: `the running emulator's bootstrap key (${path.relative(cwd, path.join(stateDir, `${token}.admin-key`))})` };
    },
    close: async () => undefined,
  };
}

/**
 * The local API for `tokens`: the emulator already running on the state dir when there is one, else an embedded
 * one started here (each project created with its bootstrap key on first use).
 */
export async function startLocalApi(cwd: string, tokens: readonly string[], stateDirFlag?: string): Promise<LocalApi> {
  // Loaded only for --local: the emulator adds about 36 ms to every API command's start (median of 7 runs of
  // `node -e require(...)`, plan with and without it, load average 9), and runs against Scaleflex never need it.
  const { startEmulator, runningEmulator } = await import('../emulator');
  const stateDir = path.resolve(cwd, stateDirFlag ?? LOCAL_STATE_DIR);
  const running = runningEmulator(stateDir);
  if (running && running.pid !== process.pid) return useRunning(cwd, stateDir, running, tokens);
  const unique = [...new Set(tokens)];
  const handle = await startEmulator({ stateDir, host: '127.0.0.1', port: 0, projects: unique });
  const keys = new Map<string, string>();
  try {
    for (const token of unique) {
      const key = await handle.ensureProject(token);
      secrets.add(key);
      keys.set(token, key);
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  return {
    url: handle.url,
    stateDir,
    adminKey(token) {
      const apiKey = keys.get(token);
      if (apiKey === undefined) throw new Error(`local emulator: project ${token} was not set up`);
      return { apiKey, source: `the local emulator's bootstrap key (${path.relative(cwd, path.join(stateDir, `${token}.admin-key`)) || `${token}.admin-key`})` };
    },
    close: () => handle.close(),
  };
}
