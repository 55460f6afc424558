/**
 * The plan's one stable JSON form, documented by `schemas/plan.schema.json`: `planToJson` writes it (sorted keys,
 * 2-space indent, trailing newline) and `parsePlanFile` reads it back into the same frozen `Plan`, validating the
 * schema (ajv, draft 2020-12) and the invariants a schema cannot express. What is saved is what is rendered,
 * reviewed and applied.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { PlanFileError } from '../errors';
import type { Permission } from '../model';
import { buildPlan, countChanges, deepFreeze, sortChanges } from './build';
import type { Change, ChangeCounts, CredentialsRef, DeactivateReason, Delivery, KeyState, Plan, PlanSource, ProjectPlan } from '../model';
import { canonicalUuid, sameList } from '../compare';
import { parseRetiring } from './rotation';

export { PLAN_FORMAT_VERSION } from '../model';
import { PLAN_FORMAT_VERSION } from '../model';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function keyStateDoc(s: KeyState): Json {
  return {
    description: s.description,
    permissions: [...s.permissions],
    active: s.active,
    ...(s.unknownPermissions?.length ? { unknown_permissions: [...s.unknownPermissions] } : {}),
  };
}

function countsDoc(c: ChangeCounts): Json {
  return { create: c.create, change: c.change, deactivate: c.deactivate };
}

type DeliveryDoc = { kind: 'exec'; argv: string[] } | { kind: 'file'; path: string };

function changeDoc(c: Change): Json {
  if (c.kind === 'create') {
    return {
      kind: 'create',
      after: keyStateDoc(c.after),
      ...(c.formerDescriptions?.length ? { former_descriptions: [...c.formerDescriptions] } : {}),
      ...(c.deliveries?.length ? { deliveries: c.deliveries.map(deliveryDoc) } : {}),
    };
  }
  const doc: { [k: string]: Json } = {
    kind: c.kind,
    uuid: c.uuid,
    created_at: c.createdAt,
    secret_preview: c.secretPreview,
    before: keyStateDoc(c.before),
    after: keyStateDoc(c.after),
  };
  if (c.kind === 'update') {
    doc.permissions_added = [...c.permissionsAdded];
    doc.permissions_removed = [...c.permissionsRemoved];
  }
  if (c.kind === 'deactivate') doc.reason = c.reason;
  if (c.kind === 'rotate') {
    doc.trigger = c.trigger;
    doc.successor = keyStateDoc(c.successor);
    doc.off_after = c.offAfter;
    if (c.deliveries?.length) doc.deliveries = c.deliveries.map(deliveryDoc);
  }
  return doc;
}

/** Where a new secret goes, as the plan shows it (never the secret). */
function deliveryDoc(d: Delivery): Json {
  return d.kind === 'exec' ? { kind: 'exec', argv: [...d.argv] } : { kind: 'file', path: d.path };
}

function deliveryFromDoc(x: DeliveryDoc): Delivery {
  return x.kind === 'exec' ? { kind: 'exec', argv: [...x.argv] } : { kind: 'file', path: x.path };
}

/** A credential reference: the variable's name or the file's path, never a value. */
function credentialsDoc(c: CredentialsRef): Json {
  return c.env !== undefined ? { env: c.env } : { file: c.file ?? '' };
}

/** The plan as plain JSON data in its documented snake_case form (see `schemas/plan.schema.json`). */
export function planToDocument(plan: Plan): Json {
  return {
    format_version: plan.formatVersion,
    ...(plan.source ? { source: { kind: plan.source.kind, path: plan.source.path } } : {}),
    summary: countsDoc(countChanges(plan)),
    projects: plan.projects.map((p) => ({
      project: p.project,
      api_url: p.apiUrl,
      ...(p.credentials ? { credentials: credentialsDoc(p.credentials) } : {}),
      protected_uuids: [...p.protectedUuids],
      planning_key_access: p.planningKeyAccess,
      live_fingerprint: p.liveFingerprint,
      desired_fingerprint: p.desiredFingerprint,
      self_uuid: p.selfUuid,
      unmanaged: p.unmanaged,
      live_keys: p.liveKeys,
      live_active: p.liveActive,
      summary: countsDoc(countChanges(p)),
      changes: p.changes.map(changeDoc),
    })),
  };
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]!);
    return out;
  }
  return value;
}

