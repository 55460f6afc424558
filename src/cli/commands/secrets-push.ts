/**
 * `scaleflex-keys secrets push [-f FILE] [--project T]... [--description D]...`: re-sync. Fetches the current secret
 * of each chosen declared key that has `deliver:` sinks (matched to live keys the way plan matches them) and
 * delivers it to those sinks again (`../delivery.ts`) — after a failed delivery, or when a secrets store was
 * rebuilt. Needs ACCESS_MANAGE (reading a secret does). Never prints a secret; the programs' output passes
 * through the redactor. Inactive keys and keys that do not exist yet are named and skipped. Keys are handled
 * `--parallelism` at a time (a key's sinks in order), their lines printed in key order.
 */
import { runBounded } from '../../bounded';
import { UsageError } from '../../errors';
import type { SecretsPushFlags } from '../arguments/secrets-push';
import { type DeliveryFailure, deliveryFailureLines, openDeliverer, resultLines, sinksOf } from '../delivery';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import { GroupedOutput } from '../grouped-output';
import type { Io } from '../io';
import { protectSecret } from '../secrets-file';
import { type Access, ApiSession, trustFor } from '../session';
import type { ProjectSpec } from '../../model';
import { forEachProject, matchedDeclaredKeys, wantedDescriptions } from '../declared-keys';

const MANAGE_FOR_PUSH: Access = { access: 'manage', purpose: 'secrets push' };

/** Runs `secrets push`; resolves to the exit code (0, or 1 when a project or a delivery failed). */
export async function run(opts: SecretsPushFlags, io: Io): Promise<number> {
  const trust = trustFor(opts, io);
  const { projects, baseDir } = loadProjects(opts, io, trust);
  const wanted = wantedDescriptions(projects, opts.description);
  const specs = new Map<string, ProjectSpec>(projects.map((p) => [p.token, p]));
  const chosen = projects.flatMap((p) =>
    p.keys.filter((k) => (!wanted || wanted.has(k.description)) && (k.deliver?.length ?? 0) > 0).map((k) => ({ project: p.token, description: k.description, deliver: k.deliver! })),
  );
  const deliverer = openDeliverer(io, opts, trust, specs, baseDir);
  if (!deliverer || chosen.length === 0) {
    throw new UsageError(`nothing to push: ${wanted ? 'none of the chosen keys declares' : 'no declared key has'} \`deliver:\` sinks (on the key or its project)`);
  }
  // Before any secret is read: forbidden exec sinks refuse the run, file sinks must be writable.
  await deliverer.preflight(chosen);

  const withSinks = projects.filter((p) => chosen.some((c) => c.project === p.token));
  const session = await ApiSession.start(io, opts, withSinks.map((p) => p.token), baseDir);
  const failures: DeliveryFailure[] = [];
  let delivered = 0;
  let projectErrors: number;
  try {
    projectErrors = await forEachProject(io, withSinks, opts.parallelism, async (spec, w) => {
      const api = await session.open(spec, session.resolve(spec), MANAGE_FOR_PUSH);
      const { match: m, chosen: keys } = await matchedDeclaredKeys(api, spec, wanted, (entry) => (entry.deliver?.length ?? 0) > 0);
      // Keys side by side (`--parallelism`), their lines in key order.
      const lines = new GroupedOutput(w, keys.length);
      const outcomes = await runBounded(keys, opts.parallelism, async ([entry, key], at) => {
        const kw = lines.section(at);
        try {
          if (!key.active) {
            kw.err(`warning: project ${spec.token}: ${JSON.stringify(entry.description)} (uuid ${key.uuid}) is inactive; its secret is not pushed\n`);
            return;
          }
          const secret = await api.getSecret(key.uuid);
          protectSecret(io, secret);
          const results = await deliverer.deliver({ project: spec.token, uuid: key.uuid, description: entry.description, secret }, sinksOf(specs, spec.token, entry.description));
          kw.out(`  ${spec.token}: ${JSON.stringify(entry.description)} (uuid ${key.uuid}, ${key.secretPreview})\n${resultLines(results)}`);
          for (const r of results) {
            if (r.ok) delivered++;
            else failures.push({ project: spec.token, description: entry.description, uuid: key.uuid, delivery: r.delivery, detail: r.detail });
          }
        } finally {
          lines.finish(at);
        }
      });
      lines.finishAll();
      const rejected = outcomes.find((o) => o.status === 'rejected');
      if (rejected) throw (rejected as PromiseRejectedResult).reason;
      for (const entry of m.newEntries) {
        if ((!wanted || wanted.has(entry.description)) && (entry.deliver?.length ?? 0) > 0) {
          w.err(`warning: project ${spec.token}: ${JSON.stringify(entry.description)} does not exist yet; run apply first (it delivers new secrets itself)\n`);
        }
      }
    });
  } finally {
    await session.close();
  }

  io.out(`\nDelivered to ${delivered} sink${delivered === 1 ? '' : 's'}${failures.length ? `; ${failures.length} failed` : ''}.\n`);
  if (failures.length > 0) {
    const source = opts.fromCdktf ? ` --from-cdktf ${opts.fromCdktf}` : opts.file ? ` -f ${opts.file}` : '';
    io.err(deliveryFailureLines(failures, source));
  }
  return failures.length > 0 || projectErrors > 0 ? EXIT.ERROR : EXIT.OK;
}
