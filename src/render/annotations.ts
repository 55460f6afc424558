/**
 * A plan (and its policy findings) as GitHub workflow commands, anchored at manifest lines: `plan --format
 * github`. A warning for each risky grant (risk.ts), an error for each policy error (a warning for each policy
 * warning), a notice for each deactivation and rotation. Plan changes carry no positions (they are the saved,
 * fingerprinted plan), so the caller passes `entryOf`, the entry each change is about as the reconciler's one
 * matcher pairs them (`planEntryLookup` in `reconcile/match.ts`, over the live keys the plan came from); the
 * change is anchored at that entry's `source`, else at its project's. CDKTF entries name their construct path.
 * Pure; depends on the model only.
 */
import type { Change, DesiredState, KeySpec, Plan, SourceLocation } from '../model';
import type { PolicyFinding } from '../policy/evaluate';
import { riskReason } from './risk';

/** Escapes the message of a workflow command (GitHub's `escapeData`). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a property value of a workflow command (GitHub's `escapeProperty`). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

type Level = 'error' | 'warning' | 'notice';

function command(level: Level, at: SourceLocation | undefined, title: string, message: string): string {
  const props = [
    ...(at ? [`file=${escapeProperty(at.file)}`, `line=${at.line}`, `col=${at.column}`] : []),
    `title=${escapeProperty(title)}`,
  ];
  const where = at?.construct ? ` (construct ${at.construct})` : '';
  return `::${level} ${props.join(',')}::${escapeData(message + where)}\n`;
}

export interface AnnotationOptions {
  /** The desired state the plan came from (for its projects' source positions). */
  readonly desired: DesiredState;
  /**
   * The entry a change of `project` is about, as the matcher paired them when planning (`planEntryLookup`);
   * undefined for an unmanaged key.
   */
  readonly entryOf: (project: string, change: Change) => KeySpec | undefined;
  /** Policy findings to annotate too (errors as errors, warnings as warnings). */
  readonly findings?: readonly PolicyFinding[];
}

/** Renders the annotations; one workflow command per line, in plan order, then the findings. */
export function renderAnnotations(plan: Plan, opts: AnnotationOptions): string {
  const projects = new Map(opts.desired.projects.map((p) => [p.token, p]));
  let out = '';
  for (const pp of plan.projects) {
    const project = projects.get(pp.project);
    for (const change of pp.changes) {
      const entry = opts.entryOf(pp.project, change);
      const at = entry?.source ?? project?.source;
      const name = `"${change.after.description}" in ${pp.project}`;
      const granted = change.kind === 'create' ? change.after.permissions : change.kind === 'update' ? change.permissionsAdded : [];
      for (const p of granted) {
        const reason = riskReason(p);
        if (reason) out += command('warning', at, `Risky grant: ${p}`, `${change.kind === 'create' ? 'new key' : 'key'} ${name} is granted ${p}: ${reason}`);
      }
      if (change.kind === 'rotate') {
        out += command('notice', at, 'Key rotated', `key ${name} (uuid ${change.uuid}) will be rotated: a successor is created, the old key stays active until ${change.offAfter}`);
      }
      if (change.kind === 'deactivate') {
        const why =
          change.reason === 'unmanaged'
            ? 'no manifest entry declares it (unmanaged: deactivate)'
            : change.reason === 'rotated'
              ? 'rotated out, its overlap is over'
              : change.reason === 'expired'
                ? "its entry's expires has come"
                : 'the manifest says active: false';
        out += command('notice', at, 'Key deactivated', `key ${name} (uuid ${change.uuid}) will be deactivated: ${why}`);
      }
    }
  }
  for (const f of opts.findings ?? []) out += command(f.severity, f.source, `Policy: ${f.ruleLabel}`, f.message);
  return out;
}
