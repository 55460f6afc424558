/**
 * Markdown rendering of a plan for a GitHub pull-request comment: a summary table, a warning listing risky
 * grants, then one section per project with changes, each key with its permission diff (risky grants flagged
 * from the one table in `./risk`). Long sections are folded in `<details>`. Descriptions are user text: every
 * Markdown-special character is escaped and `@` cannot mention anyone.
 */
import { deliveryLine } from '../delivery';
import type { Permission } from '../model';
import { changesByKey, countChanges, type KeyChangeGroup } from '../reconcile/build';
import type { GuardViolation, Plan, ProjectPlan } from '../model';
import { projectNotes } from './notes';
import { riskReason } from './risk';
import { revealHidden } from './visible';
import { summaryLine, unplannedLine } from './text';

/** A project's key list is folded once it has more entries than this. */
export const FOLD_AFTER_KEYS = 15;
/** At most this many risky grants are listed in the warning at the top; the rest are counted. */
const MAX_LISTED_RISKS = 10;

export interface MarkdownRenderOptions {
  /** Guard refusals to show at the top (from `checkGuards`), if any. */
  readonly violations?: readonly GuardViolation[];
  /** Longest comment to produce; default 60,000 characters (GitHub's limit is 65,536). */
  readonly maxChars?: number;
  /** Projects that could not be planned; the comment says so instead of claiming they match. */
  readonly unplanned?: readonly string[];
}

/** Default size budget of a comment, below GitHub's 65,536-character limit. */
export const MAX_COMMENT_CHARS = 60_000;
/** Room kept for the truncation notes and closing tags. */
const TRUNCATION_RESERVE = 600;

/**
 * Escapes user text for GitHub Markdown, in running text and in table cells: ASCII punctuation that Markdown
 * reads is backslash-escaped, `<` and `&` become entities (no HTML), `@` gets a zero-width space (no mentions),
 * line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  // Line breaks become spaces, other hidden characters visible `\uXXXX` text, then everything Markdown reads is escaped.
  return revealHidden(text.replace(/\r\n|\r|\n/g, ' '))
    .replace(/[\\`*_{}[\]()#+\-.!|~>]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/@/g, '@&#8203;');
}

/** Inline code for text we generate (uuids, previews, URLs, tokens): a fence longer than any backtick run inside. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\r\n|\r|\n/g, ' ')}${pad}${fence}`;
}

const desc = (d: string): string => `“${escapeMarkdown(d)}”`;

function grant(p: Permission): string {
  const reason = riskReason(p);
  return reason ? `➕ ${code(p)} ⚠️ **risky:** ${reason}` : `➕ ${code(p)}`;
}

function keyItem(g: KeyChangeGroup, project: ProjectPlan): string[] {
  const lines: string[] = [];
  if (!g.key) {
    lines.push(`- ➕ **Create** ${desc(g.after.description)} (${g.after.active ? 'active' : 'inactive'})`);
    if (g.after.permissions.length === 0) lines.push('  - no permissions');
    for (const p of g.after.permissions) lines.push(`  - ${grant(p)}`);
    for (const d of g.create?.deliveries ?? []) lines.push(`  - 📤 secret delivered → ${code(deliveryLine(d))}`);
    return lines;
  }
  const head = g.symbol === '-' ? '⛔ **Deactivate**' : '✏️ **Change**';
  const own = g.key.uuid === project.selfUuid ? ' · 🔑 the key scaleflex-keys authenticates with' : '';
  lines.push(`- ${head} ${desc(g.after.description)} · uuid ${code(g.key.uuid)} · secret ${code(g.key.secretPreview)}${own}`);
  if (g.rotate) {
    const r = g.rotate;
    lines.push(`  - 🔄 rotate (${r.trigger === 'due' ? `due: created ${code(r.createdAt)}` : 'on demand'}): renamed from ${desc(r.before.description)}`);
    lines.push(`  - ➕ successor ${desc(r.successor.description)} with the same ${r.successor.permissions.length} permission${r.successor.permissions.length === 1 ? '' : 's'}, active`);
    for (const d of r.deliveries ?? []) lines.push(`  - 📤 secret delivered → ${code(deliveryLine(d))}`);
    lines.push(`  - the old key stays active until ${code(r.offAfter)}; the first plan after that deactivates it`);
  }
  if (g.update) {
    const u = g.update;
    if (u.before.description !== u.after.description) lines.push(`  - renamed from ${desc(u.before.description)}`);
    for (const p of u.permissionsAdded) lines.push(`  - ${grant(p)}`);
    for (const p of u.permissionsRemoved) lines.push(`  - ➖ ${code(p)}`);
  }
  if (g.status) {
    const s = g.status;
    if (s.kind === 'activate') lines.push('  - activate (inactive → active)');
    else if (s.reason === 'declared-inactive') lines.push('  - deactivate: the manifest declares `active: false`');
    else if (s.reason === 'duplicate') lines.push('  - deactivate: a duplicate an interrupted race left (renamed and retired)');
    else if (s.reason === 'rotated') lines.push('  - deactivate: rotated out, its overlap is over and its successor is active');
    else if (s.reason === 'expired') lines.push("  - deactivate: expired (the entry's `expires` has come)");
    else lines.push('  - deactivate: not in the manifest (`unmanaged: deactivate`)');
  }
  return lines;
}

interface RiskyGrant {
  project: string;
  description: string;
  permission: Permission;
}

function riskyGrants(plan: Plan): RiskyGrant[] {
  const found: RiskyGrant[] = [];
  for (const p of plan.projects) {
    for (const c of p.changes) {
      const granted = c.kind === 'create' ? c.after.permissions : c.kind === 'update' ? c.permissionsAdded : [];
      for (const permission of granted) {
        if (riskReason(permission)) found.push({ project: p.project, description: c.after.description, permission });
      }
    }
  }
  return found;
}

/**
 * Renders `plan` as a GitHub PR comment. Deterministic: same plan, same text. Stays within `maxChars`
 * (60,000 by default) by leaving out whole keys at the end and saying so.
 */
