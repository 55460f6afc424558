/**
 * Shared set-up for the client's integration tests (not a test file itself): a real emulator on port 0 in a
 * temp state dir, and a leak recorder that captures every byte written to stdout/stderr, every trace line and
 * every error message, so each file can end by scanning them for the secrets the emulator issued.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KeysApiFactory } from '../../src/api';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../../src/emulator';
import type { LiveKey } from '../../src/model';

export interface TestEmulator {
  handle: EmulatorHandle;
  dir: string;
  close(): Promise<void>;
}

/** Starts an emulator on 127.0.0.1:0 with its own temp state dir. */
export async function startTestEmulator(opts: Partial<EmulatorOptions> = {}): Promise<TestEmulator> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-'));
  const handle = await startEmulator({ stateDir: dir, port: 0, ...opts });
  return {
    handle,
    dir,
    async close() {
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens a read client on the emulator's `demo` project through `factory` and lists every key: what `plan` does. */
export async function openAndListDemo(factory: KeysApiFactory, emu: TestEmulator): Promise<{ selfUuid: string; keys: LiveKey[] }> {
  const api = await factory.open({
    project: 'demo',
    apiUrl: emu.handle.url,
    apiKey: emu.handle.adminKey('demo'),
    credentialSource: 'SCALEFLEX_API_KEY_DEMO',
    access: 'read',
    purpose: 'plan',
  });
  const keys: LiveKey[] = [];
  for await (const k of api.list()) keys.push(k);
  return { selfUuid: api.selfKey.uuid, keys };
}

/** Captures process.stdout/stderr writes (without passing them on), trace lines and error texts. */
export class LeakRecorder {
  readonly chunks: string[] = [];
  private restore: (() => void) | undefined;

  /** Starts capturing stdout and stderr. */
  start(): void {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      this.chunks.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
      this.chunks.push(String(chunk));
      return true;
    }) as typeof process.stderr.write);
    this.restore = () => {
      out.mockRestore();
      err.mockRestore();
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** A trace sink that writes to stderr, as the CLI's --verbose does. */
  readonly trace = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  /** Records everything an error exposes when printed: message, hint, string form, JSON of its own fields. */
  error(e: unknown): unknown {
    if (e instanceof Error) {
      this.chunks.push(e.message, String(e), String((e as { hint?: unknown }).hint ?? ''), JSON.stringify({ ...e }));
    } else {
      this.chunks.push(String(e));
    }
    return e;
  }

  /** Every captured text that contains one of `secrets` (empty when nothing leaked). */
  leaks(secrets: readonly string[]): string[] {
    const all = this.chunks.join('\n');
    return secrets.filter((s) => s.length > 0 && all.includes(s));
  }
}
