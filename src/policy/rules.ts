/**
 * Policy rules as data, and the parser that turns a `policy:` list (in a manifest or a `--policy FILE`) into
 * them, with every problem reported at its file:line:col. Sits beside the manifest stage: the schema checks the
 * shape, this adds what a schema cannot (exactly one rule kind per entry, a regular expression that compiles,
 * `except` only with `forbid`). Pure: it reads a parsed value and a locator, never a file.
 */
import type { Diagnostic } from '../errors';
import type { Permission, SourceLocation } from '../model';
import { isPermission } from '../permissions';
import { isRecord } from '../compare';

export type PolicySeverity = 'error' | 'warning';

/** The rule kinds, in the order the README's table lists them. */
export const POLICY_RULE_KINDS = Object.freeze([
  'forbid',
  'requireJustification',
  'requireOwner',
  'maxPermissions',
  'descriptionPattern',
  'maxAge',
] as const);
export type PolicyRuleKind = (typeof POLICY_RULE_KINDS)[number];

interface RuleBase {
  readonly severity: PolicySeverity;
  /** Where the rule was written: its list entry in the manifest or the policy file. */
  readonly source?: SourceLocation;
  /** `file` for a rule from `--policy FILE`, `manifest` for one from the manifest's `policy:`. */
  readonly origin: 'file' | 'manifest';
}

export interface ForbidRule extends RuleBase {
  readonly kind: 'forbid';
  readonly permissions: readonly Permission[];
  /** Description globs (`*`, `?`) of keys the rule leaves alone. */
  readonly except: readonly string[];
}
export interface RequireJustificationRule extends RuleBase {
  readonly kind: 'requireJustification';
  /** `risky`: the table in `src/render/risk.ts`; otherwise these permissions. */
  readonly permissions: 'risky' | readonly Permission[];
}
export interface RequireOwnerRule extends RuleBase {
  readonly kind: 'requireOwner';
}
export interface MaxPermissionsRule extends RuleBase {
  readonly kind: 'maxPermissions';
  readonly max: number;
}
export interface DescriptionPatternRule extends RuleBase {
  readonly kind: 'descriptionPattern';
  readonly pattern: string;
}
export interface MaxAgeRule extends RuleBase {
  readonly kind: 'maxAge';
  /** As written, e.g. `180d`. */
  readonly age: string;
  readonly days: number;
}

export type PolicyRule =
  | ForbidRule
  | RequireJustificationRule
  | RequireOwnerRule
  | MaxPermissionsRule
  | DescriptionPatternRule
  | MaxAgeRule;

/** Days per unit of a `maxAge`: a week is 7 days, a year 365 (leap days do not matter at this grain). */
const DAYS_PER_UNIT: Readonly<Record<string, number>> = { d: 1, w: 7, y: 365 };

/** Parses `180d`, `26w`, `2y` into days; undefined when it is not one of those shapes. */
export function parseAge(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})([dwy])$/.exec(text);
  return m ? Number(m[1]) * (DAYS_PER_UNIT[m[2]!] as number) : undefined;
}

/**
 * A description glob as a RegExp: `*` any run of characters, `?` one character, everything else literal.
 * Hand-written on purpose: path globbers (picomatch, minimatch) give `/` a meaning that descriptions do not have.
 */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'su');
}

/** A short name for a rule in messages: `forbid [ACCESS_MANAGE]`, `maxAge 180d`. */
export function ruleLabel(rule: PolicyRule): string {
  switch (rule.kind) {
    case 'forbid':
      return `forbid [${rule.permissions.join(', ')}]`;
    case 'requireJustification':
      return `requireJustification ${rule.permissions === 'risky' ? 'risky' : `[${rule.permissions.join(', ')}]`}`;
    case 'requireOwner':
      return 'requireOwner';
    case 'maxPermissions':
      return `maxPermissions ${rule.max}`;
    case 'descriptionPattern':
      return `descriptionPattern ${JSON.stringify(rule.pattern)}`;
    case 'maxAge':
      return `maxAge ${rule.age}`;
  }
}

/** What `parsePolicy` found: the rules that are well-formed, and a diagnostic for each one that is not. */
export interface PolicyParseResult {
  readonly rules: readonly PolicyRule[];
  readonly diagnostics: readonly Diagnostic[];
}

type Locate = (pointer: string, at?: 'value' | 'key') => SourceLocation;

/**
 * Parses a `policy:` list found at JSON pointer `base` (e.g. `/policy`). Never throws; every problem is a
 * diagnostic at the offending node. The manifest's JSON Schema already checks types, so for the manifest this
 * mostly adds the cross-field rules; for a policy file it is the only check.
 */
