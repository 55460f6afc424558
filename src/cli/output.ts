/**
 * What the commands print about plans and applies, shared so that no command imports another: the plan in the
 * chosen format (renderers loaded once there is a plan), per-project errors, guard refusals, and one line per
 * applied change. Never a secret: plans, events and errors carry none, and `Io` redacts everything anyway.
 */
import type { ApplyEvent } from '../reconcile';
import type { Change, GuardViolation, Plan } from '../model';
import { renderJson, renderMarkdown, renderText } from '../render';
import { type Io, useColor } from './io';

const quote = (s: string): string => JSON.stringify(s);

/** A change as a failure report names it: what it was to do, to which key. */
export function describeChange(c: Change): string {
  return c.kind === 'create' ? `create ${quote(c.after.description)}` : `${c.kind} ${quote(c.before.description)} (uuid ${c.uuid})`;
}

const DEACTIVATED_WHY: Readonly<Record<string, string>> = {
  'declared-inactive': '',
  unmanaged: ', not in the manifest',
  duplicate: ', a duplicate left by an interrupted race',
  rotated: ', rotated out: its overlap is over',
  expired: ', expired',
};

/** One line per completed (or failed) change; never a secret (events carry none). Skipped changes print nothing. */
export function eventLine(e: ApplyEvent): string | undefined {
  const c = e.change;
  if (e.status === 'skipped') return undefined;
  if (e.status === 'failed') return `  ! ${describeChange(c)} failed: ${e.error?.message ?? 'unknown error'}`;
  switch (c.kind) {
    case 'create':
      return `  + created ${quote(c.after.description)}${e.uuid ? ` (uuid ${e.uuid})` : ''}`;
    case 'update': {
      const what =
        c.before.description !== c.after.description
          ? `renamed ${quote(c.before.description)} -> ${quote(c.after.description)}`
          : `updated ${quote(c.after.description)}`;
      const perms = [...c.permissionsAdded.map((p) => `+${p}`), ...c.permissionsRemoved.map((p) => `-${p}`)];
      return `  ~ ${what} (uuid ${c.uuid})${perms.length ? `: ${perms.join(' ')}` : ''}`;
    }
    case 'activate':
      return `  ~ activated ${quote(c.after.description)} (uuid ${c.uuid})`;
    case 'deactivate':
      return `  - deactivated ${quote(c.after.description)} (uuid ${c.uuid})${DEACTIVATED_WHY[c.reason]}`;
    case 'rotate':
      return (
        `  ~ rotated ${quote(c.before.description)}: uuid ${c.uuid} renamed ${quote(c.after.description)}` +
        `${e.uuid ? `, successor uuid ${e.uuid}` : ''}`
      );
  }
}

/** The message of an error as the CLI shows it, prefixed with the project unless it already names it. */
export function projectErrorLines(token: string, error: unknown): string {
  const e = error as { message?: string; hint?: string };
  const message = e?.message ?? String(error);
  const head = message.startsWith(`project ${token}`) ? message : `project ${token}: ${message}`;
  return `error: ${head}\n${e?.hint ? `hint: ${e.hint}\n` : ''}`;
}

/** The plan in `format`. Text and Markdown show the guard refusals with it; JSON stays the plain documented plan. */
export async function renderPlan(
  plan: Plan,
  format: 'text' | 'json' | 'markdown',
  io: Io,
  violations: readonly GuardViolation[] = [],
  unplanned: readonly string[] = [],
): Promise<string> {
  if (format === 'json') return renderJson(plan);
  if (format === 'markdown') return renderMarkdown(plan, { violations, unplanned });
  return renderText(plan, { color: useColor(io), violations, unplanned });
}

/** One project's outcome as the commands report it: a plan with its guard refusals, or the error that stopped it. */
export interface Reported {
  readonly token: string;
  readonly violations: readonly GuardViolation[];
  readonly error?: unknown;
}

/** Prints each failed project's error (in project order), and the guard refusals unless the plan already showed them. */
export function reportProblems(outcomes: readonly Reported[], io: Io, violationsShown: boolean): void {
  for (const o of [...outcomes].sort((a, b) => (a.token < b.token ? -1 : 1))) {
    if (o.error !== undefined) io.err(projectErrorLines(o.token, o.error));
    if (violationsShown) continue;
    for (const v of o.violations) {
      io.err(`error: guard ${v.guard} refused: ${v.message}\n${v.flag ? `hint: ${v.flag} overrides this guard\n` : ''}`);
    }
  }
}

/** Every guard refusal, in project order. */
export function allViolations(outcomes: readonly Reported[]): GuardViolation[] {
  return [...outcomes].sort((a, b) => (a.token < b.token ? -1 : 1)).flatMap((o) => o.violations);
}
