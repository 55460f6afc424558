/**
 * `scaleflex-keys secrets pull [-f FILE] [--project T] [--description D] --out FILE`: fetches the secrets of
 * the declared keys (matched to live keys the way plan matches them) into a `.json` or `.env` file, mode 0600,
 * merged, written atomically. Needs ACCESS_MANAGE (the seed's "Copy"). It never prints a secret: stdout only
 * says which keys were written, and under GitHub Actions every secret is masked before it is stored.
 */
import * as path from 'node:path';
import { runBounded } from '../../bounded';
import type { SecretsPullFlags } from '../arguments/secrets-pull';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { type KeySecret, preflightSecretsFile, protectSecret, secretsFormatFor, writeSecretsFile } from '../secrets-file';
import { ApiSession, MANAGE_FOR_SECRETS, trustFor } from '../session';
import { forEachProject, matchedDeclaredKeys, wantedDescriptions } from '../declared-keys';

/** Runs `secrets pull`; resolves to the exit code (0, or 1 when a project failed). */
export async function run(opts: SecretsPullFlags, io: Io): Promise<number> {
  const file = path.resolve(io.cwd, opts.out);
  const format = secretsFormatFor(file, opts.format);
  await preflightSecretsFile(file, format);
  const { projects, baseDir } = loadProjects(opts, io, trustFor(opts, io));
  const wanted = wantedDescriptions(projects, opts.description);

  const session = await ApiSession.start(io, opts, projects.map((p) => p.token), baseDir);
  const collected: KeySecret[][] = projects.map(() => []);
  let failures: number;
  try {
    failures = await forEachProject(io, projects, opts.parallelism, async (spec, w, index) => {
      const api = await session.open(spec, session.resolve(spec), MANAGE_FOR_SECRETS);
      const { match: m, chosen } = await matchedDeclaredKeys(api, spec, wanted);
      const missing = m.newEntries.map((e) => e.description);
      const fetched = await runBounded(chosen, opts.parallelism, async ([, key]) => {
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
    });
  } finally {
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
