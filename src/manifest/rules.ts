/**
 * The manifest rules a JSON Schema cannot express, each a small named function over the manifest-shaped value:
 * no secret values, unique tokens, allowed API origins and credential sources (what the operator trusts),
 * unique pinned uuids, descriptions and former descriptions within a project (entries that all pin a uuid may
 * share a description), printable descriptions, known permission set names, at least one effective permission,
 * `protected` keys that stay active, secret variable names unique across the manifest, and `deliver:` sinks (one of
 * exec/file, known placeholders, files inside the manifest's tree). Then the final step,
 * building the DesiredState. Written defensively: the rules run even when the schema found problems, so that one
 * run reports everything. Diagnostics name second places both in their text and in the structured `related`.
 */
import type { Diagnostic } from '../errors';
import { deliveryFileProblem, DELIVERY_PLACEHOLDERS, unknownPlaceholders } from '../delivery';
import { secretVariableName } from '../secret-names';
import type { CredentialsRef, DeliverySpec, DesiredState, KeySpec, Permission, ProjectSpec, RotationSpec, SourceLocation, UnmanagedPolicy } from '../model';
import { canonicalPermissions, isPermission } from '../permissions';
import { credentialEnvProblem, credentialFilePathProblem, manifestApiUrlProblem, type OperatorTrust, type UrlProblem } from '../trust';
import { errorAt, escapePointer, type Locator, relatedAt, where } from './diagnostics';
import { MANIFEST_SCHEMA, quote } from './schema-check';
import { didYouMean } from './suggest';
import { parseAge, parsePolicy } from '../policy/rules';
import { DAY_MS, parseUtcInstant } from '../utc-time';

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

/** Whether a field name can only mean a secret value was pasted in. */
const isSecretFieldName = (name: string): boolean => SECRET_FIELD_NAMES.has(name.toLowerCase().replace(/[-_]/g, ''));

/** A run of 32 or more hex digits: the shape of a Scaleflex secret. */
const HEX_SECRET = /[0-9a-f]{32,}/i;

const SECRETS_NEVER = 'secrets never go in the manifest';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const defs = MANIFEST_SCHEMA.$defs as Record<string, { properties?: Record<string, { pattern?: string }> }>;
/** The fields a key entry may have, from the schema. */
const KEY_FIELDS: ReadonlySet<string> = new Set(Object.keys(defs.key?.properties ?? {}));
/** The schema's own `apiUrl` and `credentials.env` patterns: values that fail them have the schema's error already. */
const API_URL_SHAPE = new RegExp(defs.project?.properties?.apiUrl?.pattern ?? '^$', 'u');
const ENV_NAME_SHAPE = new RegExp(defs.credentials?.properties?.env?.pattern ?? '^$', 'u');

/** Result of the semantic pass: its diagnostics, and the pointers whose schema errors it supersedes. */
export interface RuleResult {
  diagnostics: Diagnostic[];
  /** Pointers of secret-looking nodes: their schema errors would only repeat the secret complaint. */
  superseded: Set<string>;
}

/** What the rules may take from outside the manifest. */
export interface RuleOptions {
  /** What the operator allows (API origins, credential variables); the manifest never decides it. */
  readonly trust: OperatorTrust;
  /**
   * Every mapping key the document holds, when its reader collected them. A rule about an optional field (a former
   * description, `protected`, `rotate`, a secret-looking name...) then skips a manifest that never names it: at
   * 25,000 keys, about 10 of the rules' 36 ms went to finding nothing. Absent: every rule looks everywhere.
   */
  readonly fieldNames?: ReadonlySet<string>;
}

/** A second place a diagnostic names: its pointer and what is there. */
interface Related {
  readonly pointer: string;
  readonly message: string;
}

/** What every rule gets: the manifest, where things are, how to report. */
interface RuleContext {
  readonly doc: Obj;
  readonly walk: Walk;
  readonly trust: OperatorTrust;
  readonly superseded: Set<string>;
  /** The top-level permission sets (empty when malformed). */
  readonly sets: Obj;
  /** The manifest's file name as the locator gives it (a `file:` sink may not name it). */
  readonly manifestFile: string;
  /** False only when the document certainly has no mapping key `field` anywhere (see `RuleOptions.fieldNames`). */
  mayName(field: string): boolean;
  /** `line L, column C` (or a construct path) of the node at `pointer`, for message text. */
  pos(pointer: string): string;
  report(pointer: string, message: string, options?: { at?: 'value' | 'key'; related?: readonly Related[] }): void;
}

type ProjectEntry = { project: Obj; pp: string; p: number };
/**
 * What the rules share, built once per run rather than once per rule. Key entries are walked by index, and a
 * key's pointer is built only when something is reported about it: at 100,000 keys, a string and an object per
 * key and rule were most of the rules' time and memory.
 */
interface Walk {
  readonly projects: WeakMap<Obj, ProjectEntry[]>;
  readonly descriptions: WeakMap<Obj, Descriptions>;
}
const newWalk = (): Walk => ({ projects: new WeakMap(), descriptions: new WeakMap() });

/** The pointer of key entry `k` of the project at `pp`. */
const keyAt = (pp: string, k: number): string => `${pp}/keys/${k}`;

