/**
 * `scaleflex-keys deactivate --project T`: deactivates every live key that project declares — never deletes,
 * never the key the tool runs with — and leaves every other key alone. It is what a CDKTF `ScaleflexProject`
 * runs when Terraform destroys it:
 *
 *   scaleflex-keys deactivate --spec-env SCALEFLEX_KEYS_APPLIED_SPEC \
 *     --skip-if-replaced-in cdk.tf.json --project demo --auto-approve
 *
 * `--spec-env` reads the declaration Terraform's state holds (the stack file may no longer declare the
 * project); `--skip-if-replaced-in` makes it a no-op when the stack still declares the project with another
 * spec, because then Terraform is replacing the resource after a change (the new spec was just applied), not
 * removing it. The declared keys come from `-f`/`--from-cdktf` otherwise.
 *
 * Matching is the reconciler's own (`planProject` with every declared key set inactive and unmanaged keys
 * ignored); only its deactivations are kept. The guards apply: the mass-deactivation guard refuses without
 * `--force`.
 */
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BULK_STATUS_MAX } from '../../api/endpoints';
import { ManifestError, UsageError } from '../../errors';
import type { ProjectSpec } from '../../model';
import type { DeactivateChange, ProjectPlan } from '../../reconcile';
import { confirmApply } from '../confirm';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import { type Io, useColor } from '../io';
import { ApiSession, type ApiFlags, type GuardFlags, guardOptions, listAll, projectErrorLines } from '../projects';
import { eventLine } from './apply';

export interface DeactivateFlags extends ApiFlags, GuardFlags {
  readonly project: string;
  readonly file?: string;
  readonly fromCdktf?: string;
  readonly specEnv?: string;
  readonly skipIfReplacedIn?: string;
  readonly autoApprove?: boolean;
}


/**
 * The spec text of `--spec-env`: JSON, or JSON gzipped and base64-encoded (what the provisioner passes, through
 * Terraform's `base64gzip`, to stay under the OS limit on one environment string). Undecodable text is returned
 * as is, so that the spec reader reports it.
 */
function decodeSpec(value: string): string {
  if (value.trimStart().startsWith('{')) return value;
  try {
    return gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  } catch {
    return value;
  }
}

/** The declared project: from the environment variable Terraform fills from its state, or from a file. */
async function declaredProject(opts: DeactivateFlags, io: Io): Promise<{ spec: ProjectSpec; baseDir: string; specText?: string }> {
  const sources = [opts.specEnv, opts.file, opts.fromCdktf].filter((s) => s !== undefined).length;
  if (sources > 1) throw new UsageError('give one of --spec-env, -f/--file and --from-cdktf');
  if (opts.specEnv === undefined) {
    const { projects, baseDir } = await loadProjects({ ...opts, project: [opts.project] }, io);
    return { spec: projects[0]!, baseDir };
  }
  const raw = io.env[opts.specEnv];
  if (raw === undefined || raw === '') {
    throw new UsageError(`--spec-env ${opts.specEnv}: the environment variable is not set`, {
      hint: 'Terraform sets it from the resource\'s triggers when it runs the destroy-time provisioner',
    });
  }
  const specText = decodeSpec(raw);
  const { readProjectSpecText } = await import('../../manifest/cdktf-stack');
  const read = readProjectSpecText(specText, `$${opts.specEnv}`);
  const spec = read.state?.projects[0];
  if (!spec || read.diagnostics.some((d) => d.severity === 'error')) {
    const errors = read.diagnostics.filter((d) => d.severity === 'error');
    const { formatDiagnostics } = await import('../../manifest');
    if (errors.length) io.err(formatDiagnostics(errors, 'text').replace(/\n?$/, '\n'));
    throw new ManifestError(errors, `$${opts.specEnv} does not hold a valid project spec`);
  }
  if (spec.token !== opts.project) {
    throw new UsageError(`--project ${opts.project}: $${opts.specEnv} declares project ${spec.token}`);
  }
  return { spec, baseDir: io.cwd, specText };
}

/**
 * Whether Terraform is replacing the project's resource rather than removing it: the stack still declares the
 * project, with a spec other than the one being destroyed.
 */
async function isReplacement(opts: DeactivateFlags, io: Io, specText: string | undefined): Promise<boolean> {
  if (opts.skipIfReplacedIn === undefined) return false;
  if (specText === undefined) throw new UsageError('--skip-if-replaced-in compares with the spec of --spec-env; give both');
  const { lookupStackProject } = await import('../../manifest/cdktf-stack');
  const found = lookupStackProject(path.resolve(io.cwd, opts.skipIfReplacedIn), opts.project);
  if (found.status === 'unreadable') throw new ManifestError(found.diagnostics);
  return found.status === 'present' && found.specText !== specText;
}

export async function run(opts: DeactivateFlags, io: Io): Promise<number> {
  const declared = await declaredProject(opts, io);
  if (await isReplacement(opts, io, declared.specText)) {
    io.out(
      `project ${opts.project}: ${opts.skipIfReplacedIn} still declares it with a newer spec, so Terraform is replacing ` +
        'its resource, not removing it; nothing to deactivate.\n',
    );
    return EXIT.OK;
  }

  // Every declared key inactive, nothing else managed: the reconciler's matching finds the live keys.
  const target: ProjectSpec = {
    ...declared.spec,
    unmanaged: 'ignore',
    keys: declared.spec.keys.map((k) => ({ ...k, active: false })),
  };
  const { planProject, checkGuards, buildPlan, applyProjectPlan } = await import('../../reconcile');
  const session = await ApiSession.start(io, opts, [target.token], declared.baseDir);
  try {
    const { api, apiUrl } = await session.open(target, 'apply');
    const live = await listAll(api);
    const full = planProject({ desired: target, live, selfKey: api.selfKey, apiUrl });
    const selfUuid = api.selfKey.uuid;
    const deactivations = full.changes.filter((c): c is DeactivateChange => c.kind === 'deactivate');
    for (const c of deactivations.filter((d) => d.uuid === selfUuid)) {
      io.err(`note: project ${target.token}: "${c.before.description}" (uuid ${c.uuid}) stays active: it is the key this tool runs with\n`);
    }
    const plan: ProjectPlan = { ...full, changes: deactivations.filter((c) => c.uuid !== selfUuid) };
    const violations = checkGuards(plan, guardOptions(opts, selfUuid));
    if (plan.changes.length === 0) {
      io.out(`project ${target.token}: no declared key is active; nothing to deactivate.\n`);
      return EXIT.OK;
    }
    const { renderText } = await import('../../render');
    io.out(renderText(buildPlan([plan]), { color: useColor(io), violations }));
    if (violations.length > 0) {
      io.err('Nothing was deactivated: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    await confirmApply(io, Boolean(opts.autoApprove));
    const result = await applyProjectPlan(api, plan, {
      bulkMax: BULK_STATUS_MAX,
      parallelism: opts.parallelism ?? 8,
      onEvent: (e) => {
        const line = eventLine(e);
        if (line) io.out(`${line}\n`);
      },
      onSecret: () => undefined, // deactivations create nothing
    });
    if (result.failed) {
      io.err(projectErrorLines(target.token, result.failed.error));
      io.err(`project ${target.token}: stopped after ${result.done.length} of ${plan.changes.length} deactivations; run again to finish\n`);
      return EXIT.ERROR;
    }
    io.out(`\nDeactivated ${result.done.length} key${result.done.length === 1 ? '' : 's'} of project ${target.token}.\n`);
    return EXIT.OK;
  } finally {
    await session.close();
  }
}
