/**
 * The declared keys a `secrets` command works on: `--description` checked against the manifest before any request,
 * and each project's live keys paired with its entries by the plan's own matcher (`matchEntries`), so `secrets
 * pull`, `secrets push` and `plan` never disagree; an ambiguity refuses the same way it refuses a plan.
 */
import { runBounded } from '../bounded';
import { UsageError } from '../errors';
import type { KeySpec, LiveKey, ProjectSpec } from '../model';
import { matchEntries, matchError, type MatchResult } from '../reconcile';
import { GroupedOutput, type SectionWriter } from './grouped-output';
import type { Io } from './io';
import { projectErrorLines } from './output';
import { listAll, type OpenedApi } from './session';

/** `--description` values as a set (undefined: every key), refused when the manifest declares no such key. */
export function wantedDescriptions(projects: readonly ProjectSpec[], descriptions: readonly string[]): ReadonlySet<string> | undefined {
  if (descriptions.length === 0) return undefined;
  const declared = new Set(projects.flatMap((p) => p.keys.map((k) => k.description)));
  const unknown = descriptions.filter((d) => !declared.has(d));
  if (unknown.length) throw new UsageError(`--description ${unknown.map((d) => JSON.stringify(d)).join(', ')}: no such key in the manifest`);
  return new Set(descriptions);
}

/**
 * Lists `spec`'s live keys and matches them; resolves to the match and the matched `[entry, key]` pairs that
 * `wanted` (and `keep`) choose, sorted by description, then uuid. Throws the plan's refusal on an ambiguity.
 */
export async function matchedDeclaredKeys(
  api: OpenedApi,
  spec: ProjectSpec,
  wanted: ReadonlySet<string> | undefined,
  keep: (entry: KeySpec) => boolean = () => true,
): Promise<{ match: MatchResult; chosen: [KeySpec, LiveKey][] }> {
  const match = matchEntries(spec.keys, await listAll(api));
  const refused = matchError(spec.token, match);
  if (refused) throw refused;
  const chosen = [...match.matched]
    .filter(([entry]) => (!wanted || wanted.has(entry.description)) && keep(entry))
    .sort(([a, x], [b, y]) => (a.description < b.description ? -1 : a.description > b.description ? 1 : x.uuid < y.uuid ? -1 : 1));
  return { match, chosen };
}

/**
 * Runs `work` for each project, `parallelism` at a time, each project's lines printed together in project order. A
 * project that fails prints its error and does not stop the others; resolves to how many failed.
 */
export async function forEachProject(
  io: Pick<Io, 'out' | 'err'>,
  projects: readonly ProjectSpec[],
  parallelism: number,
  work: (spec: ProjectSpec, w: SectionWriter, index: number) => Promise<void>,
): Promise<number> {
  const grouped = new GroupedOutput(io, projects.length);
  let failed = 0;
  try {
    await runBounded(projects, parallelism, async (spec, index) => {
      const w = grouped.section(index);
      try {
        await work(spec, w, index);
      } catch (error) {
        failed++;
        w.err(projectErrorLines(spec.token, error));
      } finally {
        grouped.finish(index);
      }
    });
  } finally {
    grouped.finishAll();
  }
  return failed;
}
