/**
 * `--local`, the embedded default: runs the emulator in-process with its state in `.scaleflex-local/` of the
 * current directory, makes sure every project the command names exists there (with its bootstrap admin key),
 * and hands those admin keys to the commands as credentials. A newcomer needs no account and no server.
 * The emulator module is loaded only when `--local` is used.
 */
import * as path from 'node:path';
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

/** Starts the embedded emulator for `tokens` (each created with its bootstrap key on first use). */
export async function startLocalApi(cwd: string, tokens: readonly string[], stateDirFlag?: string): Promise<LocalApi> {
  const { startEmulator } = await import('../emulator');
  const stateDir = path.resolve(cwd, stateDirFlag ?? LOCAL_STATE_DIR);
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
