/**
 * The manifest rules a JSON Schema cannot express: unique tokens, unique descriptions and former descriptions
 * within a project (entries that all pin a uuid may share a description), known permission set names,
 * at least one effective permission, no secret values; and the final step, building the DesiredState.
 * Written defensively: it runs even when the schema found problems, so that one run reports everything.
 */
import type { Diagnostic } from '../errors';
import type { CredentialsRef, DesiredState, KeySpec, Permission, ProjectSpec, SourceLocation, UnmanagedPolicy } from '../model';
import { canonicalPermissions, isPermission } from '../permissions';
import { errorAt, escapePointer, type Locator, where } from './diagnostics';
import { MANIFEST_SCHEMA, quote } from './schema-check';
import { didYouMean } from './suggest';
import { parsePolicy } from '../policy/rules';

/** Field names that can only mean a secret value was pasted into the manifest (compared without case, `-`, `_`). */
const SECRET_FIELD_NAMES = new Set([
  'key',
  'secret',
  'apikey',
  'apisecret',
  'secretkey',
  'adminkey',
  'password',
  'privatekey',
  'accesskey',
  'filerobotkey',
  'xfilerobotkey',
  'value',
]);

/** A run of 32 or more hex digits: the shape of a Scaleflex secret. */
const HEX_SECRET = /[0-9a-f]{32,}/i;

const SECRETS_NEVER = 'secrets never go in the manifest';

/** The fields a key entry may have, from the schema. */
const KEY_FIELDS: ReadonlySet<string> = new Set(
  Object.keys(((MANIFEST_SCHEMA.$defs as Record<string, { properties?: object }>).key?.properties ?? {}) as object),
);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Result of the semantic pass: its diagnostics, and the pointers whose schema errors it supersedes. */
export interface RuleResult {
  diagnostics: Diagnostic[];
  /** Pointers of secret-looking nodes: their schema errors would only repeat the secret complaint. */
  superseded: Set<string>;
}

