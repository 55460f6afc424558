/**
 * The CDKTF wire format: how `ScaleflexProject` / `ScaleflexApiKey` (`src/cdktf/`) encode the desired state into
 * the triggers of `null_resource`s in a synthesized stack (`cdk.tf.json`), and how those resources are found
 * again. The one definition both sides use: the constructs write it, the stack reader (`./reader`) and the
 * destroy-time check (`./destroy-check`) read it. Plain TypeScript, so reading a stack never loads cdktf. Pure.
 */
import { isRecord } from '../../compare';
import type { UnmanagedPolicy } from '../../model';
import type { ManifestRotation } from '../document';

/** The trigger that marks a `null_resource` as one of ours, and says which kind it is. */
export const KIND_TRIGGER = 'scaleflex_keys';
/** `KIND_TRIGGER` value of a project's resource. */
export const PROJECT_KIND = 'project';
/** `KIND_TRIGGER` value of a key's resource. */
export const KEY_KIND = 'api-key';
/** The trigger holding the project token (on both kinds). */
export const PROJECT_TRIGGER = 'project';
/**
 * The trigger holding the canonical spec JSON: a key's own spec on a key resource; the project's settings and
 * the sorted names of its key resources on a project resource (never the keys' specs, so that editing one key
 * changes that key's triggers only).
 */
export const SPEC_TRIGGER = 'spec';
/** Key resources only, when the project sets `apiUrl`: the URL its destroy-time `deactivate` uses. */
export const API_URL_TRIGGER = 'api_url';
/** Key resources only, when the project sets `credentialsEnv`: the variable NAME its destroy-time `deactivate` reads. */
export const CREDENTIALS_ENV_TRIGGER = 'credentials_env';
/** The file cdktf writes a stack to, in `cdktf.out/stacks/<stack>/`: the "manifest" of a stack. */
export const STACK_FILE_NAME = 'cdk.tf.json';
/** The environment variable through which a key resource's destroy-time provisioner passes the applied key spec. */
export const APPLIED_KEY_ENV = 'SCALEFLEX_KEYS_APPLIED_KEY';

/** A `deliver` sink as a spec trigger holds it: the manifest's own shape (`exec` with an optional `timeout`, or `file`). */
export type SynthesizedDeliverySink = { readonly exec: readonly string[]; readonly timeout?: number } | { readonly file: string };

/** A `rotate` setting as a spec trigger holds it: the manifest's, durations as written (`90d`, `7d`). */
export type SynthesizedRotation = Readonly<ManifestRotation>;

/**
 * A key as its resource's `spec` trigger holds it: effective permissions, every field explicit.
 *
 * `rotate` and `deliver` are the key's OWN values, never its project's defaults: the project's resource carries
 * those (`SynthesizedProjectSettings`) and the stack reader hands both to the manifest's `buildDesiredState`,
 * which applies the inheritance exactly as for YAML (a pinned key does not inherit `rotate`; `deliver: []`
 * overrides the project's sinks). So editing a project's defaults changes the project's trigger only (its
 * resource is replaced and its `apply` re-runs) rather than replacing every key resource, and a key's trigger
 * (which the destroy-time `deactivate` reads from state) stays what the key itself declares.
 */
export interface SynthesizedKeySpec {
  readonly description: string;
  /** Effective permissions (sets expanded), sorted, no repeats. */
  readonly permissions: readonly string[];
  readonly active: boolean;
  readonly formerDescriptions: readonly string[];
  readonly uuid?: string;
  /** Present (and true) only when the key is `protected: true`, so that existing triggers do not change. */
  readonly protected?: true;
  // The fields below are present only when set, so that the triggers of keys without them do not change.
  /** Review metadata (`owner`, `purpose`, `justification`): never sent to the API. */
  readonly owner?: string;
  readonly purpose?: string;
  readonly justification?: string;
  /** The key's own rotation (not the project's). */
  readonly rotate?: SynthesizedRotation;
  /** As written: a UTC date or date-time. */
  readonly expires?: string;
  /** The key's own sinks (not the project's); `[]` is kept: it means "nowhere", overriding the project's. */
  readonly deliver?: readonly SynthesizedDeliverySink[];
}

/** Project-level settings, as a project resource's `spec` trigger holds them. */
export interface SynthesizedProjectSettings {
  readonly token: string;
  readonly apiUrl?: string;
  /** The name of the environment variable holding the admin key; never the key. */
  readonly credentials?: { readonly env: string };
  readonly unmanaged: UnmanagedPolicy;
  /** The project's default rotation, when set; the stack reader lets keys inherit it as YAML does. */
  readonly rotate?: SynthesizedRotation;
  /** The project's default sinks, when set; the stack reader lets keys inherit them as YAML does. */
  readonly deliver?: readonly SynthesizedDeliverySink[];
}

/**
 * A project as its resource's `spec` trigger holds it: settings, and the sorted Terraform names of its key
 * resources (so adding or removing a key replaces the project's resource, while editing one does not change it:
 * `replace_triggered_by` handles that).
 */
export interface SynthesizedProjectSpec extends SynthesizedProjectSettings {
  readonly keys: readonly string[];
}