/** The stable JSON text of a plan: object keys sorted, 2-space indent, trailing newline. */
export function planToJson(plan: Plan): string {
  // Invisible and bidi-control characters (a description named in the hub) are written as \uXXXX escapes: the
  // same string to a parser, but never shown as themselves in an editor or a diff.
  return `${JSON.stringify(sortKeys(planToDocument(plan)), null, 2).replace(HIDDEN_IN_JSON, (ch) =>
    ch.split('').map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  )}\n`;
}

/** What `planToJson` escapes: format, private-use, unassigned and separator characters JSON leaves raw. */
const HIDDEN_IN_JSON = /[\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

let validator: ValidateFunction | undefined;
function validate(doc: unknown): ValidateFunction['errors'] {
  if (!validator) {
    // src/reconcile and dist/reconcile both sit two levels below the package root.
    const schemaFile = path.join(__dirname, '..', '..', 'schemas', 'plan.schema.json');
    const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object;
    // ajv's compiler is loaded only here, when a saved plan is read: `plan` imports this module to write plans,
    // and loading ajv cost every plan 16 ms of start (node 20).
    const { default: Ajv2020 } = require('ajv/dist/2020') as typeof import('ajv/dist/2020');
    validator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  }
  return validator(doc) ? null : validator.errors;
}

interface KeyStateDoc {
  description: string;
  permissions: Permission[];
  active: boolean;
  unknown_permissions?: string[];
}
interface ChangeDoc {
  kind: Change['kind'];
  uuid?: string;
  created_at?: string;
  secret_preview?: string;
  before?: KeyStateDoc;
  after: KeyStateDoc;
  permissions_added?: Permission[];
  permissions_removed?: Permission[];
  reason?: DeactivateReason;
  former_descriptions?: string[];
  trigger?: 'due' | 'on-demand';
  successor?: KeyStateDoc;
  off_after?: string;
  deliveries?: DeliveryDoc[];
}
interface ProjectDoc {
  project: string;
  api_url: string;
  live_fingerprint: string;
  desired_fingerprint: string;
  self_uuid: string;
  unmanaged: 'deactivate' | 'ignore';
  live_keys: number;
  live_active: number;
  credentials?: { env?: string; file?: string };
  protected_uuids: string[];
  planning_key_access: 'read' | 'manage';
  summary: ChangeCounts;
  changes: ChangeDoc[];
}

function stateFromDoc(s: KeyStateDoc): KeyState {
  return {
    description: s.description,
    permissions: [...s.permissions].sort(),
    active: s.active,
    ...(s.unknown_permissions?.length ? { unknownPermissions: [...s.unknown_permissions].sort() } : {}),
  };
}

function changeFromDoc(d: ChangeDoc): Change {
  const after = stateFromDoc(d.after);
  if (d.kind === 'create') {
    return {
      kind: 'create',
      after,
      ...(d.former_descriptions ? { formerDescriptions: [...d.former_descriptions].sort() } : {}),
      ...(d.deliveries ? { deliveries: d.deliveries.map(deliveryFromDoc) } : {}),
    };
  }
  // uuids compare case-insensitively everywhere: the canonical form is lower case.
  const ref = { uuid: canonicalUuid(d.uuid!), createdAt: d.created_at!, secretPreview: d.secret_preview! };
  const before = stateFromDoc(d.before!);
  switch (d.kind) {
    case 'update':
      return {
        kind: 'update',
        ...ref,
        before,
        after,
        permissionsAdded: [...d.permissions_added!].sort(),
        permissionsRemoved: [...d.permissions_removed!].sort(),
      };
    case 'activate':
      return { kind: 'activate', ...ref, before, after };
    case 'rotate':
      return {
        kind: 'rotate',
        trigger: d.trigger!,
        ...ref,
        before,
        after,
        successor: stateFromDoc(d.successor!),
        offAfter: d.off_after!,
        ...(d.deliveries ? { deliveries: d.deliveries.map(deliveryFromDoc) } : {}),
      };
    default:
      return { kind: 'deactivate', reason: d.reason!, ...ref, before, after };
  }
}

/** Invariants the schema cannot express; each problem as `<where>: <what>`. */
function invariantProblems(p: ProjectPlan, where: string): string[] {
  const problems: string[] = [];
  const perUuid = new Map<string, string[]>();
  p.changes.forEach((c, i) => {
    const at = `${where}/changes/${i}`;
    if (c.kind === 'create') return;
    const kinds = perUuid.get(c.uuid) ?? [];
    kinds.push(c.kind);
    perUuid.set(c.uuid, kinds);
    if (c.kind === 'rotate') {
      const name = parseRetiring(c.after.description);
      if (!name || name.description !== c.before.description || name.offAfter !== c.offAfter) {
        problems.push(`${at}: a rotation's after.description must be before.description with "(rotated YYYY-MM-DD, off after <off_after>)"`);
      }
      const s = c.successor;
      if (
        !c.before.active ||
        !c.after.active ||
        !s.active ||
        s.description !== c.before.description ||
        !sameList(s.permissions, c.before.permissions) ||
        !sameList(c.after.permissions, c.before.permissions) ||
        (c.before.unknownPermissions?.length ?? 0) + (c.after.unknownPermissions?.length ?? 0) + (s.unknownPermissions?.length ?? 0) > 0
      ) {
        problems.push(`${at}: a rotation keeps the key active with its permissions and creates a successor with the same description and permissions`);
      }
    } else if (c.kind === 'update') {
      const had = new Set(c.before.permissions);
      const wants = new Set(c.after.permissions);
      const added = c.after.permissions.filter((x) => !had.has(x));
      const removed = c.before.permissions.filter((x) => !wants.has(x));
      if (!sameList(added, c.permissionsAdded) || !sameList(removed, c.permissionsRemoved)) {
        problems.push(`${at}: permissions_added/permissions_removed do not match before and after`);
      }
      if (c.before.active !== c.after.active) problems.push(`${at}: an update must not change active (use activate/deactivate)`);
      if (!sameList(c.before.unknownPermissions ?? [], c.after.unknownPermissions ?? [])) {
        problems.push(`${at}: permissions unknown to scaleflex-keys are never changed`);
      }
      if (c.before.description === c.after.description && added.length + removed.length === 0) {
        problems.push(`${at}: an update that changes nothing`);
      }
    } else {
      const wantActive = c.kind === 'activate';
      if (c.before.active === wantActive || c.after.active !== wantActive) {
        problems.push(`${at}: ${c.kind} must go from active ${!wantActive} to ${wantActive}`);
      }
      if (
        c.before.description !== c.after.description ||
        !sameList(c.before.permissions, c.after.permissions) ||
        !sameList(c.before.unknownPermissions ?? [], c.after.unknownPermissions ?? [])
      ) {
        problems.push(`${at}: ${c.kind} must change only active`);
      }
    }
  });
  for (const [uuid, kinds] of perUuid) {
    const status = kinds.filter((k) => k === 'activate' || k === 'deactivate').length;
    if (kinds.filter((k) => k === 'update').length > 1 || status > 1) {
      problems.push(`${where}: key ${uuid} has more than one ${status > 1 ? 'status change' : 'update'}`);
    }
    if (kinds.includes('rotate') && kinds.length > 1) problems.push(`${where}: key ${uuid} is rotated and changed in the same plan`);
  }
  return problems;
}

/**
 * Reads a saved plan (`plan --out plan.json`) back into a frozen `Plan`.
 * @throws PlanFileError naming the file: not JSON, an unknown `format_version`, schema violations (each with its
 *   JSON pointer), or inconsistent changes (e.g. permissions_added that do not match before/after).
 */
export function parsePlanFile(text: string, file: string): Plan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
    const duplicate = firstDuplicateKey(text);
    if (duplicate) {
      throw new PlanFileError(`${file}: invalid plan file: the key ${JSON.stringify(duplicate.key)} appears twice in one object (at offset ${duplicate.offset}); a plan file is written once by \`plan --out\` and never edited`, {
        hint: 'Make the plan again with `scaleflex-keys plan --out plan.json`.',
      });
    }
  } catch (e) {
    if (e instanceof PlanFileError) throw e;
    throw new PlanFileError(`${file}: not a plan file: invalid JSON (${(e as Error).message})`, {
      hint: 'Write plans with `scaleflex-keys plan --out plan.json`.',
    });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || !('format_version' in doc)) {
    throw new PlanFileError(`${file}: not a plan file: no format_version`, {
      hint: 'Write plans with `scaleflex-keys plan --out plan.json`.',
    });
  }
  const version = (doc as { format_version: unknown }).format_version;
  if (version !== PLAN_FORMAT_VERSION) {
    throw new PlanFileError(
      `${file}: plan format_version ${JSON.stringify(version)} is not supported; this scaleflex-keys reads format_version ${PLAN_FORMAT_VERSION}`,
      { hint: version === 1 ? 'Format 1 plans carry no per-change preconditions or manifest binding: make the plan again with this version (`scaleflex-keys plan --out plan.json`).' : 'Make the plan again with this version of scaleflex-keys.' },
    );
  }
  const errors = validate(doc);
  if (errors && errors.length) {
    // oneOf failures repeat once per branch; the distinct pointer+message pairs are what helps.
    const lines = [...new Set(errors.map((e) => `  ${e.instancePath || '/'}: ${e.message ?? 'invalid'}`))];
    throw new PlanFileError(`${file}: invalid plan file (schemas/plan.schema.json):\n${lines.join('\n')}`);
  }
  const d = doc as unknown as { projects: ProjectDoc[]; summary: ChangeCounts; source?: PlanSource };
  const projects: ProjectPlan[] = d.projects.map((p) =>
    deepFreeze({
      project: p.project,
      apiUrl: p.api_url,
      liveFingerprint: p.live_fingerprint,
      desiredFingerprint: p.desired_fingerprint,
      unmanaged: p.unmanaged,
      liveKeys: p.live_keys,
      liveActive: p.live_active,
      ...(p.credentials ? { credentials: { ...p.credentials } } : {}),
      protectedUuids: p.protected_uuids.map(canonicalUuid).sort(),
      planningKeyAccess: p.planning_key_access,
      selfUuid: canonicalUuid(p.self_uuid),
      changes: sortChanges(p.changes.map(changeFromDoc)),
    }),
  );
  const problems = projects.flatMap((p, i) => invariantProblems(p, `/projects/${i}`));
  const seen = new Set<string>();
  projects.forEach((p, i) => {
    if (seen.has(p.project)) problems.push(`/projects/${i}: project ${p.project} appears twice`);
    seen.add(p.project);
  });
  if (problems.length) {
    throw new PlanFileError(`${file}: inconsistent plan file:\n${problems.map((x) => `  ${x}`).join('\n')}`);
  }
  const plan = buildPlan(projects, d.source);
  const counts = countChanges(plan);
  if (counts.create !== d.summary.create || counts.change !== d.summary.change || counts.deactivate !== d.summary.deactivate) {
    throw new PlanFileError(`${file}: inconsistent plan file: summary does not match the changes`);
  }
  return plan;
}

/**
 * The first object key that appears twice in one object of `text` (valid JSON), or undefined. `JSON.parse` keeps
 * the last value silently, so an edited plan could show a reviewer one value and hand apply another.
 */
function firstDuplicateKey(text: string): { key: string; offset: number } | undefined {
  const seen: Set<string>[] = [];
  let found: { key: string; offset: number } | undefined;
  // Loaded here, like ajv above: only reading a saved plan needs it (3 ms of every `plan`'s start otherwise).
  const { visit } = require('jsonc-parser') as typeof import('jsonc-parser');
  visit(text, {
    onObjectBegin: () => void seen.push(new Set()),
    onObjectEnd: () => void seen.pop(),
    onObjectProperty: (key, offset) => {
      const keys = seen[seen.length - 1];
      if (!keys || found) return;
      if (keys.has(key)) found = { key, offset };
      keys.add(key);
    },
  });
  return found;
}