/** Each project entry that is a mapping, with its pointer. */
function projectsOf(walk: Walk, doc: Obj): ProjectEntry[] {
  let list = walk.projects.get(doc);
  if (!list) {
    list = asArray(doc.projects).flatMap((project, p) => (isObj(project) ? [{ project, pp: `/projects/${p}`, p }] : []));
    walk.projects.set(doc, list);
  }
  return list;
}

/** The project token, for messages: the token when it is a string, else its position in the list. */
function tokenName(project: Obj, p: number): string {
  return str(project.token) ?? String(p);
}

/** Runs every semantic rule over a manifest-shaped value. */
export function checkRules(doc: unknown, locate: Locator, options: RuleOptions): RuleResult {
  const diagnostics: Diagnostic[] = [];
  const superseded = new Set<string>();
  const report: RuleContext['report'] = (pointer, message, opts = {}) =>
    diagnostics.push(
      errorAt(
        locate(pointer, opts.at ?? 'value'),
        message,
        pointer,
        opts.related?.map((r) => relatedAt(locate(r.pointer), r.message)),
      ),
    );
  const names = options.fieldNames;
  if (names === undefined || [...names].some(isSecretFieldName)) secretFields(doc, report, superseded);
  if (!isObj(doc)) return { diagnostics, superseded };
  if (doc.policy !== undefined) {
    // The policy parser checks every field of a rule, with messages that name the rule; the schema's would repeat them.
    superseded.add('/policy');
    diagnostics.push(...parsePolicy(doc.policy, '/policy', locate, 'manifest').diagnostics);
  }
  const ctx: RuleContext = {
    doc,
    walk: newWalk(),
    trust: options.trust,
    superseded,
    sets: isObj(doc.permissionSets) ? doc.permissionSets : {},
    manifestFile: locate('').file,
    mayName: (field) => names === undefined || names.has(field),
    pos: (pointer) => where(locate(pointer)),
    report,
  };
  for (const rule of PROJECT_RULES) rule(ctx);
  return { diagnostics, superseded };
}

/** Fields named like a secret (`key:`, `apiSecret:`) anywhere: the value is a secret that was pasted in. */
function secretFields(doc: unknown, report: RuleContext['report'], superseded: Set<string>): void {
  findSecretFields(doc, [], new Map(), (pointer, name) => {
    superseded.add(pointer);
    report(
      pointer,
      `field ${quote(name)} looks like a secret value: ${SECRETS_NEVER}; ` +
        'name where the admin key comes from with `credentials: {env: VARIABLE}` or `credentials: {file: PATH}`',
      { at: 'key' },
    );
  });
}

/** Each project token at most once in the manifest. */
function uniqueTokens(ctx: RuleContext): void {
  const first = new Map<string, string>();
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const token = str(project.token);
    if (token === undefined) continue;
    const here = `${pp}/token`;
    const earlier = first.get(token);
    if (earlier === undefined) {
      first.set(token, here);
      continue;
    }
    ctx.report(here, `project token ${quote(token)} is declared twice: at ${ctx.pos(earlier)} and here, at ${ctx.pos(here)}; each project may appear once`, {
      related: [{ pointer: earlier, message: 'first declared here' }],
    });
  }
}

/** `credentials.env` / `credentials.file` holding a long hex string: the admin key itself was pasted in. */
function secretCredentials(ctx: RuleContext): void {
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    if (!isObj(project.credentials)) continue;
    for (const [field, value] of Object.entries(project.credentials)) {
      const pointer = `${pp}/credentials/${escapePointer(field)}`;
      if (typeof value !== 'string' || !HEX_SECRET.test(value) || ctx.superseded.has(pointer)) continue;
      ctx.superseded.add(pointer);
      ctx.report(
        pointer,
        `credentials.${field} looks like a secret value (a long hex string): ${SECRETS_NEVER}; ` +
          'give the name of the environment variable (`env`) or the path of the file (`file`) that holds the admin key',
      );
    }
  }
}

const withHint = (problem: UrlProblem) => `${problem.message}; hint: ${problem.hint}`;

/** `apiUrl` must be an origin the operator trusts (official, loopback, or allowed outside the manifest). */
function trustedApiUrl(ctx: RuleContext): void {
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const apiUrl = str(project.apiUrl);
    // A URL that fails the schema's pattern has its error already.
    if (apiUrl === undefined || !API_URL_SHAPE.test(apiUrl)) continue;
    const problem = manifestApiUrlProblem(apiUrl, ctx.trust);
    if (problem) ctx.report(`${pp}/apiUrl`, withHint(problem));
  }
}

/** `credentials.env` must be a variable the operator allows; `credentials.file` must stay inside the manifest's tree. */
function trustedCredentials(ctx: RuleContext): void {
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    // Not exactly one source: the schema's error says so, and which one was meant is unknown.
    if (!isObj(project.credentials) || Object.keys(project.credentials).length !== 1) continue;
    const env = str(project.credentials.env);
    const envAt = `${pp}/credentials/env`;
    if (env !== undefined && ENV_NAME_SHAPE.test(env) && !ctx.superseded.has(envAt)) {
      const problem = credentialEnvProblem(env, ctx.trust);
      if (problem) ctx.report(envAt, withHint(problem));
    }
    const file = str(project.credentials.file);
    const fileAt = `${pp}/credentials/file`;
    if (file !== undefined && file !== '' && !ctx.superseded.has(fileAt)) {
      const problem = credentialFilePathProblem(file);
      if (problem) ctx.report(fileAt, withHint(problem));
    }
  }
}

