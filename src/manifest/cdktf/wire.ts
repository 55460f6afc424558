/**
 * The CDKTF wire format: how `ScaleflexProject` / `ScaleflexApiKey` (`src/cdktf/`) encode the desired state into
 * the triggers of `null_resource`s in a synthesized stack (`cdk.tf.json`), and how those resources are found
 * again. The one definition both sides use: the constructs write it, the stack reader (`./reader`) and the
 * destroy-time check (`./destroy-check`) read it. Plain TypeScript, so reading a stack never loads cdktf. Pure.
 */
import { isRecord } from '../../compare';
import type { UnmanagedPolicy } from '../../model';

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
/** The environment variable through which a key resource's destroy-time provisioner passes the applied key spec. */
export const APPLIED_KEY_ENV = 'SCALEFLEX_KEYS_APPLIED_KEY';

/** A key as its resource's `spec` trigger holds it: effective permissions, every field explicit. */
export interface SynthesizedKeySpec {
  readonly description: string;
  /** Effective permissions (sets expanded), sorted, no repeats. */
  readonly permissions: readonly string[];
  readonly active: boolean;
  readonly formerDescriptions: readonly string[];
  readonly uuid?: string;
  /** Present (and true) only when the key is `protected: true`, so that existing triggers do not change. */
  readonly protected?: true;
}

/** Project-level settings, as a project resource's `spec` trigger holds them. */
export interface SynthesizedProjectSettings {
  readonly token: string;
  readonly apiUrl?: string;
  /** The name of the environment variable holding the admin key; never the key. */
  readonly credentials?: { readonly env: string };
  readonly unmanaged: UnmanagedPolicy;
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
