/**
 * The start of every manifest-driven command (plan, apply -f, secrets pull): read the desired state and open
 * the API session. Against a remote API the projects a cheap scan of the manifest names are opened and listed
 * while the manifest is parsed on a worker thread (listing is latency-bound, parsing CPU-bound; see
 * `guessProjectTokens` for when no guess is made). Under `--local` the emulator needs the parsed token list
 * first, and there is no latency to hide.
 */
import * as path from 'node:path';
import type { ProjectSpec } from '../model';
import { guessProjectTokens, loadProjects, sourceFile, type SourceFlags } from './desired';
import type { Io } from './io';
import { type ApiCommand, type ApiFlags, ApiSession, type Prefetched } from './projects';

export interface ManifestRun {
  readonly projects: ProjectSpec[];
  readonly session: ApiSession;
  /** Listings started before the parse finished, keyed by token (each checked before use). */
  readonly prefetched?: ReadonlyMap<string, Promise<Prefetched | undefined>>;
}

/** Reads the manifest and opens the session; the caller closes `session`. */
export async function startManifestRun(flags: SourceFlags & ApiFlags, io: Io, command: ApiCommand): Promise<ManifestRun> {
  if (flags.local) {
    const { projects, baseDir } = await loadProjects(flags, io);
    return { projects, session: await ApiSession.start(io, flags, projects.map((p) => p.token), baseDir) };
  }
  const baseDir = path.dirname(path.resolve(io.cwd, sourceFile(flags)));
  const guesses = guessProjectTokens(flags, io.cwd);
  const session = await ApiSession.start(io, flags, [], baseDir);
  const prefetched = guesses.length > 0 ? session.prefetch(guesses, command, flags.parallelism ?? 8) : undefined;
  try {
    const { projects } = await loadProjects(flags, io);
    return { projects, session, ...(prefetched ? { prefetched } : {}) };
  } catch (error) {
    await session.close();
    throw error;
  }
}