/** A uuid may be pinned by one entry of a project only. */
function uniqueUuids(ctx: RuleContext): void {
  if (!ctx.mayName('uuid')) return;
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const first = new Map<string, number>();
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key) || typeof key.uuid !== 'string') continue;
      const uuid = key.uuid;
      const earlierK = first.get(uuid.toLowerCase());
      if (earlierK === undefined) first.set(uuid.toLowerCase(), k);
      else {
        const earlier = `${keyAt(pp, earlierK)}/uuid`;
        const here = `${keyAt(pp, k)}/uuid`;
        ctx.report(here, `uuid ${uuid} is pinned by two entries: at ${ctx.pos(earlier)} and here, at ${ctx.pos(here)}; a live key can match one entry only`, {
          related: [{ pointer: earlier, message: 'first pinned here' }],
        });
      }
    }
  }
}

/**
 * A project's current descriptions: the first key entry carrying each, and, for the descriptions carried more than
 * once, every entry that does (in order). No list per key: almost every description is carried once.
 */
interface Descriptions {
  readonly first: Map<string, number>;
  readonly shared: Map<string, number[]>;
}

function descriptionsOf(walk: Walk, project: Obj): Descriptions {
  const cached = walk.descriptions.get(project);
  if (cached) return cached;
  const found: Descriptions = { first: new Map(), shared: new Map() };
  walk.descriptions.set(project, found);
  const keys = asArray(project.keys);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    if (!isObj(key) || typeof key.description !== 'string') continue;
    const description = key.description;
    const first = found.first.get(description);
    if (first === undefined) {
      found.first.set(description, k);
      continue;
    }
    const entries = found.shared.get(description);
    if (entries) entries.push(k);
    else found.shared.set(description, [first, k]);
  }
  return found;
}

/** Whether every entry of `entries` pins a uuid (live projects do have several keys with one description). */
function allPinned(project: Obj, entries: readonly number[]): boolean {
  const keys = asArray(project.keys);
  return entries.every((k) => isObj(keys[k]) && typeof (keys[k] as Obj).uuid === 'string');
}

/** Descriptions are unique within a project, unless every entry sharing one pins a uuid. */
function uniqueDescriptions(ctx: RuleContext): void {
  for (const { project, pp, p } of projectsOf(ctx.walk, ctx.doc)) {
    // In the order of each description's first entry, as when every description had its list.
    const shared = [...descriptionsOf(ctx.walk, project).shared].sort((a, b) => (a[1][0] as number) - (b[1][0] as number));
    for (const [description, entries] of shared) {
      if (allPinned(project, entries)) continue;
      const [firstK, ...rest] = entries as [number, ...number[]];
      const first = `${pp}/keys/${firstK}/description`;
      for (const k of rest) {
        const here = `${pp}/keys/${k}/description`;
        ctx.report(
          here,
          `duplicate description ${quote(description)} in project ${quote(tokenName(project, p))}: ` +
            `declared at ${ctx.pos(first)} and at ${ctx.pos(here)}; ` +
            'the description identifies a key, so make them differ (or pin every entry that shares it with `uuid`)',
          { related: [{ pointer: first, message: 'first declared here' }] },
        );
      }
    }
  }
}

/** A former description is no current description, and belongs to one key only. */
function formerDescriptions(ctx: RuleContext): void {
  if (!ctx.mayName('formerDescriptions')) return;
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const current = descriptionsOf(ctx.walk, project).first;
    const claimedAt = new Map<string, string>();
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key) || !Array.isArray(key.formerDescriptions)) continue;
      const kp = keyAt(pp, k);
      key.formerDescriptions.forEach((former: unknown, f: number) => {
        if (typeof former !== 'string') return;
        const here = `${kp}/formerDescriptions/${f}`;
        const owner = current.get(former);
        if (owner !== undefined) {
          const ownerAt = `${pp}/keys/${owner}/description`;
          if (owner === k) ctx.report(here, `former description ${quote(former)} is this key's current description; remove it from formerDescriptions`);
          else {
            ctx.report(
              here,
              `former description ${quote(former)} is the current description of the key at ${ctx.pos(ownerAt)}; ` +
                'a former description may not equal any current one',
              { related: [{ pointer: ownerAt, message: 'the current description' }] },
            );
          }
          return;
        }
        const first = claimedAt.get(former);
        if (first === undefined) claimedAt.set(former, here);
        else if (!first.startsWith(`${kp}/`)) {
          ctx.report(here, `former description ${quote(former)} is claimed by two keys: at ${ctx.pos(first)} and at ${ctx.pos(here)}; a renamed key can only have been one of them`, {
            related: [{ pointer: first, message: 'first claimed here' }],
          });
        }
      });
    }
  }
}