/** The canonical JSON of a key spec: fixed field order, so equal specs give equal triggers. */
export function keySpecJson(spec: SynthesizedKeySpec): string {
  return JSON.stringify({
    description: spec.description,
    permissions: [...spec.permissions],
    active: spec.active,
    formerDescriptions: [...spec.formerDescriptions],
    ...(spec.uuid !== undefined ? { uuid: spec.uuid } : {}),
    ...(spec.protected === true ? { protected: true } : {}),
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
    ...(spec.purpose !== undefined ? { purpose: spec.purpose } : {}),
    ...(spec.justification !== undefined ? { justification: spec.justification } : {}),
    ...(spec.rotate !== undefined ? { rotate: rotationJson(spec.rotate) } : {}),
    ...(spec.expires !== undefined ? { expires: spec.expires } : {}),
    ...(spec.deliver !== undefined ? { deliver: deliveryJson(spec.deliver) } : {}),
  });
}

/** The canonical JSON of a project resource's spec: settings, then its key resources' names, sorted. */
export function projectSpecJson(spec: SynthesizedProjectSpec): string {
  return JSON.stringify({
    token: spec.token,
    ...(spec.apiUrl !== undefined ? { apiUrl: spec.apiUrl } : {}),
    ...(spec.credentials !== undefined ? { credentials: { env: spec.credentials.env } } : {}),
    unmanaged: spec.unmanaged,
    keys: [...spec.keys].sort(),
    // After `keys`, and only when set, so that projects without them synthesize what they always did.
    ...(spec.rotate !== undefined ? { rotate: rotationJson(spec.rotate) } : {}),
    ...(spec.deliver !== undefined ? { deliver: deliveryJson(spec.deliver) } : {}),
  });
}

// Both keep a value of the wrong shape (from plain JavaScript, synthesized without validation) as it is, so that
// the stack reader's validation reports it rather than this encoding hiding it.

/** A rotation in its fixed field order. */
function rotationJson(rotate: SynthesizedRotation): unknown {
  return isRecord(rotate) ? { every: rotate.every, overlap: rotate.overlap } : rotate;
}

/**
 * Sinks in a fixed field order (`exec`, `timeout`, `file`). A sink with both `exec` and `file` keeps both, so it
 * reaches the reader's validation as declared; other fields are not part of the format (synth-time validation,
 * which sees the props, reports them).
 */
function deliveryJson(sinks: readonly SynthesizedDeliverySink[]): unknown {
  if (!Array.isArray(sinks)) return sinks;
  return sinks.map((sink: unknown) => {
    if (!isRecord(sink)) return sink;
    const s = sink as { exec?: readonly string[]; timeout?: number; file?: string };
    return {
      ...(s.exec !== undefined ? { exec: s.exec } : {}),
      ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
      ...(s.file !== undefined ? { file: s.file } : {}),
    };
  });
}

/**
 * Escapes a literal string for Terraform's JSON syntax, where every string is a template: `${` and `%{`
 * would start an interpolation or directive, so a description such as `cost ${x}` must be written `$${x}`.
 */
export function escapeTerraformTemplate(text: string): string {
  // Function replacers: in a replacement string `$$` would itself mean one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** The literal string Terraform reads from a template written by `escapeTerraformTemplate`. */
export function unescapeTerraformTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');
}

/** One `null_resource` of a synthesized stack, as far as the wire format cares. */
export interface NullResource {
  readonly logicalId: string;
  readonly triggers: Record<string, unknown>;
  readonly dependsOn: readonly string[];
  /** The construct that declared it (the resource's own `/Default` child dropped). */
  readonly constructPath: string;
}

/** The construct path cdktf records for a resource, without the resource's own `/Default` child. */
export function constructPathOf(recorded: string): string {
  return recorded.replace(/\/Default$/, '');
}

/** The `null_resource`s of a parsed stack, with the construct path cdktf recorded in each one's metadata. */
export function nullResources(stack: Record<string, unknown>): NullResource[] {
  const resources = isRecord(stack.resource) && isRecord(stack.resource.null_resource) ? stack.resource.null_resource : {};
  return Object.entries(resources).flatMap(([logicalId, body]) => {
    if (!isRecord(body)) return [];
    const meta = isRecord(body['//']) && isRecord(body['//'].metadata) ? body['//'].metadata : {};
    return [
      {
        logicalId,
        triggers: isRecord(body.triggers) ? body.triggers : {},
        dependsOn: Array.isArray(body.depends_on) ? body.depends_on.filter((d): d is string => typeof d === 'string') : [],
        constructPath: constructPathOf(typeof meta.path === 'string' ? meta.path : logicalId),
      },
    ];
  });
}

/** `null_resource.x`, `${null_resource.x}` -> `x` (cdktf writes either form). */
export function dependencyId(ref: string): string | undefined {
  return /^(?:\$\{)?null_resource\.([^}]+)\}?$/.exec(ref)?.[1];
}

/** The key resources of project `token` that carry a spec, in the stack's order. */
export function keyResourcesOf(resources: readonly NullResource[], token: string): NullResource[] {
  const written = escapeTerraformTemplate(token);
  return resources.filter(
    (r) => r.triggers[KIND_TRIGGER] === KEY_KIND && r.triggers[PROJECT_TRIGGER] === written && typeof r.triggers[SPEC_TRIGGER] === 'string',
  );
}

/** A resource's `spec` trigger as Terraform reads it (unescaped), when it has one. */
export function specTextOf(resource: NullResource): string | undefined {
  const spec = resource.triggers[SPEC_TRIGGER];
  return typeof spec === 'string' ? unescapeTerraformTemplate(spec) : undefined;
}