/** Runs every semantic rule over a manifest-shaped value. */
export function checkRules(doc: unknown, locate: Locator): RuleResult {
  const diagnostics: Diagnostic[] = [];
  const superseded = new Set<string>();
  const report = (pointer: string, message: string, at: 'value' | 'key' = 'value') =>
    diagnostics.push(errorAt(locate(pointer, at), message, pointer));
  const pos = (pointer: string) => where(locate(pointer));

  findSecretFields(doc, '', 0, (pointer, name) => {
    superseded.add(pointer);
    report(
      pointer,
      `field ${quote(name)} looks like a secret value: ${SECRETS_NEVER}; ` +
        'name where the admin key comes from with `credentials: {env: VARIABLE}` or `credentials: {file: PATH}`',
      'key',
    );
  });
  if (!isObj(doc)) return { diagnostics, superseded };
  if (doc.policy !== undefined) {
    // The policy parser checks every field of a rule, with messages that name the rule; the schema's would repeat them.
    superseded.add('/policy');
    diagnostics.push(...parsePolicy(doc.policy, '/policy', locate, 'manifest').diagnostics);
  }

  const sets = isObj(doc.permissionSets) ? doc.permissionSets : {};
  const setNames = Object.keys(sets);
  const tokens = new Map<string, string>();

  asArray(doc.projects).forEach((project, p) => {
    const pp = `/projects/${p}`;
    if (!isObj(project)) return;

    const token = str(project.token);
    if (token !== undefined) {
      const first = tokens.get(token);
      if (first !== undefined) {
        report(`${pp}/token`, `project token ${quote(token)} is declared twice: at ${pos(first)} and here, at ${pos(`${pp}/token`)}; each project may appear once`);
      } else tokens.set(token, `${pp}/token`);
    }

    if (isObj(project.credentials)) {
      for (const [field, value] of Object.entries(project.credentials)) {
        const pointer = `${pp}/credentials/${escapePointer(field)}`;
        if (typeof value === 'string' && HEX_SECRET.test(value) && !superseded.has(pointer)) {
          superseded.add(pointer);
          report(
            pointer,
            `credentials.${field} looks like a secret value (a long hex string): ${SECRETS_NEVER}; ` +
              'give the name of the environment variable (`env`) or the path of the file (`file`) that holds the admin key',
          );
        }
      }
    }

    const keys = asArray(project.keys);
    const byDescription = new Map<string, number[]>();
    const formerFirst = new Map<string, string>();
    const uuids = new Map<string, string>();
    keys.forEach((key, k) => {
      if (!isObj(key)) return;
      const description = str(key.description);
      if (description !== undefined) {
        const entries = byDescription.get(description);
        if (entries) entries.push(k);
        else byDescription.set(description, [k]);
      }
      const uuid = str(key.uuid);
      if (uuid !== undefined) {
        const kp = `${pp}/keys/${k}/uuid`;
        const first = uuids.get(uuid.toLowerCase());
        if (first !== undefined) report(kp, `uuid ${uuid} is pinned by two entries: at ${pos(first)} and here, at ${pos(kp)}; a live key can match one entry only`);
        else uuids.set(uuid.toLowerCase(), kp);
      }
    });

    for (const [description, entries] of byDescription) {
      if (entries.length < 2) continue;
      // Live projects do have several keys with one description; entries that all pin a uuid tell them apart.
      if (entries.every((k) => isObj(keys[k]) && typeof (keys[k] as Obj).uuid === 'string')) continue;
      const [firstK, ...rest] = entries as [number, ...number[]];
      for (const k of rest) {
        const here = `${pp}/keys/${k}/description`;
        report(
          here,
          `duplicate description ${quote(description)} in project ${quote(token ?? String(p))}: ` +
            `declared at ${pos(`${pp}/keys/${firstK}/description`)} and at ${pos(here)}; ` +
            'the description identifies a key, so make them differ (or pin every entry that shares it with `uuid`)',
        );
      }
    }

    keys.forEach((key, k) => {
      if (!isObj(key)) return;
      const kp = `${pp}/keys/${k}`;
      asArray(key.formerDescriptions).forEach((former, f) => {
        if (typeof former !== 'string') return;
        const fp = `${kp}/formerDescriptions/${f}`;
        const current = byDescription.get(former);
        if (current !== undefined) {
          const owner = current[0] as number;
          report(
            fp,
            owner === k
              ? `former description ${quote(former)} is this key's current description; remove it from formerDescriptions`
              : `former description ${quote(former)} is the current description of the key at ${pos(`${pp}/keys/${owner}/description`)}; ` +
                  'a former description may not equal any current one',
          );
          return;
        }
        const first = formerFirst.get(former);
        if (first === undefined) formerFirst.set(former, fp);
        else if (!first.startsWith(`${kp}/`)) {
          report(
            fp,
            `former description ${quote(former)} is claimed by two keys: at ${pos(first)} and at ${pos(fp)}; ` +
              'a renamed key can only have been one of them',
          );
        }
      });

      let effective = 0;
      let unknownSet = false;
      for (const permission of asArray(key.permissions)) if (typeof permission === 'string' && isPermission(permission)) effective++;
      asArray(key.permissionSets).forEach((name, s) => {
        if (typeof name !== 'string') return;
        if (!Object.prototype.hasOwnProperty.call(sets, name)) {
          unknownSet = true;
          report(
            `${kp}/permissionSets/${s}`,
            `unknown permission set ${quote(name)}` +
              (setNames.length === 0
                ? '; no permissionSets are defined at the top level'
                : didYouMean(name, setNames) || `; defined sets: ${setNames.join(', ')}`),
          );
          return;
        }
        effective += asArray(sets[name]).length;
      });
      const invalidPermissions = asArray(key.permissions).some((x) => typeof x !== 'string' || !isPermission(x));
      const malformed =
        (key.permissions !== undefined && !Array.isArray(key.permissions)) ||
        (key.permissionSets !== undefined && !Array.isArray(key.permissionSets));
      // A misspelt field (`permisions:`) already has its own error; "no permissions" would only repeat it.
      const misspelt = Object.keys(key).some((field) => !KEY_FIELDS.has(field));
      if (effective === 0 && !unknownSet && !invalidPermissions && !malformed && !misspelt) {
        report(key.permissions !== undefined ? `${kp}/permissions` : kp, noPermissionMessage(key));
      }
    });
  });

  return { diagnostics, superseded };
}

