/**
 * Structural validation against `schemas/scaleflex-keys.schema.json` with ajv (draft 2020-12, all errors),
 * and the translation of each ajv error into a diagnostic that points at the offending node and says what
 * to do, with "did you mean" for names. Semantic rules that a schema cannot express live in `rules.ts`.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { descriptionLength, MAX_DESCRIPTION_LENGTH } from '../contract';
import type { Diagnostic } from '../errors';
import { PERMISSIONS } from '../permissions';
import { errorAt, escapePointer, type Locator, parsePointer, relatedAt, where } from './diagnostics';
import { validate as generatedValidator } from './schema-validator.generated';
import { didYouMean } from './suggest';

/** The manifest's JSON Schema, the one source of truth for its shape. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const MANIFEST_SCHEMA: Record<string, unknown> = require('../../schemas/scaleflex-keys.schema.json');

/**
 * The schema's validator: ajv 2020 (allErrors, strict, ajv-formats), precompiled to standalone code by
 * `scripts/generate-schema-validator.js` so a cold `validate` pays neither ajv's compiler nor the compile.
 */
export function manifestSchemaValidator(): ValidateFunction {
  return generatedValidator as unknown as ValidateFunction;
}

/**
 * Validates `value` against the schema; one diagnostic per problem, located with `locate`.
 * `skip(pointer)` drops errors about nodes another check already reported (e.g. secret-looking values).
 */
export function schemaDiagnostics(value: unknown, locate: Locator, skip: (pointer: string) => boolean = () => false): Diagnostic[] {
  const validate = manifestSchemaValidator();
  if (validate(value)) return [];
  // Errors inside `propertyNames` repeat the `propertyNames` error, which knows the offending name.
  const errors = (validate.errors ?? []).filter((e) => !(e.propertyName !== undefined && e.keyword !== 'propertyNames'));
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const valueErrorAt = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of errors) {
    if (e.keyword !== 'type' && typeErrorAt.has(e.instancePath)) continue;
    if (['pattern', 'minLength', 'maxLength'].includes(e.keyword)) {
      // One complaint per value is enough (an empty description fails both `minLength` and `pattern`).
      if (valueErrorAt.has(e.instancePath)) continue;
      valueErrorAt.add(e.instancePath);
    }
    for (const d of translate(e, locate)) if (!skip(d.path)) out.push(d);
  }
  return out;
}

const VALUE_NAMES: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  boolean: 'true or false',
  integer: 'a whole number',
  number: 'a number',
  null: 'empty',
};

/** A short, safe description of a value for messages (strings are quoted and truncated). */
export function describeValue(data: unknown): string {
  if (data === null || data === undefined) return 'nothing (an empty value)';
  if (typeof data === 'string') return `the string ${quote(data)}`;
  if (typeof data === 'number' || typeof data === 'boolean') return `${typeof data === 'number' ? 'the number ' : ''}${data}`;
  if (Array.isArray(data)) return 'a list';
  return 'a mapping';
}

/** Quotes a string for a message, truncating long ones. */
export function quote(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(shown);
}

/** A readable name for the node at `pointer`, e.g. `active`, `permissions[2]`, `permission set "ro"`. */
export function fieldLabel(pointer: string): string {
  const segs = parsePointer(pointer);
  if (segs.length === 0) return 'the manifest';
  if (segs[0] === 'permissionSets' && segs.length >= 2) {
    return segs.length === 2 ? `permission set ${quote(segs[1] as string)}` : `permission set ${quote(segs[1] as string)}[${segs[2]}]`;
  }
  const last = segs[segs.length - 1] as string;
  if (/^\d+$/.test(last)) {
    const parent = segs[segs.length - 2] ?? '';
    if (parent === 'projects') return `projects[${last}]`;
    if (parent === 'keys') return `keys[${last}]`;
    return `${parent}[${last}]`;
  }
  if (segs[segs.length - 2] === 'credentials') return `credentials.${last}`;
  return last;
}

/** The kind of mapping at `pointer`, for "unknown field ... in a key". */
function containerLabel(pointer: string): string {
  const segs = parsePointer(pointer);
  if (segs.length === 0) return 'at the top level';
  const last = segs[segs.length - 1];
  const parent = segs[segs.length - 2];
  if (parent === 'projects') return 'in a project';
  if (parent === 'keys') return 'in a key';
  if (last === 'credentials') return 'in credentials';
  return `in ${fieldLabel(pointer)}`;
}

function lastField(pointer: string): string {
  const segs = parsePointer(pointer).filter((s) => !/^\d+$/.test(s));
  return segs[segs.length - 1] ?? '';
}

