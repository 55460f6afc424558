/**
 * Evaluates policy rules against the desired state (and, for `maxAge`, the live keys): the review step between
 * "the manifest is valid" and "the plan may be applied". Pure and deterministic: `now` is passed in, findings
 * come out sorted by project, source position, rule order.
 */
import type { Diagnostic } from '../errors';
import type { DesiredState, KeySpec, LiveKey, ProjectSpec, SourceLocation } from '../model';
import { isRisky } from '../render/risk';
import { byString } from '../compare';
import { entriesByKey, matchEntries } from '../reconcile/match';
import { globToRegExp, type PolicyRule, type PolicyRuleKind, type PolicySeverity, ruleLabel } from './rules';

/** One key breaking one rule. */
export interface PolicyFinding {
  readonly rule: PolicyRuleKind;
  /** The rule as shown in messages, e.g. `forbid [ACCESS_MANAGE]`. */
  readonly ruleLabel: string;
  readonly severity: PolicySeverity;
  readonly project: string;
  /** The key's description. */
  readonly description: string;
  /** The live key's uuid, when the finding is about a live key (maxAge) or the entry pins one. */
  readonly uuid?: string;
  readonly message: string;
  /** The key entry (or, for a live key no entry declares, the project entry). */
  readonly source?: SourceLocation;
  /** The construct path, for desired state synthesized by CDKTF. */
  readonly construct?: string;
  /** Where the rule itself was written. */
  readonly ruleSource?: SourceLocation;
}

export interface EvaluateOptions {
  /** Live keys per project token; without them `maxAge` is not checked (validate has no live keys). */
  readonly live?: ReadonlyMap<string, readonly LiveKey[]>;
  /** The time ages are measured from. */
  readonly now: Date;
}

const DAY_MS = 86_400_000;

/** Whole days between an ISO timestamp and `now` (0 for a timestamp in the future or unreadable). */
export function ageInDays(createdAt: string, now: Date): number {
  const t = Date.parse(createdAt);
  return Number.isFinite(t) ? Math.max(0, Math.floor((now.getTime() - t) / DAY_MS)) : 0;
}

/**
 * Which entry each live key belongs to, by uuid, as the reconciler's matcher pairs them (`entriesByKey`): the
 * matched key, the exact twins it retires, every candidate of an ambiguous entry (so a finding or an audit row
 * still names the entry a reviewer must fix), and keys its rotation is retiring. Keys no entry claims are absent.
 */
export function entriesByUuid(entries: readonly KeySpec[], live: readonly LiveKey[]): Map<string, KeySpec> {
  return entriesByKey(matchEntries(entries, live));
}

function keyFindings(rule: PolicyRule, key: KeySpec): string | undefined {
  switch (rule.kind) {
    case 'forbid': {
      const held = rule.permissions.filter((p) => key.permissions.includes(p));
      if (held.length === 0 || rule.except.some((g) => globToRegExp(g).test(key.description))) return undefined;
      return `holds ${held.join(', ')}, which no key may hold` +
        (rule.except.length > 0 ? ` unless its description matches ${rule.except.map((g) => JSON.stringify(g)).join(' or ')}` : '') +
        '; remove the permission or ask the policy owner for an exception';
    }
    case 'requireJustification': {
      const needing = key.permissions.filter((p) => (rule.permissions === 'risky' ? isRisky(p) : rule.permissions.includes(p)));
      if (needing.length === 0 || (key.justification ?? '').trim() !== '') return undefined;
      return `holds ${needing.join(', ')} but has no \`justification\`; say why the key needs ${needing.length === 1 ? 'it' : 'them'}`;
    }
    case 'requireOwner':
      return (key.owner ?? '').trim() === '' ? 'has no `owner`; name the person or team who answers for it' : undefined;
    case 'maxPermissions':
      return key.permissions.length > rule.max
        ? `holds ${key.permissions.length} permissions, more than the ${rule.max} allowed; split it into keys with narrower duties`
        : undefined;
    case 'descriptionPattern':
      return new RegExp(rule.pattern, 'u').test(key.description) ? undefined : `description does not match /${rule.pattern}/; rename the key (keep the old name in formerDescriptions)`;
    case 'maxAge':
      return undefined;
  }
}

/** Evaluates every rule against every key; see `PolicyFinding`. */
export function evaluatePolicy(desired: DesiredState, rules: readonly PolicyRule[], opts: EvaluateOptions): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const push = (rule: PolicyRule, project: ProjectSpec, description: string, text: string, source?: SourceLocation, uuid?: string) => {
    const label = ruleLabel(rule);
    findings.push(Object.freeze({
      rule: rule.kind,
      ruleLabel: label,
      severity: rule.severity,
      project: project.token,
      description,
      ...(uuid !== undefined ? { uuid } : {}),
      message: `policy rule ${label}: key ${JSON.stringify(description)} ${text}`,
      ...(source ? { source } : {}),
      ...(source?.construct ? { construct: source.construct } : {}),
      ...(rule.source ? { ruleSource: rule.source } : {}),
    }));
  };
  for (const project of desired.projects) {
    let owners: Map<string, KeySpec> | undefined;
    for (const rule of rules) {
      if (rule.kind === 'maxAge') {
        const live = opts.live?.get(project.token);
        if (!live) continue;
        owners ??= entriesByUuid(project.keys, live);
        for (const key of [...live].sort((a, b) => byString(a.uuid, b.uuid))) {
          if (!key.active) continue;
          const days = ageInDays(key.createdAt, opts.now);
          if (days <= rule.days) continue;
          const entry = owners.get(key.uuid);
          push(rule, project, key.description,
            `(uuid ${key.uuid}) was created ${days} days ago, on ${key.createdAt.slice(0, 10)}, older than ${rule.age}; rotate it: create a replacement, move its users, deactivate this one`,
            entry?.source ?? project.source, key.uuid);
        }
        continue;
      }
      for (const key of project.keys) {
        const text = keyFindings(rule, key);
        if (text !== undefined) push(rule, project, key.description, text, key.source, key.uuid);
      }
    }
  }
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) =>
      byString(a.f.project, b.f.project) ||
      byString(a.f.source?.file ?? '', b.f.source?.file ?? '') ||
      (a.f.source?.line ?? 0) - (b.f.source?.line ?? 0) ||
      (a.f.source?.column ?? 0) - (b.f.source?.column ?? 0) ||
      a.i - b.i)
    .map(({ f }) => f);
}

/** Findings as diagnostics, for the formatters `validate` uses (text, json, github), each at its key's line. */
export function findingDiagnostics(findings: readonly PolicyFinding[], fallbackFile: string): Diagnostic[] {
  return findings.map((f) => ({
    file: f.source?.file ?? fallbackFile,
    line: f.source?.line ?? 1,
    column: f.source?.column ?? 1,
    severity: f.severity,
    message: f.message,
    path: '',
    ...(f.construct ? { construct: f.construct } : {}),
    ...(f.ruleSource
      ? { related: [{ file: f.ruleSource.file, line: f.ruleSource.line, column: f.ruleSource.column, message: `the rule ${f.ruleLabel} is declared here` }] }
      : {}),
  }));
}

/** The exit code policy findings call for: 4 when any error-severity rule is broken, else 0 (warnings only print). */
export function policyExitCode(findings: readonly PolicyFinding[]): 0 | 4 {
  return findings.some((f) => f.severity === 'error') ? 4 : 0;
}
