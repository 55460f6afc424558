/**
 * A labelled plan (see `src/audit/labels.ts`) for reviewers: text and Markdown group the changes into "This pull
 * request changes…" (intent, and intent+drift) and "Reverts changes made outside git…" (drift, and
 * intent+drift), with policy changes called out at the top; JSON is the plan document with an `origin` field
 * on every change and a top-level `policy_changes`. Pure.
 */
import type { Change, Plan } from '../model';
import type { ChangeOrigin, PolicyChanges, ProjectLabels } from '../audit/labels';
import { escapeMarkdown } from './markdown';

function describe(c: Change): string {
  const name = `"${c.after.description}"`;
  switch (c.kind) {
    case 'create':
      return `create ${name} with ${c.after.permissions.join(', ') || 'no permissions'}`;
    case 'update': {
      const parts = [
        ...(c.before.description !== c.after.description ? [`rename from "${c.before.description}"`] : []),
        ...c.permissionsAdded.map((p) => `+${p}`),
        ...c.permissionsRemoved.map((p) => `-${p}`),
      ];
      return `update ${name} (${c.uuid}): ${parts.join(' ')}`;
    }
    case 'activate':
      return `activate ${name} (${c.uuid})`;
    case 'deactivate':
      return `deactivate ${name} (${c.uuid})${c.reason === 'unmanaged' ? ', not declared' : c.reason === 'rotated' ? ', rotated out' : c.reason === 'expired' ? ', expired' : ''}`;
    case 'rotate':
      return `rotate "${c.before.description}" (${c.uuid}): renamed ${name}, successor created, off after ${c.offAfter}`;
  }
}

interface Grouped {
  intent: string[];
  drift: string[];
}

function group(plan: Plan, labels: readonly ProjectLabels[], line: (project: string, c: Change, origin: ChangeOrigin) => string): Grouped {
  const out: Grouped = { intent: [], drift: [] };
  plan.projects.forEach((pp, i) => {
    const origins = labels[i]?.origins ?? [];
    pp.changes.forEach((c, j) => {
      const origin = origins[j] ?? 'intent';
      if (origin !== 'drift') out.intent.push(line(pp.project, c, origin));
      if (origin !== 'intent') out.drift.push(line(pp.project, c, origin));
    });
  });
  return out;
}

/** The labelled plan as plain text. */
export function renderLabelledText(plan: Plan, labels: readonly ProjectLabels[], policy?: PolicyChanges): string {
  const out: string[] = [];
  if (policy && (policy.added.length || policy.removed.length)) {
    out.push('This pull request changes the policy:');
    for (const r of policy.added) out.push(`  + ${r}`);
    for (const r of policy.removed) out.push(`  - ${r}`);
    out.push('');
  }
  const g = group(plan, labels, (project, c, origin) => `  ${project}: ${describe(c)}${origin === 'intent+drift' ? '  [also reverts a change made outside git]' : ''}`);
  out.push(g.intent.length ? 'This pull request changes:' : 'This pull request changes no key.', ...g.intent, '');
  if (g.drift.length) {
    out.push('Reverts changes made outside git (live differs from the target branch\'s manifest too; applying undoes them):', ...g.drift, '');
  }
  for (const l of labels) if (l.baseError) out.push(`note: ${l.project}: the target branch's manifest could not be planned, so its changes count as intent: ${l.baseError}`);
  return `${out.join('\n').trimEnd()}\n`;
}

/** The labelled plan as GitHub Markdown. */
export function renderLabelledMarkdown(plan: Plan, labels: readonly ProjectLabels[], policy?: PolicyChanges): string {
  const out: string[] = [];
  if (policy && (policy.added.length || policy.removed.length)) {
    out.push('> [!IMPORTANT]', '> **This pull request changes the policy.**', '>');
    for (const r of policy.added) out.push(`> - added: ${escapeMarkdown(r)}`);
    for (const r of policy.removed) out.push(`> - removed: ${escapeMarkdown(r)}`);
    out.push('');
  }
  const g = group(plan, labels, (project, c, origin) => `- \`${project}\`: ${escapeMarkdown(describe(c))}${origin === 'intent+drift' ? ' *(also reverts a change made outside git)*' : ''}`);
  out.push('### This pull request changes…', '', ...(g.intent.length ? g.intent : ['No key.']), '');
  if (g.drift.length) {
    out.push('### Reverts changes made outside git…', '', 'The live keys differ from the target branch\'s manifest here too: someone changed them in the hub. Applying undoes that.', '', ...g.drift, '');
  }
  for (const l of labels) if (l.baseError) out.push(`> Note: \`${l.project}\`: the target branch's manifest could not be planned; its changes count as intent.`, '');
  return `${out.join('\n').trimEnd()}\n`;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Adds the labels to a plan document (`planToDocument(plan)`, whose changes keep the plan's order): `origin` on
 * every change, and `policy_changes: {added, removed}` at the top when given.
 */
export function labelPlanDocument(doc: Json, labels: readonly ProjectLabels[], policy?: PolicyChanges): Json {
  const d = doc as { projects: { changes: { [k: string]: Json }[] }[]; [k: string]: Json | unknown };
  const projects = d.projects.map((p, i) => ({ ...p, changes: p.changes.map((c, j) => ({ ...c, origin: labels[i]?.origins[j] ?? 'intent' })) }));
  return { ...(d as object), projects, ...(policy ? { policy_changes: { added: [...policy.added], removed: [...policy.removed] } } : {}) } as Json;
}
