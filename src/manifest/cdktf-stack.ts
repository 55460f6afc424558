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
/** The trigger holding the canonical spec JSON (a key's, or the whole project's with its keys). */
export const SPEC_TRIGGER = 'spec';
/**
 * The environment variable through which the destroy-time provisioner passes the applied project spec
 * (gzipped and base64-encoded by Terraform's `base64gzip`).
 */
export const APPLIED_SPEC_ENV = 'SCALEFLEX_KEYS_APPLIED_SPEC';

/** A key as its resource's `spec` trigger holds it: effective permissions, every field explicit. */
export interface SynthesizedKeySpec {
  readonly description: string;
  /** Effective permissions (sets expanded), sorted, no repeats. */
  readonly permissions: readonly string[];
  readonly active: boolean;
  readonly formerDescriptions: readonly string[];
  readonly uuid?: string;
}

/** A project as its resource's `spec` trigger holds it: settings and every key, in declaration order. */
export interface SynthesizedProjectSpec {
  readonly token: string;
  readonly apiUrl?: string;
  /** The name of the environment variable holding the admin key; never the key. */
  readonly credentials?: { readonly env: string };
  readonly unmanaged: UnmanagedPolicy;
  readonly keys: readonly SynthesizedKeySpec[];
}

/** The canonical JSON of a key spec: fixed field order, so equal specs give equal triggers. */
export function keySpecJson(spec: SynthesizedKeySpec): string {
  return JSON.stringify(canonicalKey(spec));
}

/** The canonical JSON of a project spec (settings, then keys in declaration order). */
export function projectSpecJson(spec: SynthesizedProjectSpec): string {
  return JSON.stringify({
    token: spec.token,
    ...(spec.apiUrl !== undefined ? { apiUrl: spec.apiUrl } : {}),
    ...(spec.credentials !== undefined ? { credentials: { env: spec.credentials.env } } : {}),
    unmanaged: spec.unmanaged,
    keys: spec.keys.map(canonicalKey),
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

/** A manifest-shaped project entry from a project spec, with `keys` as given. */
function projectEntry(spec: Record<string, unknown>, keys: unknown[]): Record<string, unknown> {
  return { ...spec, keys };
}

/**
 * Parses the text of a project's `spec` trigger — what the destroy-time provisioner receives from Terraform's
 * state in `SCALEFLEX_KEYS_APPLIED_SPEC` — into a desired state of that one project, validated like a manifest.
 * `source` names where the text came from, for diagnostics.
 */
export function readProjectSpecText(text: string, source: string): { state?: DesiredState; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { diagnostics: [fileDiagnostic(source, 'not a project spec: the text is not JSON')] };
  }
  if (!isRecord(parsed)) return { diagnostics: [fileDiagnostic(source, 'not a project spec: expected a JSON object')] };
  const keys = Array.isArray(parsed.keys) ? parsed.keys.map((k) => (isRecord(k) ? keyEntry(k) : k)) : parsed.keys;
  const doc = { version: 1, projects: [{ ...parsed, keys }] };
  const result = validateManifestDocument(doc, () => ({ file: source, line: 1, column: 1 }));
  return { ...result, diagnostics: [...diagnostics, ...result.diagnostics] };
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
    const keyResources = project.dependsOn
      .map((ref) => byId.get(dependencyId(ref) ?? ''))
      .filter((r): r is NullResource => r !== undefined && r.triggers[KIND_TRIGGER] === KEY_KIND);
    const keys = keyResources.map((keyResource, j) => {
      owners.push({ prefix: `/projects/${i}/keys/${j}`, resource: keyResource });
      if (keyResource.triggers[PROJECT_TRIGGER] !== project.triggers[PROJECT_TRIGGER]) {
        structural(keyResource, `this key's "project" trigger does not name the project that depends on it (${String(project.triggers[PROJECT_TRIGGER])}); synthesize the stack again`);
      }
      return parseSpecTrigger(keyResource.triggers[SPEC_TRIGGER], (m) => structural(keyResource, m)) ?? {};
    });
    // The project's own spec repeats its keys (for the destroy-time provisioner); a mismatch means hand edits.
    const declared = Array.isArray(spec.keys) ? spec.keys : [];
    if (JSON.stringify(declared) !== JSON.stringify(keys)) {
      structural(project, `the project's "spec" trigger lists ${declared.length} key(s) that differ from the ${keys.length} key resource(s) it depends on; the stack file was edited by hand, synthesize it again`);
    }
    return projectEntry(spec, keys.map(keyEntry));
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
  const project = nullResources(stack).find(
    (r) => r.triggers[KIND_TRIGGER] === PROJECT_KIND && r.triggers[PROJECT_TRIGGER] === escapeTerraformTemplate(token),
  );
  const spec = project?.triggers[SPEC_TRIGGER];
  return typeof spec === 'string' ? { status: 'present', specText: unescapeTerraformTemplate(spec) } : { status: 'absent' };
}
