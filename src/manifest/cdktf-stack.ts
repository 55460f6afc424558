/**
 * The CDKTF front end's wire format, and its reader: how `ScaleflexProject` / `ScaleflexApiKey` encode the
 * desired state into `null_resource` triggers of a synthesized stack (`cdk.tf.json`), and how
 * `--from-cdktf FILE` turns such a file back into a DesiredState.
 *
 * The writer side (`src/cdktf/`) and this reader share the encoding below, so it lives here, in plain
 * TypeScript: reading a synthesized stack never loads cdktf. The reader validates what it finds with the same
 * `validateManifestDocument` (and so the same JSON Schema) as a YAML manifest; problems are reported at the
 * resource's line in the stack file and name the construct path that declared it.
 */
import * as fs from 'node:fs';
import type { Diagnostic } from '../errors';
import type { DesiredState, UnmanagedPolicy } from '../model';
import { validateManifestDocument } from './index';
import { MAX_MANIFEST_BYTES } from './read-source';

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
/**
 * The environment variable through which the destroy-time provisioner of a project (in stacks synthesized by
 * earlier versions, and `deactivate --spec-env`) passes the applied project spec, gzipped and base64-encoded.
 */
export const APPLIED_SPEC_ENV = 'SCALEFLEX_KEYS_APPLIED_SPEC';
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
  return JSON.stringify(canonicalKey(spec));
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

function canonicalKey(spec: SynthesizedKeySpec): SynthesizedKeySpec {
  return {
    description: spec.description,
    permissions: [...spec.permissions],
    active: spec.active,
    formerDescriptions: [...spec.formerDescriptions],
    ...(spec.uuid !== undefined ? { uuid: spec.uuid } : {}),
  };
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


interface NullResource {
  readonly logicalId: string;
  readonly triggers: Record<string, unknown>;
  readonly dependsOn: readonly string[];
  /** The construct that declared it (the resource's own `/Default` child dropped). */
  readonly constructPath: string;
}

function fileDiagnostic(file: string, message: string, path = ''): Diagnostic {
  return { file, line: 1, column: 1, severity: 'error', message, path };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `null_resource`s of a parsed stack, with the construct path cdktf recorded in each one's metadata. */
function nullResources(stack: Record<string, unknown>): NullResource[] {
  const resources = isRecord(stack.resource) && isRecord(stack.resource.null_resource) ? stack.resource.null_resource : {};
  return Object.entries(resources).flatMap(([logicalId, body]) => {
    if (!isRecord(body)) return [];
    const meta = isRecord(body['//']) && isRecord(body['//'].metadata) ? body['//'].metadata : {};
    const rawPath = typeof meta.path === 'string' ? meta.path : logicalId;
    return [
      {
        logicalId,
        triggers: isRecord(body.triggers) ? body.triggers : {},
        dependsOn: Array.isArray(body.depends_on) ? body.depends_on.filter((d): d is string => typeof d === 'string') : [],
        constructPath: rawPath.replace(/\/Default$/, ''),
      },
    ];
  });
}

/** `null_resource.x`, `${null_resource.x}` -> `x` (cdktf writes either form). */
function dependencyId(ref: string): string | undefined {
  const m = /^(?:\$\{)?null_resource\.([^}]+)\}?$/.exec(ref);
  return m?.[1];
}

/**
 * 1-based line and column of each construct path cdktf recorded (`"path": "..."` in a resource's metadata),
 * found in one pass so that large stacks stay linear.
 */
function constructPositions(text: string): Map<string, { line: number; column: number }> {
  const positions = new Map<string, { line: number; column: number }>();
  const pattern = /"path": ("(?:[^"\\]|\\.)*")/g;
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    for (let i = text.indexOf('\n', scanned); i >= 0 && i < m.index; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    scanned = m.index;
    try {
      const path = (JSON.parse(m[1] as string) as string).replace(/\/Default$/, '');
      if (!positions.has(path)) positions.set(path, { line, column: m.index - lineStart + 1 });
    } catch {
      // not a string literal after all; leave the resource at 1:1
    }
  }
  return positions;
}

/**
 * Parses a trigger holding spec JSON. Returns undefined (and adds a diagnostic) when it is not a JSON object,
 * which happens only when the stack file was edited by hand.
 */
