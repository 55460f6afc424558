/**
 * Terraform-like text rendering of a plan, for terminals and CI logs.
 *
 * `+` a new key, `~` an existing key changed (renamed, re-permissioned, activated, rotated), `-` an existing key
 * deactivated; each permission on its own line with `+`/`-`; where a new key's secret will be delivered (`→`). Keys are shown by description (JSON-quoted, so
 * control characters cannot reach the terminal), uuid and the API's masked preview. Projects come in plan order
 * (sorted by token); colour only when the caller asks for it.
 */
import { deliveryLine } from '../delivery';
import { changesByKey, countChanges, type KeyChangeGroup } from '../reconcile/build';
import { projectNotes } from './notes';
import { riskReason } from './risk';
import { quoteVisible } from './visible';
import type { ChangeCounts, Delivery, GuardViolation, Plan, ProjectPlan } from '../model';

export interface TextRenderOptions {
  /** ANSI colours; the caller decides (stdout is a TTY and NO_COLOR is unset). */
  readonly color: boolean;
  /** Guard refusals to show after the plan (from `checkGuards`), if any. */
  readonly violations?: readonly GuardViolation[];
  /** Projects that could not be planned (their errors go to stderr); the plan must not claim they match. */
  readonly unplanned?: readonly string[];
}

const ANSI = { green: '\u001b[32m', yellow: '\u001b[33m', red: '\u001b[31m', bold: '\u001b[1m', dim: '\u001b[2m', reset: '\u001b[0m' };
type Paint = (style: keyof typeof ANSI, text: string) => string;

/**
 * `Plan: 2 to create, 1 to change, 3 to deactivate.` or the no-changes sentence — which claims the live keys match
 * only when every project was planned.
 */
export function summaryLine(counts: ChangeCounts, unplanned = 0): string {
  if (counts.create + counts.change + counts.deactivate > 0) {
    return `Plan: ${counts.create} to create, ${counts.change} to change, ${counts.deactivate} to deactivate.`;
  }
  return unplanned === 0 ? 'No changes. Live keys match the manifest.' : 'No changes in the projects that could be planned.';
}

