/**
 * `scaleflex-keys deactivate --project T`: deactivates every live key that project declares — never deletes,
 * never the key the tool runs with — and leaves every other key alone. The declared keys come from
 * `-f`/`--from-cdktf`, from `--spec-env` (a whole project spec), or from `--key-spec-env` (one key). The last is
 * what a CDKTF `ScaleflexApiKey` runs when Terraform destroys its resource:
 *
 *   scaleflex-keys deactivate --key-spec-env SCALEFLEX_KEYS_APPLIED_KEY --project demo \
 *     --skip-if-replaced-in cdk.tf.json --key-resource demo_uploader_1A2B3C4D --auto-approve
 *
 * `--key-spec-env` reads the key's spec from Terraform's state (the variable holds the resource's `spec`
 * trigger; `--credentials-env` and `SCALEFLEX_API_URL` give the project's settings). With
 * `--skip-if-replaced-in` it is a no-op when that stack still declares the resource `--key-resource` with
 * another spec — Terraform is replacing it after an edit, and the project's re-run apply converges the key — or
 * when another key resource of the project declares the same live key (same description, a former description,
 * or the same pinned uuid). `--spec-env` with `--skip-if-replaced-in` does the same for a whole project spec (the
 * destroy-time provisioner of projects synthesized by earlier versions).
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
import { type DeactivateFlags, } from '../arguments/deactivate';
import { guardOptions } from '../arguments/common';
import { eventLine, projectErrorLines } from '../output';
import { ApiSession, listAll, MANAGE_FOR_APPLY, trustFor } from '../session';



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

/** Where the declaration came from, for the replacement check. */
type Declared =
  | { readonly spec: ProjectSpec; readonly baseDir: string; readonly from: 'file' }
  | { readonly spec: ProjectSpec; readonly baseDir: string; readonly from: 'project-env'; readonly specText: string }
  | { readonly spec: ProjectSpec; readonly baseDir: string; readonly from: 'key-env'; readonly specText: string };

/** The value of a `--spec-env`/`--key-spec-env` variable, decoded. */
function envSpec(io: Io, flag: string, name: string): string {
  const raw = io.env[name];
  if (raw === undefined || raw === '') {
    throw new UsageError(`${flag} ${name}: the environment variable is not set`, {
      hint: "Terraform sets it from the resource's triggers when it runs the destroy-time provisioner",
    });
  }
  return decodeSpec(raw);
}

/** The one project a spec reader returned, or a ManifestError listing its problems. */
async function onlyProject(read: { state?: { projects: readonly ProjectSpec[] }; diagnostics: Diagnostic[] }, io: Io, what: string): Promise<ProjectSpec> {
  const spec = read.state?.projects[0];
  const errors = read.diagnostics.filter((d) => d.severity === 'error');
  if (!spec || errors.length > 0) {
    const { formatDiagnostics } = await import('../../manifest');
    if (errors.length) io.err(formatDiagnostics(errors, 'text').replace(/\n?$/, '\n'));
    throw new ManifestError(errors, what);
  }
  return spec;
}

/** The declared project: from the environment variable Terraform fills from its state, or from a file. */
async function declaredProject(opts: DeactivateFlags, io: Io): Promise<Declared> {
  const sources = [opts.specEnv, opts.keySpecEnv, opts.file, opts.fromCdktf].filter((s) => s !== undefined).length;
  if (sources > 1) throw new UsageError('give one of --spec-env, --key-spec-env, -f/--file and --from-cdktf');
  if (opts.keySpecEnv === undefined && (opts.keyResource !== undefined || opts.credentialsEnv !== undefined)) {
    throw new UsageError('--key-resource and --credentials-env go with --key-spec-env');
  }
  if (opts.keySpecEnv !== undefined) {
    const specText = envSpec(io, '--key-spec-env', opts.keySpecEnv);
    const { readKeySpecText } = await import('../../manifest/cdktf-stack');
    const settings = { token: opts.project, ...(opts.credentialsEnv !== undefined ? { credentials: { env: opts.credentialsEnv } } : {}) };
    const read = readKeySpecText(specText, `$${opts.keySpecEnv}`, settings);
    const spec = await onlyProject(read, io, `$${opts.keySpecEnv} does not hold a valid key spec`);
    return { spec, baseDir: io.cwd, from: 'key-env', specText };
  }
  if (opts.specEnv === undefined) {
    const { projects, baseDir } = loadProjects({ ...opts, project: [opts.project] }, io, trustFor(opts, io));
    return { spec: projects[0]!, baseDir, from: 'file' };
  }
  const specText = envSpec(io, '--spec-env', opts.specEnv);
  const { readProjectSpecText } = await import('../../manifest/cdktf-stack');
  const spec = await onlyProject(readProjectSpecText(specText, `$${opts.specEnv}`), io, `$${opts.specEnv} does not hold a valid project spec`);
  if (spec.token !== opts.project) {
    throw new UsageError(`--project ${opts.project}: $${opts.specEnv} declares project ${spec.token}`);
  }
  return { spec, baseDir: io.cwd, from: 'project-env', specText };
}