function parseSpecTrigger(value: unknown, onError: (message: string) => void): Record<string, unknown> | undefined {
  if (typeof value !== 'string') {
    onError(`the "${SPEC_TRIGGER}" trigger is missing; synthesize the stack again`);
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(unescapeTerraformTemplate(value));
    if (isRecord(parsed)) return parsed;
  } catch {
    // reported below
  }
  onError(`the "${SPEC_TRIGGER}" trigger is not a JSON object; the stack file was edited by hand, synthesize it again`);
  return undefined;
}

/** A manifest-shaped key entry (what the schema validates) from a key spec: empty lists are left out. */
function keyEntry(spec: Record<string, unknown>): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...spec };
  if (Array.isArray(entry.formerDescriptions) && entry.formerDescriptions.length === 0) delete entry.formerDescriptions;
  return entry;
}

/** The project-level settings of a project resource's spec (its `keys` list names resources, not keys). */
function projectSettings(spec: Record<string, unknown>): Record<string, unknown> {
  const { keys: _keys, ...settings } = spec;
  return settings;
}

/**
 * Parses the text of a project spec — the `spec` trigger of a project resource synthesized by earlier versions,
 * which listed every key's spec, as `deactivate --spec-env` receives it — into a desired state of that one
 * project, validated like a manifest. `source` names where the text came from, for diagnostics.
 */
export function readProjectSpecText(text: string, source: string): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { diagnostics: [fileDiagnostic(source, 'not a project spec: the text is not JSON')] };
  }
  if (!isRecord(parsed)) return { diagnostics: [fileDiagnostic(source, 'not a project spec: expected a JSON object')] };
  const keys = Array.isArray(parsed.keys) ? parsed.keys.map((k) => (isRecord(k) ? keyEntry(k) : k)) : parsed.keys;
  const doc = { version: 1, projects: [{ ...parsed, keys }] };
  return validateManifestDocument(doc, () => ({ file: source, line: 1, column: 1 }));
}

/**
 * Parses the text of a key resource's `spec` trigger — what its destroy-time provisioner receives from
 * Terraform's state in `SCALEFLEX_KEYS_APPLIED_KEY` — into a desired state of one project (`settings`) holding
 * that one key, validated like a manifest. `source` names where the text came from, for diagnostics.
 */
export function readKeySpecText(
  text: string,
  source: string,
  settings: { readonly token: string; readonly credentials?: { readonly env: string } },
): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { diagnostics: [fileDiagnostic(source, 'not a key spec: the text is not JSON')] };
  }
  if (!isRecord(parsed)) return { diagnostics: [fileDiagnostic(source, 'not a key spec: expected a JSON object')] };
  const doc = { version: 1, projects: [{ ...settings, keys: [keyEntry(parsed)] }] };
  return validateManifestDocument(doc, () => ({ file: source, line: 1, column: 1 }));
}

/**
 * Reads the desired state from a synthesized CDKTF stack (`cdktf.out/stacks/<stack>/cdk.tf.json`).
 * Never throws for bad input: an unreadable file, a file that is not a synthesized stack, a stack without
 * ScaleflexProject resources, or specs that fail the manifest's schema and rules all come back as diagnostics,
 * each at the offending resource's line in the file and naming its construct path.
 */
export function readCdktfStack(file: string): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    // The same bound as a YAML manifest.
    if (size > MAX_MANIFEST_BYTES) {
      return { diagnostics: [fileDiagnostic(file, `the file is ${(size / 1e6).toFixed(1)} MB, larger than the 10 MB a stack may be`)] };
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : `cannot read it (${code ?? 'error'})`;
    return {
      diagnostics: [
        fileDiagnostic(file, `${why}; run \`npm run synth\` or \`cdktf synth\` first (stacks are written to cdktf.out/stacks/<stack>/cdk.tf.json)`),
      ],
    };
  }
  return readCdktfStackText(text, file);
}

