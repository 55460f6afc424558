/**
 * `scaleflex-keys deactivate --project T`: deactivates every live key that project declares — never deletes,
 * never the key the tool runs with — and leaves every other key alone. The declared keys come from
 * `-f`/`--from-cdktf`, or from `--key-spec-env` (one key). The latter is what a CDKTF `ScaleflexApiKey` runs
 * when Terraform destroys its resource:
 *
 *   scaleflex-keys deactivate --key-spec-env SCALEFLEX_KEYS_APPLIED_KEY --project demo \
 *     --skip-if-replaced-in cdk.tf.json --key-resource demo_uploader_1A2B3C4D --auto-approve
 *
 * `--key-spec-env` reads the key's spec from Terraform's state (the variable holds the resource's `spec`
 * trigger; `--credentials-env` and `SCALEFLEX_API_URL` give the project's settings). With
 * `--skip-if-replaced-in` it asks the pure destroy check (`manifest/cdktf/destroy-check`) whether Terraform is
 * replacing or moving the key rather than removing it, and then does nothing.
 *
 * Matching is the reconciler's own (`planProject` with every declared key set inactive and unmanaged keys
 * ignored); only its deactivations are kept. The guards apply: the mass-deactivation guard refuses without
 * `--force`.
 */
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BULK_STATUS_MAX } from '../../contract';
import { type Diagnostic, ManifestError, UsageError } from '../../errors';
import type { Permission, ProjectSpec } from '../../model';
import { canonicalPermissions } from '../../permissions';
import type { DeactivateChange, ProjectPlan } from '../../reconcile';
import { confirmApply } from '../confirm';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import { type Io, useColor } from '../io';
import { guardOptions } from '../arguments/common';
import type { DeactivateFlags } from '../arguments/deactivate';
import { eventLine, projectErrorLines } from '../output';
import { ApiSession, listAll, MANAGE_FOR_APPLY, trustFor } from '../session';
import { formatDiagnostics } from '../../manifest';
import { readKeySpecText, readStackFile } from '../../manifest/cdktf/reader';
import { operatorTrust } from '../../trust';
import { destroyVerdict } from '../../manifest/cdktf/destroy-check';
import { applyProjectPlan, buildPlan, checkGuards, planProject } from '../../reconcile';
import { renderText } from '../../render';

/**
 * The text of a `--key-spec-env` variable: JSON, or JSON gzipped and base64-encoded (Terraform's `base64gzip`,
 * which keeps a large spec under the OS limit on one environment string). Undecodable text is returned as is, so
 * that the spec reader reports it.
 */
function decodeSpec(value: string): string {
  if (value.trimStart().startsWith('{')) return value;
  try {
    return gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
  } catch {
    return value;
  }
}

/** The declared project, with the key spec text when it came from `--key-spec-env`. */
interface Declared {
  readonly spec: ProjectSpec;
  readonly baseDir: string;
  readonly specText?: string;
}

/** Prints a spec reader's problems and throws them as a ManifestError. */
async function refuse(diagnostics: readonly Diagnostic[], io: Io, what: string): Promise<never> {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) io.err(formatDiagnostics(errors, 'text').replace(/\n?$/, '\n'));
  throw new ManifestError(errors, what);
}

/** Reads the declared project: from the variable Terraform fills from its state, or from a file. */
async function readDeclared(flags: DeactivateFlags, io: Io): Promise<Declared> {
  const source = flags.source;
  if (source.kind === 'file') {
    const { projects, baseDir } = loadProjects({ ...source, project: [flags.project] }, io, trustFor(flags, io));
    return { spec: projects[0]!, baseDir };
  }
  const rawSpec = io.env[source.env];
  if (rawSpec === undefined || rawSpec === '') {
    throw new UsageError(`--key-spec-env ${source.env}: the environment variable is not set`, {
      hint: "Terraform sets it from the resource's triggers when it runs the destroy-time provisioner",
    });
  }
  const specText = decodeSpec(rawSpec);
  const settings = { token: flags.project, ...(source.credentialsEnv !== undefined ? { credentials: { env: source.credentialsEnv } } : {}) };
  // --credentials-env is on the operator's command line (the provisioner Terraform runs), not in a manifest.
  const trust = operatorTrust(io.env, { allowCredentialEnv: source.credentialsEnv !== undefined ? [source.credentialsEnv] : [] });
  const read = readKeySpecText(specText, `$${source.env}`, settings, { trust });
  const spec = read.state?.projects[0];
  if (!spec || read.diagnostics.some((d) => d.severity === 'error')) {
    return refuse(read.diagnostics, io, `$${source.env} does not hold a valid key spec`);
  }
  return { spec, baseDir: io.cwd, specText };
}