/**
 * Invisible, bidi-control and other non-printing code points: control (Cc), format (Cf: zero-width characters,
 * bidi overrides and isolates, the BOM, the soft hyphen), line and paragraph separators, private use, lone
 * surrogates and unassigned code points. Two descriptions that print alike must be alike.
 */
const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Cn}]/u;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Names of the non-printing characters people meet; the rest are named by their category. */
const CHARACTER_NAMES: Readonly<Record<number, string>> = {
  0x00ad: 'SOFT HYPHEN',
  0x061c: 'ARABIC LETTER MARK',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
  0x0009: 'CHARACTER TABULATION',
  0x000a: 'LINE FEED',
  0x000d: 'CARRIAGE RETURN',
};

/** What kind of non-printing character `ch` is, for the message. */
function characterKind(ch: string): string {
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(ch)) return 'a bidirectional control character, which can reorder the printed line';
  if (/\p{Cc}/u.test(ch)) return 'a control character';
  if (/\p{Cf}/u.test(ch)) return 'an invisible character';
  if (/[\p{Zl}\p{Zp}]/u.test(ch)) return 'a line or paragraph separator';
  if (/\p{Co}/u.test(ch)) return 'a private-use character';
  if (/\p{Cs}/u.test(ch)) return 'a lone surrogate (not a character)';
  return 'an unassigned code point';
}

/** `U+200B (ZERO WIDTH SPACE)`, or `U+E000` when the character has no name here. */
export function codePointName(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CHARACTER_NAMES[cp];
  return name === undefined ? hex : `${hex} (${name})`;
}

/** A description with its non-printing characters written as `\uXXXX`, so the message shows where they are. */
function visible(text: string): string {
  const shown = [...text]
    .map((ch) => (NON_PRINTING.test(ch) ? `\\u${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}` : ch))
    .join('');
  return `"${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}"`;
}

/** The message for a description holding a non-printing character, or undefined when it prints as it is. */
export function nonPrintingProblem(label: string, text: string): string | undefined {
  // Most descriptions are printable ASCII: that test is much cheaper than the Unicode property classes.
  if (PRINTABLE_ASCII.test(text)) return undefined;
  const found = NON_PRINTING.exec(text);
  if (!found) return undefined;
  const ch = String.fromCodePoint(text.codePointAt(found.index) ?? 0);
  return `${label} ${visible(text)} contains ${codePointName(ch)}, ${characterKind(ch)}; remove it`;
}

/** The schema's own description pattern (no leading or trailing whitespace): values failing it have that error. */
const TRIMMED = new RegExp((MANIFEST_SCHEMA.$defs as Record<string, { pattern?: string }>).description?.pattern ?? '', 'u');

/** Descriptions and former descriptions print as they are: no invisible, bidi-control or non-printing characters. */
function printableDescriptions(ctx: RuleContext): void {
  // Printable ASCII first: it is what almost every description is, and much cheaper to test than TRIMMED.
  const problemOf = (label: string, text: unknown) =>
    typeof text === 'string' && !PRINTABLE_ASCII.test(text) && TRIMMED.test(text) ? nonPrintingProblem(label, text) : undefined;
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key)) continue;
      const problem = problemOf('description', key.description);
      if (problem) ctx.report(`${keyAt(pp, k)}/description`, problem);
      if (!Array.isArray(key.formerDescriptions)) continue;
      key.formerDescriptions.forEach((former: unknown, f: number) => {
        const formerProblem = problemOf('former description', former);
        if (formerProblem) ctx.report(`${keyAt(pp, k)}/formerDescriptions/${f}`, formerProblem);
      });
    }
  }
}

/** Permission sets named by a key exist, and every key gets at least one permission in total. */
function effectivePermissions(ctx: RuleContext): void {
  const setNames = Object.keys(ctx.sets);
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key)) continue;
      let effective = 0;
      let unknownSet = false;
      if (Array.isArray(key.permissions)) for (const permission of key.permissions) if (typeof permission === 'string' && isPermission(permission)) effective++;
      if (Array.isArray(key.permissionSets)) key.permissionSets.forEach((name: unknown, s: number) => {
        if (typeof name !== 'string') return;
        if (!Object.prototype.hasOwnProperty.call(ctx.sets, name)) {
          unknownSet = true;
          ctx.report(
            `${keyAt(pp, k)}/permissionSets/${s}`,
            `unknown permission set ${quote(name)}` +
              (setNames.length === 0
                ? '; no permissionSets are defined at the top level'
                : didYouMean(name, setNames) || `; defined sets: ${setNames.join(', ')}`),
          );
          return;
        }
        effective += asArray(ctx.sets[name]).length;
      });
      // The rest is looked at only for a key with no permission (pure checks, so the order does not matter).
      if (effective !== 0 || unknownSet) continue;
      const invalidPermissions = asArray(key.permissions).some((x) => typeof x !== 'string' || !isPermission(x));
      const malformed =
        (key.permissions !== undefined && !Array.isArray(key.permissions)) ||
        (key.permissionSets !== undefined && !Array.isArray(key.permissionSets));
      // A misspelt field (`permisions:`) already has its own error; "no permissions" would only repeat it.
      const misspelt = Object.keys(key).some((field) => !KEY_FIELDS.has(field));
      if (!invalidPermissions && !malformed && !misspelt) {
        const kp = keyAt(pp, k);
        ctx.report(key.permissions !== undefined ? `${kp}/permissions` : kp, noPermissionMessage(key));
      }
    }
  }
}