export function parsePolicy(value: unknown, base: string, locate: Locate, origin: 'file' | 'manifest'): PolicyParseResult {
  const rules: PolicyRule[] = [];
  const diagnostics: Diagnostic[] = [];
  const report = (pointer: string, message: string, at: 'value' | 'key' = 'value') => {
    const loc = locate(pointer, at);
    diagnostics.push({ file: loc.file, line: loc.line, column: loc.column, severity: 'error', message, path: pointer });
  };
  if (value === undefined) return { rules, diagnostics };
  if (!Array.isArray(value)) {
    report(base, '`policy` must be a list of rules, e.g. `- forbid: [ACCESS_MANAGE]`');
    return { rules, diagnostics };
  }
  value.forEach((entry, i) => {
    const at = `${base}/${i}`;
    if (!isRecord(entry)) return report(at, `policy rule ${i + 1} must be a mapping such as \`forbid: [ACCESS_MANAGE]\``);
    const kinds = POLICY_RULE_KINDS.filter((k) => entry[k] !== undefined);
    const unknown = Object.keys(entry).filter((k) => !(POLICY_RULE_KINDS as readonly string[]).includes(k) && k !== 'severity' && k !== 'except');
    for (const field of unknown) report(`${at}/${field}`, `unknown policy field ${JSON.stringify(field)}; a rule is one of ${POLICY_RULE_KINDS.join(', ')}`, 'key');
    if (kinds.length !== 1) {
      if (unknown.length === 0) {
        report(at, kinds.length === 0
          ? `policy rule ${i + 1} names no rule; give one of ${POLICY_RULE_KINDS.join(', ')}`
          : `policy rule ${i + 1} combines ${kinds.join(' and ')}; write each as its own list entry`);
      }
      return;
    }
    const kind = kinds[0]!;
    const severity = entry.severity ?? 'error';
    if (severity !== 'error' && severity !== 'warning') return report(`${at}/severity`, 'severity must be `error` or `warning`');
    if (entry.except !== undefined && kind !== 'forbid') return report(`${at}/except`, '`except` only applies to a `forbid` rule');
    const common = { severity: severity as PolicySeverity, source: locate(at), origin };
    const permissionList = (field: string): Permission[] | undefined => {
      const list = entry[field];
      if (!Array.isArray(list) || list.length === 0) {
        report(`${at}/${field}`, `${field} needs a list of one or more permissions`);
        return undefined;
      }
      const bad = list.findIndex((p) => typeof p !== 'string' || !isPermission(p));
      if (bad >= 0) {
        report(`${at}/${field}/${bad}`, `${JSON.stringify(list[bad])} is not a Scaleflex permission`);
        return undefined;
      }
      return [...new Set(list as Permission[])].sort();
    };
    switch (kind) {
      case 'forbid': {
        const permissions = permissionList('forbid');
        const except = entry.except ?? [];
        if (!Array.isArray(except) || except.some((e) => typeof e !== 'string' || e === '')) {
          return report(`${at}/except`, '`except` needs a list of description patterns (`*` and `?` are wildcards)');
        }
        if (permissions) rules.push(Object.freeze({ kind, permissions, except: Object.freeze([...(except as string[])]), ...common }));
        return;
      }
      case 'requireJustification': {
        if (entry.requireJustification === 'risky') {
          rules.push(Object.freeze({ kind, permissions: 'risky' as const, ...common }));
          return;
        }
        const permissions = permissionList('requireJustification');
        if (permissions) rules.push(Object.freeze({ kind, permissions, ...common }));
        return;
      }
      case 'requireOwner':
        // `requireOwner: false` is written to switch the rule off; it adds nothing, and can weaken nothing.
        if (typeof entry.requireOwner !== 'boolean') return report(`${at}/requireOwner`, 'requireOwner must be true or false');
        if (entry.requireOwner) rules.push(Object.freeze({ kind, ...common }));
        return;
      case 'maxPermissions': {
        const max = entry.maxPermissions;
        if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) return report(`${at}/maxPermissions`, 'maxPermissions must be a whole number of 1 or more');
        rules.push(Object.freeze({ kind, max, ...common }));
        return;
      }
      case 'descriptionPattern': {
        const pattern = entry.descriptionPattern;
        if (typeof pattern !== 'string' || pattern === '') return report(`${at}/descriptionPattern`, 'descriptionPattern must be a regular expression');
        try {
          new RegExp(pattern, 'u');
        } catch (error) {
          return report(`${at}/descriptionPattern`, `descriptionPattern is not a valid regular expression: ${(error as Error).message}`);
        }
        rules.push(Object.freeze({ kind, pattern, ...common }));
        return;
      }
      case 'maxAge': {
        const age = entry.maxAge;
        const days = typeof age === 'string' ? parseAge(age) : undefined;
        if (days === undefined) return report(`${at}/maxAge`, 'maxAge must be a number of days, weeks or years: `180d`, `26w`, `2y`');
        rules.push(Object.freeze({ kind, age: age as string, days, ...common }));
        return;
      }
    }
  });
  return { rules: Object.freeze(rules), diagnostics };
}

/**
 * The rules in force when a `--policy FILE` is given and the manifest has its own `policy:`: the union. Every
 * rule is evaluated on its own and produces its own findings, so a manifest rule can only add findings: it
 * cannot remove a file rule, lower its severity, or widen its `except` (an `except` belongs to its one rule).
 */
export function combinePolicies(fromFile: readonly PolicyRule[], fromManifest: readonly PolicyRule[]): readonly PolicyRule[] {
  return Object.freeze([...fromFile, ...fromManifest]);
}