/** Why this destroy is not a removal (a replacement or a move), or undefined when the key is leaving. */
async function notARemoval(flags: DeactivateFlags, io: Io, declared: Declared): Promise<string | undefined> {
  const source = flags.source;
  if (source.kind !== 'key-env' || source.skipIfReplacedIn === undefined || declared.specText === undefined) return undefined;
  const { stackFile, keyResource } = source.skipIfReplacedIn;
  const file = path.resolve(io.cwd, stackFile);
  const read = readStackFile(file);
  if (read.status === 'unreadable') throw new ManifestError(read.diagnostics);
  const verdict = destroyVerdict(read.status === 'read' ? { file, text: read.text } : undefined, {
    token: flags.project,
    resourceName: keyResource,
    specText: declared.specText,
  });
  const key = `key "${declared.spec.keys[0]?.description ?? ''}" of project ${flags.project}`;
  switch (verdict.kind) {
    case 'unreadable':
      throw new ManifestError(verdict.diagnostics);
    case 'replacement':
      return `${key}: ${stackFile} still declares ${keyResource} with a newer spec, so Terraform is replacing it, not removing it`;
    case 'move':
      return `${key}: another key resource in ${stackFile} declares the same key, so it moved, not left`;
    case 'removal':
      return undefined;
  }
}

export async function run(opts: DeactivateFlags, io: Io): Promise<number> {
  const declared = await readDeclared(opts, io);
  const replaced = await notARemoval(opts, io, declared);
  if (replaced !== undefined) {
    io.out(`${replaced}; nothing to deactivate.\n`);
    return EXIT.OK;
  }

  // Every declared key inactive, nothing else managed: the reconciler's matching finds the live keys.
  const target: ProjectSpec = {
    ...declared.spec,
    unmanaged: 'ignore',
    keys: declared.spec.keys.map((k) => ({ ...k, active: false })),
  };
  const session = await ApiSession.start(io, opts, [target.token], declared.baseDir);
  try {
    const resolved = session.resolve(target);
    const apiUrl = resolved.apiUrl;
    const api = await session.open(target, resolved, MANAGE_FOR_APPLY);
    const live = await listAll(api);
    const full = planProject({ desired: target, live, selfKey: api.selfKey, apiUrl });
    const selfUuid = api.selfKey.uuid;
    // Only the deactivations are kept, so each must expect the key as it is live, not after an update (a rename
    // or permission change the reconciler would have applied first, e.g. of a spec whose apply never ran).
    const liveByUuid = new Map(live.map((k) => [k.uuid, k]));
    const deactivations = full.changes
      .filter((c): c is DeactivateChange => c.kind === 'deactivate')
      .map((c): DeactivateChange => {
        const k = liveByUuid.get(c.uuid);
        if (!k) return c;
        const before = { description: k.description, permissions: canonicalPermissions(k.permissions) as Permission[], active: k.active };
        return { ...c, before, after: { ...before, active: false } };
      });
    for (const c of deactivations.filter((d) => d.uuid === selfUuid)) {
      io.err(`note: project ${target.token}: "${c.before.description}" (uuid ${c.uuid}) stays active: it is the key this tool runs with\n`);
    }
    const plan: ProjectPlan = { ...full, changes: deactivations.filter((c) => c.uuid !== selfUuid) };
    const violations = checkGuards(plan, guardOptions(opts, selfUuid), live);
    if (plan.changes.length === 0) {
      io.out(`project ${target.token}: no declared key is active; nothing to deactivate.\n`);
      return EXIT.OK;
    }
    io.out(renderText(buildPlan([plan]), { color: useColor(io), violations }));
    if (violations.length > 0) {
      io.err('Nothing was deactivated: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    await confirmApply(io, opts.autoApprove);
    const result = await applyProjectPlan(api, plan, {
      bulkMax: BULK_STATUS_MAX,
      parallelism: opts.parallelism,
      live,
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