function noPermissionMessage(key: Obj): string {
  const name = typeof key.description === 'string' ? `key ${quote(key.description)}` : 'this key';
  return `${name} has no permissions: give it \`permissions\` or \`permissionSets\` (at least one permission in total)`;
}

/** A `protected: true` key is never deactivated, so it cannot also say `active: false`. */
function protectedStaysActive(ctx: RuleContext): void {
  if (!ctx.mayName('protected')) return;
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key) || key.protected !== true || key.active !== false) continue;
      const kp = keyAt(pp, k);
      const name = typeof key.description === 'string' ? `key ${quote(key.description)}` : 'this key';
      ctx.report(`${kp}/active`, `${name} is \`protected: true\` and \`active: false\`; a protected key is never deactivated: keep it active, or remove \`protected\` first (in a reviewed change of its own)`, {
        related: [{ pointer: `${kp}/protected`, message: 'protected here' }],
      });
    }
  }
}

/**
 * Two declared keys whose secrets would be written to one `.env` variable (`secretVariableName`), anywhere in the
 * manifest: refused before any key is created, so that no secret is ever overwritten. Pinned entries that share
 * one description are meant to be the same name and are exempt.
 */
function uniqueSecretVariables(ctx: RuleContext): void {
  // Each variable is kept by a 30-bit hash of its name and the number of the claim that took it first, with the
  // claim's project and key indexes aside: small integers, no string or object kept per key (100,000 keys are
  // checked in a few MB). When two hashes meet, the names are compared; a name whose hash another name holds is kept
  // by name, so a collision costs a string, never a wrong answer.
  const byHash = new Map<number, number>();
  const byName = new Map<string, number>();
  const claimProject: number[] = [];
  const claimKey: number[] = [];
  const projects = asArray(ctx.doc.projects);
  const entryOf = (claim: number) => {
    const project = projects[claimProject[claim]!] as Obj;
    return { token: project.token as string, description: (asArray(project.keys)[claimKey[claim]!] as Obj).description as string };
  };
  for (const { project, pp, p } of projectsOf(ctx.walk, ctx.doc)) {
    const token = str(project.token);
    if (token === undefined) continue;
    const prefix = variablePrefixHash(token);
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key) || typeof key.description !== 'string') continue;
      const description = key.description;
      const claim = claimProject.length;
      // The name itself is built only when its hash was seen before.
      const hash = secretVariableHash(prefix, token, description);
      let variable: string | undefined;
      let claimed = byHash.get(hash);
      if (claimed !== undefined) {
        variable = secretVariableName(token, description);
        const first = entryOf(claimed);
        if (secretVariableName(first.token, first.description) !== variable) claimed = byName.get(variable);
      } else byHash.set(hash, claim);
      if (claimed === undefined) {
        if (variable !== undefined && byHash.get(hash) !== claim) byName.set(variable, claim);
        claimProject.push(p);
        claimKey.push(k);
        continue;
      }
      variable ??= secretVariableName(token, description);
      const earlier = { ...entryOf(claimed), pointer: `${keyAt(`/projects/${claimProject[claimed]!}`, claimKey[claimed]!)}/description` };
      // Same project and description: the duplicate-description rule decides (pinned entries may share one).
      if (earlier.token === token && earlier.description === description) continue;
      ctx.report(
        `${keyAt(pp, k)}/description`,
        `key ${quote(description)} of project ${quote(token)} would store its secret in the variable ${variable}, ` +
          `like key ${quote(earlier.description)} of project ${quote(earlier.token)} at ${ctx.pos(earlier.pointer)}; ` +
          'hint: rename one of them so that their names differ in letters or digits (case, spaces and punctuation do not count)',
        { related: [{ pointer: earlier.pointer, message: `also ${variable}` }] },
      );
    }
  }
}

/** FNV-1a of `text`, 30 bits (a small integer V8 keeps unboxed). Exported for the collision test. */
export function nameHash(text: string): number {
  return fnvText(FNV_OFFSET, text) & 0x3fffffff;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const fnv = (hash: number, code: number): number => Math.imul(hash ^ code, 0x01000193);
const fnvText = (hash: number, text: string): number => {
  for (let i = 0; i < text.length; i++) hash = fnv(hash, text.charCodeAt(i));
  return hash;
};

/**
 * The FNV state after `_` and the part of ASCII `text` that `secretVariableName` keeps (upper-cased, each run of
 * other characters one `_`, none at either end), or after `_` and `empty` when nothing is kept, or `hash` itself
 * when nothing is kept and `empty` is ''. Undefined for other text: its upper case can differ in letters and length.
 */
function fnvNamePart(hash: number, text: string, empty: string): number | undefined {
  let kept = false;
  let gap = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x80) return undefined;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) {
      if (!kept || gap) hash = fnv(hash, 0x5f);
      kept = true;
      gap = false;
      hash = fnv(hash, c);
    } else gap = true;
  }
  return kept || empty === '' ? hash : fnvText(fnv(hash, 0x5f), empty);
}

