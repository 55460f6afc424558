/**
 * The CDKTF stack reader: `--from-cdktf FILE` turns a synthesized stack (`cdk.tf.json`) back into a DesiredState,
 * and `deactivate --key-spec-env` turns one key resource's `spec` trigger (from Terraform's state) into a
 * one-key desired state. Both validate what they find with the same `validateManifestDocument` (and so the same
 * JSON Schema and rules) as a YAML manifest; problems are reported at the resource's line in the stack file and
 * carry the construct path that declared it. The encoding itself is `./wire`.
 */
import * as fs from 'node:fs';
import { isRecord } from '../../compare';
import type { Diagnostic } from '../../errors';
import type { DesiredState } from '../../model';
import { type ManifestOptions, validateManifestDocument } from '../index';
import { fileError } from '../diagnostics';
import { MAX_MANIFEST_BYTES } from '../read-source';
import {
  API_URL_TRIGGER,
  constructPathOf,
  CREDENTIALS_ENV_TRIGGER,
  dependencyId,
  escapeTerraformTemplate,
  KEY_KIND,
  KIND_TRIGGER,
  type NullResource,
  nullResources,
  PROJECT_KIND,
  PROJECT_TRIGGER,
  SPEC_TRIGGER,
  unescapeTerraformTemplate,
} from './wire';

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
      const path = constructPathOf(JSON.parse(m[1] as string) as string);
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

/**
 * A manifest-shaped key entry (what the schema validates) from a key spec: empty former descriptions are left
 * out; every other field (`owner`, `rotate`, `deliver` — `[]` included, it overrides the project's — ...) is
 * the key's own and goes in as written.
 */
function keyEntry(spec: Record<string, unknown>): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...spec };
  if (Array.isArray(entry.formerDescriptions) && entry.formerDescriptions.length === 0) delete entry.formerDescriptions;
  return entry;
}

/**
 * The project-level settings of a project resource's spec (its `keys` list names resources, not keys). Its
 * `rotate` and `deliver` stay project fields, so `buildDesiredState` lets keys inherit them exactly as it does
 * for a YAML manifest (key specs hold only the keys' own values).
 */
function projectSettings(spec: Record<string, unknown>): Record<string, unknown> {
  const { keys: _keys, ...settings } = spec;
  return settings;
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
  options?: ManifestOptions,
): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { diagnostics: [fileError(source, 'not a key spec: the text is not JSON')] };
  }
  if (!isRecord(parsed)) return { diagnostics: [fileError(source, 'not a key spec: expected a JSON object')] };
  const doc = { version: 1, projects: [{ ...settings, keys: [keyEntry(parsed)] }] };
  return validateManifestDocument(doc, () => ({ file: source, line: 1, column: 1 }), options);
}

/**
 * Reads the desired state from a synthesized CDKTF stack (`cdktf.out/stacks/<stack>/cdk.tf.json`).
 * Never throws for bad input: an unreadable file, a file that is not a synthesized stack, a stack without
 * ScaleflexProject resources, or specs that fail the manifest's schema and rules all come back as diagnostics,
 * each at the offending resource's line in the file and naming its construct path.
 */
export function readCdktfStack(file: string, options?: ManifestOptions): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    // The same bound as a YAML manifest.
    if (size > MAX_MANIFEST_BYTES) {
      return { diagnostics: [fileError(file, `the file is ${(size / 1e6).toFixed(1)} MB, larger than the 10 MB a stack may be`)] };
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : `cannot read it (${code ?? 'error'})`;
    return {
      diagnostics: [
        fileError(file, `${why}; run \`npm run synth\` or \`cdktf synth\` first (stacks are written to cdktf.out/stacks/<stack>/cdk.tf.json)`),
      ],
    };
  }
  return readCdktfStackText(text, file, options);
}

/** `readCdktfStack` on text already read; `file` names it in diagnostics. */
export function readCdktfStackText(text: string, file: string, options?: ManifestOptions): { state?: DesiredState; diagnostics: Diagnostic[] } {
  let stack: unknown;
  try {
    stack = JSON.parse(text);
  } catch (error) {
    return { diagnostics: [fileError(file, `not a synthesized CDKTF stack: invalid JSON (${(error as Error).message})`)] };
  }
  if (!isRecord(stack)) return { diagnostics: [fileError(file, 'not a synthesized CDKTF stack: expected a JSON object')] };

  const resources = nullResources(stack);
  const byId = new Map(resources.map((r) => [r.logicalId, r]));
  const projects = resources.filter((r) => r.triggers[KIND_TRIGGER] === PROJECT_KIND);
  if (projects.length === 0) {
    return {
      diagnostics: [
        fileError(file, 'this stack declares no ScaleflexProject (no null_resource with a "scaleflex_keys" trigger); is it the right stack?'),
      ],
    };
  }

  const diagnostics: Diagnostic[] = [];
  const positions = constructPositions(text);
  const locationOf = (r: NullResource) => ({ file, ...(positions.get(r.constructPath) ?? { line: 1, column: 1 }), construct: r.constructPath });
  // JSON pointer prefix -> the resource that declared it; the longest matching prefix wins.
  const owners: Array<{ prefix: string; resource: NullResource }> = [];
  const structural = (r: NullResource, message: string) =>
    diagnostics.push({ ...locationOf(r), severity: 'error', message, path: '' });

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
  return validateManifestDocument({ version: 1, projects: projectEntries }, locate, options);
}


/** A stack file as the destroy-time check sees it: gone (the stack was removed), unreadable, or its text. */
export type StackFileRead =
  | { readonly status: 'no-file' }
  | { readonly status: 'unreadable'; readonly diagnostics: Diagnostic[] }
  | { readonly status: 'read'; readonly text: string };

/**
 * Reads a synthesized stack for the destroy-time check: a missing file is `no-file`; a file that exists but
 * cannot be read is `unreadable`, never taken as "absent" (that would deactivate a key being replaced).
 */
export function readStackFile(file: string): StackFileRead {
  try {
    return { status: 'read', text: fs.readFileSync(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'no-file' };
    return { status: 'unreadable', diagnostics: [fileError(file, `cannot read it (${code ?? 'error'})`)] };
  }
}