/** The sentence naming projects left out of a plan because they could not be planned, or undefined. */
export function unplannedLine(unplanned: readonly string[] | undefined): string | undefined {
  if (!unplanned || unplanned.length === 0) return undefined;
  const n = unplanned.length;
  return `${n} project${n === 1 ? '' : 's'} could not be planned and ${n === 1 ? 'is' : 'are'} not shown: ${unplanned.join(', ')}.`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const quote = quoteVisible;

/** The risk flag under a granted permission (its own line), as the Markdown plan flags it. */
function risky(p: string, paint: Paint): string {
  const reason = riskReason(p);
  return reason ? `\n${paint('yellow', `          # risky: ${reason}`)}` : '';
}


/** Where a new secret (a created key's, a rotation successor's) will be delivered. */
function deliveryLines(deliveries: readonly Delivery[] | undefined): string[] {
  if (!deliveries?.length) return [];
  return ['      deliver the new secret:', ...deliveries.map((d) => `        → ${deliveryLine(d)}`)];
}
function keyBlock(g: KeyChangeGroup, project: ProjectPlan, paint: Paint): string[] {
  const colour = g.symbol === '+' ? 'green' : g.symbol === '~' ? 'yellow' : 'red';
  const sym = paint(colour, g.symbol);
  const add = paint('green', '+');
  const remove = paint('red', '-');
  const lines: string[] = [];
  if (!g.key) {
    lines.push(`  ${sym} key ${quote(g.after.description)}`);
    lines.push(`      active: ${g.after.active}`);
    if (g.after.permissions.length === 0) lines.push('      permissions: (none)');
    else {
      lines.push('      permissions:');
      for (const p of g.after.permissions) lines.push(`        ${add} ${p}${risky(p, paint)}`);
    }
    lines.push(...deliveryLines(g.create?.deliveries));
    return lines;
  }
  const own = g.key.uuid === project.selfUuid ? '  (the key scaleflex-keys authenticates with)' : '';
  lines.push(`  ${sym} key ${quote(g.after.description)}  uuid ${g.key.uuid}  secret ${g.key.secretPreview}${own}`);
  if (g.rotate) {
    const r = g.rotate;
    lines.push(`      rotate: ${r.trigger === 'due' ? `due (created ${r.createdAt})` : 'on demand'}`);
    lines.push(`      description: ${quote(r.before.description)} -> ${quote(r.after.description)}`);
    lines.push(`      ${add} successor key ${quote(r.successor.description)}, the same ${plural(r.successor.permissions.length, 'permission')}, active`);
    lines.push(...deliveryLines(r.deliveries));
    lines.push(paint('dim', `      # the old key stays active until ${r.offAfter}; the first plan after that deactivates it`));
  }
  if (g.update) {
    const u = g.update;
    if (u.before.description !== u.after.description) {
      lines.push(`      description: ${quote(u.before.description)} -> ${quote(u.after.description)}`);
    }
    if (u.permissionsAdded.length + u.permissionsRemoved.length > 0) {
      lines.push('      permissions:');
      for (const p of u.permissionsAdded) lines.push(`        ${add} ${p}${risky(p, paint)}`);
      for (const p of u.permissionsRemoved) lines.push(`        ${remove} ${p}`);
      const unchanged = u.after.permissions.length - u.permissionsAdded.length;
      if (unchanged > 0) lines.push(paint('dim', `        # (${plural(unchanged, 'unchanged permission')} hidden)`));
    }
  }
  if (g.status) {
    const s = g.status;
    const why =
      s.kind === 'activate'
        ? ''
        : s.reason === 'declared-inactive'
          ? '  (declared active: false)'
          : s.reason === 'duplicate'
            ? '  (a duplicate an interrupted race left: renamed and retired)'
            : s.reason === 'rotated'
              ? '  (rotated out: its overlap is over and its successor is active)'
              : s.reason === 'expired'
                ? '  (expired: its entry\'s expires has come)'
                : '  (not in the manifest; unmanaged: deactivate)';
    lines.push(`      active: ${s.before.active} -> ${s.after.active}${why}`);
  }
  return lines;
}

/**
 * Renders `plan` as Terraform-like text ending with `Plan: N to create, N to change, N to deactivate.` or
 * `No changes. Live keys match the manifest.`; guard refusals, if given, follow.
 */
export function renderText(plan: Plan, opts: TextRenderOptions): string {
  const paint: Paint = opts.color ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}` : (_style, text) => text;
  const out: string[] = [];
  const counts = countChanges(plan);
  const quiet: string[] = [];
  const busy = plan.projects.filter((p) => {
    if (p.changes.length > 0) return true;
    quiet.push(p.project);
    return false;
  });
  if (busy.length > 0) {
    out.push('scaleflex-keys will perform the following actions (+ create, ~ change, - deactivate):', '');
    for (const p of busy) {
      const pc = countChanges(p);
      out.push(
        paint('bold', `Project ${p.project}`) +
          ` (${p.apiUrl}): ${plural(p.liveKeys, 'live key')}, ${p.liveActive} active; ` +
          `${pc.create} to create, ${pc.change} to change, ${pc.deactivate} to deactivate`,
        '',
      );
      const notes = projectNotes(p);
      for (const n of notes) out.push(paint('yellow', `  warning: ${n}`));
      if (notes.length) out.push('');
      for (const g of changesByKey(p)) out.push(...keyBlock(g, p, paint), '');
    }
    if (quiet.length > 0) out.push(`No changes in ${plural(quiet.length, 'other project')}: ${quiet.join(', ')}.`, '');
  }
  const notPlanned = unplannedLine(opts.unplanned);
  if (notPlanned) out.push(paint('red', notPlanned));
  out.push(paint('bold', summaryLine(counts, opts.unplanned?.length ?? 0)));
  if (opts.violations && opts.violations.length > 0) {
    out.push('', paint('red', `Refused by ${plural(opts.violations.length, 'guard')}:`));
    for (const v of opts.violations) out.push(`  ${paint('red', '!')} ${v.message}`);
  }
  return `${out.join('\n')}\n`;
}
