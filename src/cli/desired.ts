/**
 * Reading the desired state for a command: `-f FILE` / `--from-cdktf FILE` through the manifest loader, with
 * every diagnostic printed (`file:line:col: error: ...`) before the error is reported, then `--project` applied.
 */
import * as path from 'node:path';
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

/**
 * Loads the desired state and returns it with the projects this run covers and the directory relative
 * credential files start from (the manifest's). Prints diagnostics on failure.
 */
export async function loadProjects(
  flags: SourceFlags,
  io: Io,
): Promise<{ state: DesiredState; projects: ProjectSpec[]; baseDir: string }> {
  const manifest = await import('../manifest');
  let state: DesiredState;
  try {
    state = manifest.loadDesiredState({
      ...(flags.file !== undefined ? { file: flags.file } : {}),
      ...(flags.fromCdktf !== undefined ? { fromCdktf: flags.fromCdktf } : {}),
      cwd: io.cwd,
    });
  } catch (error) {
    if (error instanceof ManifestError && error.diagnostics.length > 0) {
      io.err(manifest.formatDiagnostics(error.diagnostics, 'text').replace(/\n?$/, '\n'));
    }
    throw error;
  }
  const source = flags.fromCdktf ?? flags.file ?? manifest.DEFAULT_MANIFEST_FILE;
  return { state, projects: selectProjects(state, flags.project), baseDir: path.dirname(path.resolve(io.cwd, source)) };
}
