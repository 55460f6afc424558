/**
 * `scaleflex-keys secrets pull [-f FILE] [--project T] [--description D] --out FILE`: fetches the secrets of
 * the declared keys (matched to live keys the way plan matches them) into a `.json` or `.env` file, mode 0600,
 * merged, written atomically. Needs ACCESS_MANAGE (the seed's "Copy"). It never prints a secret: stdout only
 * says which keys were written, and under GitHub Actions every secret is masked before it is stored.
 */
import * as path from 'node:path';
import { UsageError } from '../../errors';
import type { KeySpec, LiveKey, ProjectSpec } from '../../model';
import { loadProjects, type SourceFlags } from '../desired';
import { EXIT } from '../exit-codes';
import { runBounded } from '../../bounded';
import { GroupedOutput } from '../grouped-output';
import type { Io } from '../io';
import { ApiSession, type ApiFlags, listAll, projectErrorLines } from '../projects';
import { type KeySecret, preflightSecretsFile, protectSecret, secretsFormatFor, writeSecretsFile } from '../secrets-file';

export interface SecretsPullFlags extends SourceFlags, ApiFlags {
  readonly description?: string[];
  readonly out: string;
  readonly format?: 'json' | 'env';
}

/**
 * The live key each declared entry stands for, by the plan's own matcher (pin, description, former
 * description), so that secrets pull and plan never disagree; an ambiguity refuses the project the same way.
 * Entries the plan would create have no live key yet and are returned as `missing`.
 */
async function matchDeclared(spec: ProjectSpec, live: readonly LiveKey[], self: LiveKey) {
  const { planProject } = await import('../../reconcile');
  const plan = planProject({ desired: spec, live, selfKey: self, apiUrl: '' });
  const byUuid = new Map(live.map((k) => [k.uuid, k]));
  const pinned = new Set(spec.keys.flatMap((e) => (e.uuid === undefined ? [] : [e.uuid])));
  const missing = plan.changes.flatMap((c) => (c.kind === 'create' ? [c.after.description] : []));
  // A matched key either already has the entry's description or is renamed to it by an update.
  const renamedTo = new Map<string, string>();
  for (const c of plan.changes) if (c.kind === 'update' && !pinned.has(c.uuid)) renamedTo.set(c.after.description, c.uuid);
  const matched: [KeySpec, LiveKey][] = [];
  for (const entry of spec.keys) {
    const key =
      entry.uuid !== undefined
        ? byUuid.get(entry.uuid)
        : missing.includes(entry.description)
          ? undefined
          : (byUuid.get(renamedTo.get(entry.description) ?? '') ??
            live.find((k) => !pinned.has(k.uuid) && k.description === entry.description));
    if (key) matched.push([entry, key]);
  }
  return { matched, missing };
}

/** Runs `secrets pull`; resolves to the exit code (0, or 1 when a project failed). */
export async function run(opts: SecretsPullFlags, io: Io): Promise<number> {
  const file = path.resolve(io.cwd, opts.out);
  const format = secretsFormatFor(file, opts.format);
  await preflightSecretsFile(file, format);
  const { projects, baseDir } = await loadProjects(opts, io);
  const wanted = opts.description?.length ? new Set(opts.description) : undefined;
  if (wanted) {
    const declared = new Set(projects.flatMap((p) => p.keys.map((k) => k.description)));
    const unknown = [...wanted].filter((d) => !declared.has(d));
    if (unknown.length) throw new UsageError(`--description ${unknown.map((d) => JSON.stringify(d)).join(', ')}: no such key in the manifest`);
  }

  const session = await ApiSession.start(io, opts, projects.map((p) => p.token), baseDir);
  const grouped = new GroupedOutput(io, projects.length);
  const collected: KeySecret[][] = projects.map(() => []);
  let failures = 0;
  try {
    await runBounded(projects, opts.parallelism ?? 8, async (spec, index) => {
      const w = grouped.section(index);
      try {
        const { api } = await session.open(spec, 'secrets pull');
        const live = await listAll(api);
        const { matched, missing } = await matchDeclared(spec, live, api.selfKey);
        const chosen = matched
          .filter(([entry]) => !wanted || wanted.has(entry.description))
          .sort(([a, x], [b, y]) => (a.description < b.description ? -1 : a.description > b.description ? 1 : x.uuid < y.uuid ? -1 : 1));
        const fetched = await runBounded(chosen, opts.parallelism ?? 8, async ([, key]) => {
          const secret = await api.getSecret(key.uuid);
          protectSecret(io, secret);
          return secret;
        });
        fetched.forEach((result, i) => {
          if (result.status === 'rejected') throw result.reason;
          const [entry, key] = chosen[i]!;
          collected[index]!.push({ project: spec.token, uuid: key.uuid, description: entry.description, secret: result.value });
          w.out(`  ${spec.token}: ${JSON.stringify(entry.description)} (uuid ${key.uuid}, ${key.secretPreview})\n`);
        });
        for (const d of missing.sort()) {
          if (!wanted || wanted.has(d)) w.err(`warning: project ${spec.token}: ${JSON.stringify(d)} does not exist yet; run apply first\n`);
        }
      } catch (error) {
        failures++;
        w.err(projectErrorLines(spec.token, error));
      } finally {
        grouped.finish(index);
      }
    });
  } finally {
    grouped.finishAll();
    await session.close();
  }

  const entries = collected.flat();
  if (entries.length > 0) {
    await writeSecretsFile(file, entries, format);
    io.out(`Wrote ${entries.length} secret${entries.length === 1 ? '' : 's'} to ${opts.out} (mode 0600).\n`);
  } else if (failures === 0) {
    io.err(`No secrets written: no declared key exists yet (${opts.out} left as it was).\n`);
  }
  return failures > 0 ? EXIT.ERROR : EXIT.OK;
}