function translate(e: ErrorObject, locate: Locator): Diagnostic[] {
  const path = e.instancePath;
  const label = fieldLabel(path);
  const one = (message: string, pointer = path, at: 'value' | 'key' = 'value', related?: Diagnostic['related']): Diagnostic[] => [
    errorAt(locate(pointer, at), message, pointer, related),
  ];
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      const hint = didYouMean(name, allowed) || (allowed.length ? `; allowed fields: ${allowed.join(', ')}` : '');
      return one(`unknown field ${quote(name)} ${containerLabel(path)}${hint}`, `${path}/${escapePointer(name)}`, 'key');
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const extra = missing === 'keys' ? ' (write `keys: []` for a project whose keys are all unmanaged)' : '';
      return one(`missing required field ${quote(missing)} ${containerLabel(path)}${extra}`);
    }
    case 'type': {
      const expected = String(params.type);
      let message = `${label} must be ${VALUE_NAMES[expected] ?? expected}, got ${describeValue(e.data)}`;
      if (expected === 'boolean' && typeof e.data === 'string') {
        message += '; YAML 1.2 reads yes/no/on/off as strings: write true or false';
      }
      return one(message);
    }
    case 'const':
      return one(`${label} must be ${JSON.stringify(params.allowedValue)}, got ${describeValue(e.data)}`);
    case 'enum': {
      if (isPermissionEnum(e.parentSchema?.enum)) {
        const name = String(e.data);
        return one(
          `unknown permission ${quote(name)}` +
            (didYouMean(name, PERMISSIONS) || '; permissions are the 31 Scaleflex names, e.g. OBJECTS_LIST, FILE_UPLOAD'),
        );
      }
      const allowed = (params.allowedValues as unknown[]).map(String);
      const got = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return one(`${label} must be one of ${allowed.map((a) => quote(a)).join(', ')}, got ${describeValue(e.data)}${got}`);
    }
    case 'uniqueItems': {
      const list = e.data as unknown[];
      const firstAt = new Map<string, number>();
      const out: Diagnostic[] = [];
      list.forEach((item, i) => {
        const id = JSON.stringify(item);
        const first = firstAt.get(id);
        if (first === undefined) {
          firstAt.set(id, i);
          return;
        }
        const firstLoc = locate(`${path}/${first}`);
        out.push(
          ...one(
            `${typeof item === 'string' ? quote(item) : describeValue(item)} is listed twice in ${label} ` +
              `(first at ${where(firstLoc)}); remove the repeat`,
            `${path}/${i}`,
            'value',
            [relatedAt(firstLoc, 'first listed here')],
          ),
        );
      });
      return out;
    }
    case 'minItems':
      if (path === '/projects') return one('projects must list at least one project');
      if (path.startsWith('/permissionSets/')) return one(`${label} must list at least one permission`);
      return one(`${label} must have at least ${String(params.limit)} item(s)`);
    case 'minLength':
    case 'maxLength': {
      const field = lastField(path);
      if (field === 'description' || field === 'formerDescriptions') {
        // Counted as the API (and the schema's maxLength) counts: code points, so 255 emoji fit.
        const length = typeof e.data === 'string' ? descriptionLength(e.data) : 0;
        return one(`${label} must be 1 to ${MAX_DESCRIPTION_LENGTH} characters long, got ${length} (counted in Unicode code points, as the API counts)`);
      }
      return one(`${label} ${e.keyword === 'minLength' ? 'must not be empty' : `must be at most ${String(params.limit)} characters`}`);
    }
    case 'pattern':
      return one(patternMessage(lastField(path), label, e.data));
    case 'propertyNames': {
      const name = String(params.propertyName);
      return one(patternMessage('permissionSets', `permission set name`, name), `${path}/${escapePointer(name)}`, 'key');
    }
    case 'minProperties':
    case 'maxProperties':
      return one('credentials must name exactly one of `env` (a variable) or `file` (a path)');
    default:
      return one(`${label} ${e.message ?? 'is invalid'}`);
  }
}

/** Whether an `enum` is the permission list (the validator carries its own copy of the schema, so compare contents). */
function isPermissionEnum(values: unknown): boolean {
  return Array.isArray(values) && values.length === PERMISSIONS.length && values.every((v, i) => v === PERMISSIONS[i]);
}

function patternMessage(field: string, label: string, data: unknown): string {
  const shown = typeof data === 'string' ? quote(data) : describeValue(data);
  switch (field) {
    case 'token':
      return `token ${shown} must be lowercase letters, digits and hyphens (not starting or ending with a hyphen)`;
    case 'description':
    case 'formerDescriptions':
      return `${label} ${shown} has leading or trailing whitespace; remove it`;
    case 'env':
      return `credentials.env ${shown} must be an environment variable name (letters, digits and _, not starting with a digit)`;
    case 'apiUrl':
      return `apiUrl must be an http:// or https:// URL with a host and no user:password@, query string or fragment, got ${shown}`;
    case 'uuid':
      return `uuid must be a UUID like 0b0f1c6e-2f7e-4b8a-9c61-1f2d3e4a5b6c, got ${shown}`;
    case 'permissionSets':
      return `${label} ${shown} may use only letters, digits, '-', '_' and '.', starting with a letter or digit (at most 64)`;
    default:
      return `${label} ${shown} has the wrong form`;
  }
}
