/**
 * A plan (and its policy findings) as GitHub workflow commands, anchored at manifest lines: `plan --format
 * github`. A warning for each risky grant (risk.ts), an error for each policy error (a warning for each policy
 * warning), a notice for each deactivation. Plan changes carry no positions, so each change is matched to its
 * KeySpec within the project (uuid pin, else description, else a former description) and takes the entry's
 * `source`; CDKTF entries name their construct path. Pure.
 */
import { parseRetiring } from '../reconcile/rotation';
import type { Change, DesiredState, KeySpec, Plan, ProjectSpec, SourceLocation } from '../model';
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

/** The entry a plan change is about, within its project; undefined for a create of nothing or an unmanaged key. */
export function entryForChange(project: ProjectSpec, change: Change): KeySpec | undefined {
  if (change.kind !== 'create') {
    const uuid = change.uuid.toLowerCase();
    const pinned = project.keys.find((k) => k.uuid?.toLowerCase() === uuid);
    if (pinned) return pinned;
    if (change.kind === 'deactivate' && change.reason === 'unmanaged') return undefined;
  }
  // A rotated key (or one being rotated) belongs to the entry its retirement description names.
  const retiring = change.kind !== 'create' ? parseRetiring(change.after.description) : undefined;
  const description = retiring?.description ?? change.after.description;
  return (
    project.keys.find((k) => k.uuid === undefined && k.description === description) ??
    (change.kind !== 'create' ? project.keys.find((k) => k.uuid === undefined && k.formerDescriptions.includes(change.before.description)) : undefined)
  );
}

export interface AnnotationOptions {
  /** The desired state the plan came from (for source positions). */
  readonly desired: DesiredState;
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
      const entry = project ? entryForChange(project, change) : undefined;
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