/** `readCdktfStack` on text already read; `file` names it in diagnostics. */
export function readCdktfStackText(text: string, file: string): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let stack: unknown;
  try {
    stack = JSON.parse(text);
  } catch (error) {
    return { diagnostics: [fileDiagnostic(file, `not a synthesized CDKTF stack: invalid JSON (${(error as Error).message})`)] };
  }
  if (!isRecord(stack)) return { diagnostics: [fileDiagnostic(file, 'not a synthesized CDKTF stack: expected a JSON object')] };

  const resources = nullResources(stack);
  const byId = new Map(resources.map((r) => [r.logicalId, r]));
  const projects = resources.filter((r) => r.triggers[KIND_TRIGGER] === PROJECT_KIND);
  if (projects.length === 0) {
    return {
      diagnostics: [
        fileDiagnostic(file, 'this stack declares no ScaleflexProject (no null_resource with a "scaleflex_keys" trigger); is it the right stack?'),
      ],
    };
  }

  const diagnostics: Diagnostic[] = [];
  const positions = constructPositions(text);
  const locationOf = (r: NullResource) => ({ file, ...(positions.get(r.constructPath) ?? { line: 1, column: 1 }) });
  // JSON pointer prefix -> the resource that declared it; the longest matching prefix wins.
  const owners: Array<{ prefix: string; resource: NullResource }> = [];
  const structural = (r: NullResource, message: string) =>
    diagnostics.push({ ...locationOf(r), severity: 'error', message: `[${r.constructPath}] ${message}`, path: '' });

  const projectEntries = projects.map((project, i) => {
    owners.push({ prefix: `/projects/${i}`, resource: project });
    const spec = parseSpecTrigger(project.triggers[SPEC_TRIGGER], (m) => structural(project, m)) ?? {};
    // Declaration order is the order of depends_on.
    const keyResources = project.dependsOn
      .map((ref) => byId.get(dependencyId(ref) ?? ''))
      .filter((r): r is NullResource => r !== undefined && r.triggers[KIND_TRIGGER] === KEY_KIND);
    const settings = projectSettings(spec);
    const keys = keyResources.map((keyResource, j) => {
      owners.push({ prefix: `/projects/${i}/keys/${j}`, resource: keyResource });
      if (keyResource.triggers[PROJECT_TRIGGER] !== project.triggers[PROJECT_TRIGGER]) {
        structural(keyResource, `this key's "project" trigger does not name the project that depends on it (${String(project.triggers[PROJECT_TRIGGER])}); synthesize the stack again`);
      }
      // The settings a key carries for its destroy-time provisioner must be its project's.
      const credentials = isRecord(settings.credentials) ? settings.credentials.env : undefined;
      const apiUrl = typeof settings.apiUrl === 'string' ? escapeTerraformTemplate(settings.apiUrl) : undefined;
      if (keyResource.triggers[API_URL_TRIGGER] !== apiUrl || keyResource.triggers[CREDENTIALS_ENV_TRIGGER] !== credentials) {
        structural(keyResource, `this key's "${API_URL_TRIGGER}"/"${CREDENTIALS_ENV_TRIGGER}" triggers differ from its project's settings; the stack file was edited by hand, synthesize it again`);
      }
      return parseSpecTrigger(keyResource.triggers[SPEC_TRIGGER], (m) => structural(keyResource, m)) ?? {};
    });
    // The project's spec names its key resources (so that adding or removing one replaces it); a mismatch with
    // what it depends on means hand edits.
    const declared = Array.isArray(spec.keys) ? spec.keys : [];
    const dependedOn = keyResources.map((r) => r.logicalId).sort();
    if (JSON.stringify(declared) !== JSON.stringify(dependedOn)) {
      structural(project, `the project's "spec" trigger names ${declared.length} key resource(s) that differ from the ${dependedOn.length} it depends on; the stack file was edited by hand, synthesize it again`);
    }
    return { ...settings, keys: keys.map(keyEntry) };
  });
  if (diagnostics.length > 0) return { diagnostics };

  owners.sort((a, b) => b.prefix.length - a.prefix.length);
  const locate = (pointer: string) => {
    const owner = owners.find((o) => pointer === o.prefix || pointer.startsWith(`${o.prefix}/`)) ?? owners[owners.length - 1];
    return owner ? locationOf(owner.resource) : { file, line: 1, column: 1 };
  };
  const pathAtLine = new Map(owners.map((o) => [locationOf(o.resource).line, o.resource.constructPath]));

  const result = validateManifestDocument({ version: 1, projects: projectEntries }, locate);
  return {
    ...result,
    diagnostics: result.diagnostics.map((d) => {
      const constructPath = d.file === file ? pathAtLine.get(d.line) : undefined;
      return constructPath ? { ...d, message: `[${constructPath}] ${d.message}` } : d;
    }),
  };
}

