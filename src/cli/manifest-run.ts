/**
 * The start of every manifest-driven command (plan, apply -f): read and validate the desired state first,
 * then open the API session for the projects it names. Nothing is sent to any API before the manifest is
 * known to be valid, so bad input costs no request and can never send a key to the wrong place.
 */
import type { ProjectSpec } from '../model';
import { loadProjects, type SourceFlags } from './desired';
import type { Io } from './io';
import { type ApiFlags, ApiSession } from './projects';

export interface ManifestRun {
  readonly projects: ProjectSpec[];
  readonly session: ApiSession;
}

/** Reads the manifest and opens the session; the caller closes `session`. */
export async function startManifestRun(flags: SourceFlags & ApiFlags, io: Io): Promise<ManifestRun> {
  const { projects, baseDir } = await loadProjects(flags, io);
  return { projects, session: await ApiSession.start(io, flags, projects.map((p) => p.token), baseDir) };
}