/** A project's share of its keys' variable hashes (`SCALEFLEX_KEY` and the token's part), or undefined when not ASCII. */
function variablePrefixHash(token: string): number | undefined {
  return fnvNamePart(fnvText(FNV_OFFSET, 'SCALEFLEX_KEY'), token, '');
}

/**
 * `nameHash(secretVariableName(token, description))` without building the name: at 25,000 keys, building it was a
 * third of the rules' time. `prefix` is `variablePrefixHash(token)`.
 */
function secretVariableHash(prefix: number | undefined, token: string, description: string): number {
  const hash = prefix === undefined ? undefined : fnvNamePart(prefix, description, 'KEY');
  return hash === undefined ? nameHash(secretVariableName(token, description)) : hash & 0x3fffffff;
}

/** `secretVariableHash` of one key (for the test that compares it with the hash of the built name). */
export function keyVariableHash(token: string, description: string): number {
  return secretVariableHash(variablePrefixHash(token), token, description);
}

/** A `rotate:` mapping's durations in milliseconds, or undefined when either does not parse. */
function rotationOf(value: unknown): RotationSpec | undefined {
  if (!isObj(value) || typeof value.every !== 'string' || typeof value.overlap !== 'string') return undefined;
  const every = parseAge(value.every);
  const overlap = parseAge(value.overlap);
  if (every === undefined || overlap === undefined) return undefined;
  return { everyMs: every * DAY_MS, overlapMs: overlap * DAY_MS, every: value.every, overlap: value.overlap };
}

/**
 * `rotate:` and `expires:`: the overlap must be shorter than the period (the schema checks each duration's shape),
 * an entry pinned by `uuid` cannot rotate (its successor has another uuid), and `expires` must be a real UTC date or
 * date-time. A past `expires` is not an error: `validate` warns about it (it needs the clock; rules do not read it).
 */
function lifecycleFields(ctx: RuleContext): void {
  if (!ctx.mayName('rotate') && !ctx.mayName('expires')) return;
  const checkRotation = (value: unknown, pointer: string): void => {
    const r = rotationOf(value);
    if (r && r.overlapMs >= r.everyMs) {
      ctx.report(`${pointer}/overlap`, `rotate.overlap ${quote(r.overlap)} must be shorter than rotate.every ${quote(r.every)}: the old key must be switched off before the next rotation`);
    }
  };
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    if (project.rotate !== undefined) checkRotation(project.rotate, `${pp}/rotate`);
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (!isObj(key)) continue;
      if (key.rotate === undefined && key.expires === undefined) continue;
      const kp = keyAt(pp, k);
      if (key.rotate !== undefined) {
        checkRotation(key.rotate, `${kp}/rotate`);
        if (typeof key.uuid === 'string') {
          ctx.report(`${kp}/rotate`, `key ${quote(str(key.description) ?? '')} pins a uuid and cannot rotate: its successor would have another uuid; remove \`uuid\` or \`rotate\``, {
            related: [{ pointer: `${kp}/uuid`, message: 'pinned here' }],
          });
        }
      }
      if (typeof key.expires === 'string' && parseUtcInstant(key.expires) === undefined) {
        ctx.report(`${kp}/expires`, `expires ${quote(key.expires)} is not a date: write a UTC date (2027-03-01) or date-time (2027-03-01T12:00:00Z)`);
      }
    }
  }
}

/**
 * `deliver:` sinks on projects and keys: exactly one of `exec` or `file`; `timeout` only with `exec`; a non-empty
 * argv whose program is fixed (no placeholder) and whose placeholders are known; no secret pasted into an argument;
 * a `file` relative, inside the manifest's tree, not the manifest itself, `.json` or `.env`.
 */