function noPermissionMessage(key: Obj): string {
  const name = typeof key.description === 'string' ? `key ${quote(key.description)}` : 'this key';
  return `${name} has no permissions: give it \`permissions\` or \`permissionSets\` (at least one permission in total)`;
}

function findSecretFields(node: unknown, pointer: string, depth: number, found: (pointer: string, name: string) => void): void {
  if (depth > 64 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((item, i) => findSecretFields(item, `${pointer}/${i}`, depth + 1, found));
    return;
  }
  // Inside permissionSets the keys are user-chosen set names, not fields.
  const namesAreData = pointer === '/permissionSets';
  for (const [name, value] of Object.entries(node as Obj)) {
    const child = `${pointer}/${escapePointer(name)}`;
    // A list or mapping under such a name is a misspelt field (`key:` for `keys:`), left to the schema's "did you mean".
    const scalar = value === null || typeof value !== 'object';
    if (!namesAreData && scalar && SECRET_FIELD_NAMES.has(name.toLowerCase().replace(/[-_]/g, ''))) found(child, name);
    else findSecretFields(value, child, depth + 1, found);
  }
}

/**
 * Builds the DesiredState from a manifest that passed the schema and the rules: defaults applied
 * (`active: true`, `unmanaged: deactivate`), permission sets expanded into sorted effective permissions.
 */
export function buildDesiredState(doc: Obj, locate: Locator): DesiredState {
  const sets = (isObj(doc.permissionSets) ? doc.permissionSets : {}) as Record<string, string[]>;
  const source = (pointer: string): SourceLocation => {
    const { file, line, column } = locate(pointer);
    return { file, line, column };
  };
  const projects: ProjectSpec[] = (doc.projects as Obj[]).map((project, p) => {
    const keys: KeySpec[] = (project.keys as Obj[]).map((key, k) => {
      const names = [...((key.permissions as string[] | undefined) ?? [])];
      for (const set of (key.permissionSets as string[] | undefined) ?? []) names.push(...(sets[set] ?? []));
      const spec: KeySpec = {
        description: key.description as string,
        permissions: Object.freeze(canonicalPermissions(names) as Permission[]),
        active: (key.active as boolean | undefined) ?? true,
        formerDescriptions: Object.freeze([...((key.formerDescriptions as string[] | undefined) ?? [])]),
        ...(typeof key.uuid === 'string' ? { uuid: key.uuid } : {}),
        ...(typeof key.owner === 'string' ? { owner: key.owner } : {}),
        ...(typeof key.purpose === 'string' ? { purpose: key.purpose } : {}),
        ...(typeof key.justification === 'string' ? { justification: key.justification } : {}),
        source: source(`/projects/${p}/keys/${k}`),
      };
      return Object.freeze(spec);
    });
    const credentials = isObj(project.credentials) ? (Object.freeze({ ...project.credentials }) as CredentialsRef) : undefined;
    const spec: ProjectSpec = {
      token: project.token as string,
      ...(typeof project.apiUrl === 'string' ? { apiUrl: project.apiUrl } : {}),
      ...(credentials ? { credentials } : {}),
      unmanaged: ((project.unmanaged as UnmanagedPolicy | undefined) ?? 'deactivate'),
      keys: Object.freeze(keys),
      source: source(`/projects/${p}`),
    };
    return Object.freeze(spec);
  });
  return Object.freeze({ projects: Object.freeze(projects) });
}
