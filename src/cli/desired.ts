/**
 * Reading the desired state for a command: `-f FILE` / `--from-cdktf FILE` through the manifest loader, then
 * `--project` applied. A ManifestError carries every diagnostic (`file:line:col: error: ...`) in its message.
 */
import * as path from 'node:path';
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
  const state = (await import('../manifest')).loadDesiredState(opts);
  return {
    state,
    projects: selectProjects(state, flags.project),
    baseDir: path.dirname(path.resolve(io.cwd, sourceFile(flags))),
  };
}