export function renderMarkdown(plan: Plan, opts: MarkdownRenderOptions = {}): string {
  const maxChars = opts.maxChars ?? MAX_COMMENT_CHARS;
  const out: string[] = ['## scaleflex-keys plan', ''];
  const counts = countChanges(plan);
  const unplanned = opts.unplanned ?? [];
  out.push(
    counts.create + counts.change + counts.deactivate === 0 && unplanned.length === 0
      ? '**No changes.** Live keys match the manifest.'
      : `**${summaryLine(counts, unplanned.length)}**`,
    '',
  );
  const notPlanned = unplannedLine(unplanned.map((t) => code(t)));
  if (notPlanned) out.push('> [!CAUTION]', `> ${notPlanned} See the job log for why.`, '');

  if (opts.violations && opts.violations.length > 0) {
    out.push('> [!CAUTION]', `> Apply will refuse this plan (${opts.violations.length} guard refusal${opts.violations.length === 1 ? '' : 's'}):`);
    for (const v of opts.violations) out.push(`> - ${escapeMarkdown(v.message)}`);
    out.push('');
  }

  const risks = riskyGrants(plan);
  if (risks.length > 0) {
    out.push('> [!WARNING]', `> This plan grants ${risks.length} risky permission${risks.length === 1 ? '' : 's'}:`);
    for (const r of risks.slice(0, MAX_LISTED_RISKS)) {
      out.push(`> - ${code(r.permission)} to ${desc(r.description)} in ${code(r.project)}`);
    }
    if (risks.length > MAX_LISTED_RISKS) out.push(`> - … and ${risks.length - MAX_LISTED_RISKS} more, flagged ⚠️ below`);
    out.push('');
  }

  if (plan.projects.length > 0) {
    out.push('| Project | Create | Change | Deactivate |', '|:--|--:|--:|--:|');
    for (const p of plan.projects) {
      const c = countChanges(p);
      out.push(`| ${code(p.project)} | ${c.create} | ${c.change} | ${c.deactivate} |`);
    }
    out.push('');
  }

  // GitHub refuses comments over 65,536 characters: key lists stop at the budget, never half-way through a key.
  let budget = maxChars - out.join('\n').length;
  let omitted = 0;
  for (const p of plan.projects) {
    if (p.changes.length === 0) continue;
    const groups = changesByKey(p);
    const c = countChanges(p);
    out.push(`### Project ${code(p.project)}`, '');
    out.push(
      `API ${code(p.apiUrl)} · ${p.liveKeys} live key${p.liveKeys === 1 ? '' : 's'}, ${p.liveActive} active · ` +
        `live state ${code(p.liveFingerprint.slice(0, 19))}`,
      '',
    );
    budget -= 200 + p.apiUrl.length;
    const notes = projectNotes(p);
    if (notes.length) out.push('> [!WARNING]', ...notes.map((n) => `> ${escapeMarkdown(n)}`), '');
    const items: string[] = [];
    let shown = 0;
    for (const g of groups) {
      const lines = keyItem(g, p);
      const size = lines.reduce((n, l) => n + l.length + 1, 0);
      if (size > budget - TRUNCATION_RESERVE) break;
      budget -= size;
      items.push(...lines);
      shown++;
    }
    if (shown < groups.length) {
      omitted += groups.length - shown;
      items.push(`- … ${groups.length - shown} more key${groups.length - shown === 1 ? '' : 's'} not shown here`);
    }
    if (groups.length > FOLD_AFTER_KEYS) {
      out.push(
        '<details>',
        `<summary>${c.create} to create, ${c.change} to change, ${c.deactivate} to deactivate (${groups.length} keys)</summary>`,
        '',
        ...items,
        '',
        '</details>',
        '',
      );
    } else {
      out.push(...items, '');
    }
  }
  if (omitted > 0) {
    out.push(
      `_This comment leaves out ${omitted} key${omitted === 1 ? '' : 's'} to stay within GitHub's size limit; ` +
        'run `scaleflex-keys plan` (text) or `--format json` for the full plan._',
      '',
    );
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
