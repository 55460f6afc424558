/**
 * Reading the desired state for a command: `-f FILE` / `--from-cdktf FILE` through the manifest loader, then
 * `--project` applied. From the built CLI the read runs on a worker thread (see ./manifest-worker), so that the
 * API can be listed while a large manifest is parsed; a ManifestError carries every diagnostic
 * (`file:line:col: error: ...`) in its message.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ManifestError } from '../errors';
import type { DesiredState, ProjectSpec } from '../model';
import type { Io } from './io';
import { selectProjects } from './projects';

/** The source flags (declared in main.ts's `addSourceOptions`). */
export interface SourceFlags {
  readonly file?: string;
  readonly fromCdktf?: string;
  readonly project?: string[];
}

/** The manifest file a run reads (the default when neither flag is given). */
export function sourceFile(flags: SourceFlags): string {
  return flags.fromCdktf ?? flags.file ?? 'scaleflex-keys.yaml';
}

type WorkerAnswer =
  | { state: DesiredState }
  | { manifestError: { diagnostics: ManifestError['diagnostics']; message: string } }
  | { retryInThread: true };

/** Below this size a manifest parses in a few milliseconds: starting a worker would cost more than it saves. */
const OFF_THREAD_MIN_BYTES = 256 * 1024;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Reads the desired state on a worker thread when the manifest is large and the compiled worker exists;
 * undefined means "read it here".
 */
function readOffThread(opts: { file?: string; fromCdktf?: string; cwd: string }): Promise<DesiredState | undefined> {
  const script = path.join(__dirname, 'manifest-worker.js');
  // Under ts-node/ts-jest there is no compiled worker: read on this thread.
  if (!__filename.endsWith('.js') || !existsSync(script)) return Promise.resolve(undefined);
  if (fileSize(path.resolve(opts.cwd, opts.fromCdktf ?? opts.file ?? 'scaleflex-keys.yaml')) < OFF_THREAD_MIN_BYTES) {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: opts });
    let answered = false;
    worker.once('message', (answer: WorkerAnswer) => {
      answered = true;
      if ('state' in answer) resolve(answer.state);
      else if ('manifestError' in answer) reject(new ManifestError(answer.manifestError.diagnostics, answer.manifestError.message));
      else resolve(undefined);
      void worker.terminate();
    });
    worker.once('error', () => {
      if (!answered) resolve(undefined);
    });
    worker.once('exit', () => {
      if (!answered) resolve(undefined);
    });
  });
}

/**
 * Loads the desired state and returns it with the projects this run covers and the directory relative
 * credential files start from (the manifest's).
 */
export async function loadProjects(
  flags: SourceFlags,
  io: Io,
): Promise<{ state: DesiredState; projects: ProjectSpec[]; baseDir: string }> {
  const opts = {
    ...(flags.file !== undefined ? { file: flags.file } : {}),
    ...(flags.fromCdktf !== undefined ? { fromCdktf: flags.fromCdktf } : {}),
    cwd: io.cwd,
  };
  const state = (await readOffThread(opts)) ?? (await import('../manifest')).loadDesiredState(opts);
  return {
    state,
    projects: selectProjects(state, flags.project),
    baseDir: path.dirname(path.resolve(io.cwd, sourceFile(flags))),
  };
}

/**
 * A cheap guess at the project tokens of a YAML manifest, read from its `token:` lines without parsing it,
 * so that listing can start while the real parse runs. Only a guess: every use is checked against the parsed
 * manifest. Empty for CDKTF stacks, unreadable files, and any manifest that mentions `apiUrl` or
 * `credentials` at all: then only the parsed manifest may say where a project's key is sent.
 */
export function guessProjectTokens(flags: SourceFlags, cwd: string): string[] {
  if (flags.fromCdktf !== undefined) return [];
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, sourceFile(flags)), 'utf8');
  } catch {
    return [];
  }
  // Anywhere, even in a comment or a flow mapping: better no guess than a key sent to the wrong place.
  if (/apiUrl|credentials/i.test(text)) return [];
  if (flags.project?.length) return [...flags.project];
  const tokens = new Set<string>();
  for (const m of text.matchAll(/^\s*(?:-\s+)?token:\s*["']?([A-Za-z0-9_-]+)["']?\s*(?:#.*)?$/gm)) tokens.add(m[1]!);
  return [...tokens].slice(0, 1000);
}