function deliverySinks(ctx: RuleContext): void {
  if (!ctx.mayName('deliver')) return;
  const base = ctx.manifestFile.replace(/\\/g, '/').split('/').pop();
  const known = DELIVERY_PLACEHOLDERS.map((n) => `{${n}}`).join(', ');
  const check = (list: unknown, at: string) =>
    asArray(list).forEach((sink, i) => {
      if (!isObj(sink)) return;
      const sp = `${at}/${i}`;
      const hasExec = sink.exec !== undefined;
      const hasFile = sink.file !== undefined;
      if (hasExec && hasFile) {
        ctx.report(sp, 'a deliver sink has exactly one of `exec` or `file`, not both; split it into two sinks');
        return;
      }
      if (!hasExec && sink.timeout !== undefined) {
        ctx.report(`${sp}/timeout`, hasFile ? '`timeout` applies to `exec` sinks only; remove it from this `file` sink' : 'a deliver sink with `timeout` needs `exec: [program, args...]`');
      }
      // Neither: an empty mapping or unknown fields, which the schema reports.
      if (!hasExec && !hasFile) return;
      if (hasFile) {
        const file = str(sink.file);
        if (file === undefined || file === '') return;
        const problem = deliveryFileProblem(file, base);
        if (problem) ctx.report(`${sp}/file`, problem);
        return;
      }
      if (!Array.isArray(sink.exec)) return;
      if (sink.exec.length === 0) {
        ctx.superseded.add(`${sp}/exec`);
        ctx.report(`${sp}/exec`, 'deliver `exec` is empty: give the program and its arguments, e.g. [gh, secret, set, "{name}", --env, production]');
        return;
      }
      sink.exec.forEach((arg, j) => {
        if (typeof arg !== 'string') return;
        const here = `${sp}/exec/${j}`;
        if (HEX_SECRET.test(arg)) {
          ctx.superseded.add(here);
          ctx.report(here, `deliver exec argument ${j} looks like a secret value (a long hex string): ${SECRETS_NEVER}; the secret reaches the program on stdin`);
          return;
        }
        const unknown = unknownPlaceholders(arg);
        if (unknown.length > 0) {
          ctx.report(here, `unknown placeholder ${unknown.map((u) => `{${u}}`).join(', ')} in deliver exec argument ${quote(arg)}; the placeholders are ${known}` + didYouMean(unknown[0]!, [...DELIVERY_PLACEHOLDERS]));
        } else if (j === 0 && /\{[^{}]*\}/.test(arg)) {
          ctx.report(here, `the program of a deliver exec sink (${quote(arg)}) may not contain a placeholder: name the program itself`);
        }
      });
    });
  for (const { project, pp } of projectsOf(ctx.walk, ctx.doc)) {
    check(project.deliver, `${pp}/deliver`);
    const keys = asArray(project.keys);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (isObj(key) && key.deliver !== undefined) check(key.deliver, `${keyAt(pp, k)}/deliver`);
    }
  }
}

/** The project rules, in the order their diagnostics are reported at one position. */
const PROJECT_RULES: ReadonlyArray<(ctx: RuleContext) => void> = [
  uniqueTokens,
  secretCredentials,
  trustedApiUrl,
  trustedCredentials,
  uniqueUuids,
  uniqueDescriptions,
  formerDescriptions,
  printableDescriptions,
  effectivePermissions,
  protectedStaysActive,
  uniqueSecretVariables,
  lifecycleFields,
  deliverySinks,
];

/**
 * Walks every node for fields named like a secret. The path is kept as segments and joined into a pointer only for
 * a field found; each distinct field name is normalized once (`names`, per run): a manifest repeats a dozen names.
 */
function findSecretFields(
  node: unknown,
  path: Array<string | number>,
  names: Map<string, boolean>,
  found: (pointer: string, name: string) => void,
): void {
  if (path.length > 64 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (item === null || typeof item !== 'object') continue;
      path.push(i);
      findSecretFields(item, path, names, found);
      path.pop();
    }
    return;
  }
  // Inside permissionSets the keys are user-chosen set names, not fields.
  const namesAreData = path.length === 1 && path[0] === 'permissionSets';
  for (const name of Object.keys(node)) {
    const value: unknown = (node as Obj)[name];
    // A list or mapping under such a name is a misspelt field (`key:` for `keys:`), left to the schema's "did you mean".
    const scalar = value === null || typeof value !== 'object';
    if (scalar) {
      if (namesAreData) continue;
      let secret = names.get(name);
      if (secret === undefined) {
        secret = isSecretFieldName(name);
        names.set(name, secret);
      }
      if (secret) found(`${path.map((segment) => `/${escapePointer(segment)}`).join('')}/${escapePointer(name)}`, name);
      continue;
    }
    path.push(name);
    findSecretFields(value, path, names, found);
    path.pop();
  }
}

/** A validated `deliver:` list as DeliverySpecs (frozen, fields in a fixed order), or undefined when absent. */
function deliverySpecs(list: unknown): readonly DeliverySpec[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return Object.freeze(
    (list as Obj[]).map((sink) =>
      Object.freeze(
        Array.isArray(sink.exec)
          ? { exec: Object.freeze([...(sink.exec as string[])]), ...(typeof sink.timeout === 'number' ? { timeout: sink.timeout } : {}) }
          : { file: sink.file as string },
      ),
    ),
  );
}