/** The descriptions and pinned uuid by which the reconciler may match a declared key to a live one. */
function identities(specText: string): { names: Set<string>; uuid?: string } {
  try {
    const k = JSON.parse(specText) as { description?: unknown; formerDescriptions?: unknown; uuid?: unknown };
    const former = Array.isArray(k.formerDescriptions) ? k.formerDescriptions.filter((d): d is string => typeof d === 'string') : [];
    return { names: new Set([...(typeof k.description === 'string' ? [k.description] : []), ...former]), ...(typeof k.uuid === 'string' ? { uuid: k.uuid } : {}) };
  } catch {
    return { names: new Set() };
  }
}

/**
 * Why Terraform is replacing the resource rather than removing it, or undefined for a removal: the stack still
 * declares it with a spec other than the one being destroyed, or (a key) another resource of the project now
 * declares the same live key.
 */
async function replacementReason(opts: DeactivateFlags, io: Io, declared: Declared): Promise<string | undefined> {
  if (opts.skipIfReplacedIn === undefined) return undefined;
  if (declared.from === 'file') throw new UsageError('--skip-if-replaced-in compares with the spec of --spec-env or --key-spec-env; give one');
  const file = path.resolve(io.cwd, opts.skipIfReplacedIn);
  const { lookupStackProject, lookupStackKey } = await import('../../manifest/cdktf-stack');
  if (declared.from === 'project-env') {
    const found = lookupStackProject(file, opts.project);
    if (found.status === 'unreadable') throw new ManifestError(found.diagnostics);
    return found.status === 'present' && found.specText !== declared.specText
      ? `project ${opts.project}: ${opts.skipIfReplacedIn} still declares it with a newer spec, so Terraform is replacing its resource, not removing it`
      : undefined;
  }
  if (opts.keyResource === undefined) throw new UsageError('--skip-if-replaced-in with --key-spec-env needs --key-resource (the key resource\'s name)');
  const found = lookupStackKey(file, opts.project, opts.keyResource);
  if (found.status === 'unreadable') throw new ManifestError(found.diagnostics);
  if (found.status === 'no-file') return undefined;
  const description = declared.spec.keys[0]?.description ?? '';
  if (found.own !== undefined && found.own !== declared.specText) {
    return `key "${description}" of project ${opts.project}: ${opts.skipIfReplacedIn} still declares ${opts.keyResource} with a newer spec, so Terraform is replacing it, not removing it`;
  }
  const mine = identities(declared.specText);
  const claimed = found.others.some((other) => {
    const theirs = identities(other);
    return (mine.uuid !== undefined && mine.uuid === theirs.uuid) || [...mine.names].some((n) => theirs.names.has(n));
  });
  return claimed
    ? `key "${description}" of project ${opts.project}: another key resource in ${opts.skipIfReplacedIn} declares the same key, so it moved, not left`
    : undefined;
}

export async function run(opts: DeactivateFlags, io: Io): Promise<number> {
  const declared = await declaredProject(opts, io);
  const replaced = await replacementReason(opts, io, declared);
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
  const { planProject, checkGuards, buildPlan, applyProjectPlan } = await import('../../reconcile');
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
    const { renderText } = await import('../../render');
    io.out(renderText(buildPlan([plan]), { color: useColor(io), violations }));
    if (violations.length > 0) {
      io.err('Nothing was deactivated: a guard refused (see above).\n');
      return EXIT.GUARD;
    }
    await confirmApply(io, opts.autoApprove);
    const result = await applyProjectPlan(api, plan, {
      bulkMax: BULK_STATUS_MAX,
      parallelism: opts.parallelism,
      onEvent: (e) => {
        const line = eventLine(e);
        if (line) io.out(`${line}\n`);
      },
      live,
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