/**
 * Reads a synthesized stack for a destroy-time check: a missing file is `no-file` (the stack was removed); a file
 * that exists but is not a readable stack is `unreadable`, never taken as "absent".
 */
function readStackFile(
  file: string,
):
  | { readonly status: 'no-file' }
  | { readonly status: 'unreadable'; readonly diagnostics: Diagnostic[] }
  | { readonly status: 'read'; readonly stack: Record<string, unknown> } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'no-file' };
    return { status: 'unreadable', diagnostics: [fileDiagnostic(file, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`)] };
  }
  let stack: unknown;
  try {
    stack = JSON.parse(text);
  } catch (error) {
    return { status: 'unreadable', diagnostics: [fileDiagnostic(file, `not a synthesized CDKTF stack: invalid JSON (${(error as Error).message})`)] };
  }
  if (!isRecord(stack)) return { status: 'unreadable', diagnostics: [fileDiagnostic(file, 'not a synthesized CDKTF stack: expected a JSON object')] };
  return { status: 'read', stack };
}

/** What a synthesized stack says about one project, for the destroy-time check "removed or replaced?". */
export type StackProjectLookup =
  | { readonly status: 'no-file' }
  | { readonly status: 'absent' }
  | { readonly status: 'present'; readonly specText: string }
  | { readonly status: 'unreadable'; readonly diagnostics: Diagnostic[] };

/**
 * Finds project `token` in a synthesized stack and returns its `spec` trigger as Terraform reads it (unescaped),
 * so that it can be compared with the spec Terraform's state holds. A missing file is `no-file` (the stack was
 * removed); a file that exists but is not a readable stack is `unreadable`, never taken as "absent".
 */
export function lookupStackProject(file: string, token: string): StackProjectLookup {
  const read = readStackFile(file);
  if (read.status !== 'read') return read;
  const stack = read.stack;
  const project = nullResources(stack).find(
    (r) => r.triggers[KIND_TRIGGER] === PROJECT_KIND && r.triggers[PROJECT_TRIGGER] === escapeTerraformTemplate(token),
  );
  const spec = project?.triggers[SPEC_TRIGGER];
  return typeof spec === 'string' ? { status: 'present', specText: unescapeTerraformTemplate(spec) } : { status: 'absent' };
}

/** What a synthesized stack says about one key resource, for its destroy-time check "removed or replaced?". */
export type StackKeyLookup =
  | { readonly status: 'no-file' }
  | { readonly status: 'unreadable'; readonly diagnostics: Diagnostic[] }
  | {
      readonly status: 'read';
      /** The spec trigger (unescaped) of the key resource of that name, if the stack still declares it. */
      readonly own?: string;
      /** The spec triggers (unescaped) of the project's other key resources. */
      readonly others: readonly string[];
    };

/**
 * Finds key resource `resourceName` of project `token` in a synthesized stack, and the project's other key
 * resources, so that a key's destroy-time provisioner can tell a replacement (its resource is still declared,
 * with another spec) or a move (another resource of the project now declares the same live key) from a removal.
 * A missing file is `no-file`; a file that exists but is not a readable stack is `unreadable`, never "absent".
 */
export function lookupStackKey(file: string, token: string, resourceName: string): StackKeyLookup {
  const read = readStackFile(file);
  if (read.status !== 'read') return read;
  const stack = read.stack;
  const keys = nullResources(stack).filter(
    (r) => r.triggers[KIND_TRIGGER] === KEY_KIND && r.triggers[PROJECT_TRIGGER] === escapeTerraformTemplate(token) && typeof r.triggers[SPEC_TRIGGER] === 'string',
  );
  const specOf = (r: NullResource) => unescapeTerraformTemplate(r.triggers[SPEC_TRIGGER] as string);
  const own = keys.find((r) => r.logicalId === resourceName);
  return { status: 'read', ...(own ? { own: specOf(own) } : {}), others: keys.filter((r) => r !== own).map(specOf) };
}