/** Whether two optional lists hold the same items in the same order. */
function sameItems(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The empty list every key without former descriptions shares (frozen, so sharing it is safe). */
const NO_FORMER_DESCRIPTIONS: readonly string[] = Object.freeze([]);

/**
 * Builds the DesiredState from a manifest that passed the schema and the rules: defaults applied
 * (`active: true`, `unmanaged: deactivate`), permission sets expanded into sorted effective permissions,
 * `protected` set only when true. Every part is frozen; frozen lists that are equal may be shared (keys with the
 * same permissions share one list), which at 100,000 keys saves a list per key.
 */
export function buildDesiredState(doc: Obj, locate: Locator): DesiredState {
  const sets = (isObj(doc.permissionSets) ? doc.permissionSets : {}) as Record<string, string[]>;
  const source = (pointer: string): SourceLocation => {
    const { file, line, column, construct } = locate(pointer);
    return { file, line, column, ...(construct !== undefined ? { construct } : {}) };
  };
  // The locator's shortcut for mappings answers with a fresh {file, line, column}, the shape `source` builds.
  const keySource = (key: Obj, p: number, k: number): SourceLocation => {
    const loc = locate.mapping?.(key);
    return loc !== undefined && loc.construct === undefined ? loc : source(`/projects/${p}/keys/${k}`);
  };
  /** Effective permissions by what a key names: most keys name one of a few combinations, mostly the previous key's. */
  const permissionLists = new Map<string, readonly Permission[]>();
  let previous: { permissions: string[] | undefined; permissionSets: string[] | undefined; list: readonly Permission[] } | undefined;
  const permissionsOf = (permissions: string[] | undefined, permissionSets: string[] | undefined): readonly Permission[] => {
    if (previous && sameItems(permissions, previous.permissions) && sameItems(permissionSets, previous.permissionSets)) return previous.list;
    const list = permissionListOf(permissions, permissionSets);
    previous = { permissions, permissionSets, list };
    return list;
  };
  const permissionListOf = (permissions: string[] | undefined, permissionSets: string[] | undefined): readonly Permission[] => {
    const id =
      permissionSets === undefined && permissions !== undefined && permissions.length === 1
        ? (permissions[0] as string)
        : `${(permissions ?? []).join('\n')}\n\n${(permissionSets ?? []).join('\n')}`;
    let list = permissionLists.get(id);
    if (list === undefined) {
      const names = [...(permissions ?? [])];
      for (const set of permissionSets ?? []) names.push(...(sets[set] ?? []));
      list = Object.freeze(canonicalPermissions(names) as Permission[]);
      permissionLists.set(id, list);
    }
    return list;
  };
  const projects: ProjectSpec[] = (doc.projects as Obj[]).map((project, p) => {
    const projectRotate = project.rotate !== undefined ? rotationOf(project.rotate) : undefined;
    const projectDeliver = deliverySpecs(project.deliver);
    const projectKeys = project.keys as Obj[];
    const keys: KeySpec[] = new Array<KeySpec>(projectKeys.length);
    for (let k = 0; k < projectKeys.length; k++) {
      const key = projectKeys[k] as Obj;
      const deliver = key.deliver !== undefined ? (deliverySpecs(key.deliver) ?? projectDeliver) : projectDeliver;
      // A pinned entry never inherits the project's rotation: its successor would not match the pin.
      const rotate = key.rotate !== undefined ? rotationOf(key.rotate) : typeof key.uuid === 'string' ? undefined : projectRotate;
      const expires = typeof key.expires === 'string' ? parseUtcInstant(key.expires) : undefined;
      const former = key.formerDescriptions as string[] | undefined;
      const formerDescriptions = former !== undefined && former.length > 0 ? Object.freeze([...former]) : NO_FORMER_DESCRIPTIONS;
      const permissions = permissionsOf(key.permissions as string[] | undefined, key.permissionSets as string[] | undefined);
      const active = (key.active as boolean | undefined) ?? true;
      if (
        typeof key.uuid !== 'string' &&
        key.protected !== true &&
        typeof key.owner !== 'string' &&
        typeof key.purpose !== 'string' &&
        typeof key.justification !== 'string' &&
        !rotate &&
        expires === undefined &&
        (deliver === undefined || deliver.length === 0)
      ) {
        // The common key: one literal with every field (smaller than one grown field by field).
        const source = keySource(key, p, k);
        keys[k] = Object.freeze({ description: key.description as string, permissions, active, formerDescriptions, source });
        continue;
      }
      // Fields assigned in the order the spec has always had them (JSON output follows it); optional ones only when set.
      const spec: { -readonly [F in keyof KeySpec]: KeySpec[F] } = {
        description: key.description as string,
        permissions,
        active,
        formerDescriptions,
      } as KeySpec;
      if (typeof key.uuid === 'string') spec.uuid = key.uuid;
      if (key.protected === true) spec.protected = true;
      if (typeof key.owner === 'string') spec.owner = key.owner;
      if (typeof key.purpose === 'string') spec.purpose = key.purpose;
      if (typeof key.justification === 'string') spec.justification = key.justification;
      if (rotate) spec.rotate = Object.freeze(rotate);
      if (expires !== undefined) spec.expires = expires;
      if (deliver !== undefined && deliver.length > 0) spec.deliver = deliver;
      spec.source = keySource(key, p, k);
      keys[k] = Object.freeze(spec);
    }
    const credentials = isObj(project.credentials) ? (Object.freeze({ ...project.credentials }) as CredentialsRef) : undefined;
    const spec: ProjectSpec = {
      token: project.token as string,
      ...(typeof project.apiUrl === 'string' ? { apiUrl: project.apiUrl } : {}),
      ...(credentials ? { credentials } : {}),
      unmanaged: ((project.unmanaged as UnmanagedPolicy | undefined) ?? 'deactivate'),
      ...(projectRotate ? { rotate: Object.freeze(projectRotate) } : {}),
      ...(projectDeliver !== undefined && projectDeliver.length > 0 ? { deliver: projectDeliver } : {}),
      keys: Object.freeze(keys),
      source: source(`/projects/${p}`),
    };
    return Object.freeze(spec);
  });
  return Object.freeze({ projects: Object.freeze(projects) });
}
