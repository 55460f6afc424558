/**
 * The audit as GitHub Markdown (`audit --format markdown`, for a PR comment or a job summary): the summary,
 * then per project a key table (risk, active, age, owner, managed, drift, rotation/expiry, permissions by area) and the policy
 * findings. User text goes through `escapeMarkdown`. Pure.
 */
import { lifecyclePhrases, PERMISSION_AREAS, type AuditKey, type AuditReport } from '../audit/model';
import { escapeMarkdown } from './markdown';

const RISK_LABEL = { critical: '🔴 critical', high: '🟠 high', write: '🟡 write', read: '🟢 read' } as const;

function byArea(k: AuditKey): string {
  const parts = PERMISSION_AREAS.flatMap(({ area, permissions }) => {
    const held = permissions.filter((p) => k.permissions.includes(p));
    return held.length ? [`${area}: ${held.map((p) => `\`${p}\``).join(' ')}`] : [];
  });
  if (k.unknownPermissions.length) parts.push(`unknown: ${k.unknownPermissions.map((p) => escapeMarkdown(p)).join(' ')}`);
  return parts.join('<br>') || '—';
}

/** Renders the audit as Markdown. */
export function renderAuditMarkdown(report: AuditReport): string {
  const s = report.summary;
  const out: string[] = [
    '## Scaleflex key audit',
    '',
    `Generated ${report.generatedAt} · ${s.projects} project${s.projects === 1 ? '' : 's'} · ${s.keys} keys (${s.activeKeys} active)`,
    '',
    '| | count |',
    '|---|---:|',
    `| active keys holding \`ACCESS_MANAGE\` | ${s.accessManage} |`,
    ...(report.withManifest ? [`| active keys no manifest entry manages | ${s.unmanagedActive} |`, `| keys that drifted from the manifest | ${s.drifted} |`] : []),
    `| active keys older than ${report.olderThanDays} days | ${s.old} |`,
    `| inactive keys | ${s.inactive} |`,
    ...(report.withManifest
      ? [
          `| active keys due for rotation (overdue) | ${s.rotationOverdue} |`,
          `| active keys past their \`expires\` | ${s.expired} |`,
          `| active keys being rotated out (retiring) | ${s.retiring} |`,
          `| rotations and expiries due within ${report.warnWithinDays} days | ${s.dueSoon} |`,
        ]
      : []),
    `| policy errors / warnings | ${s.errors} / ${s.warnings} |`,
    '',
  ];
  for (const p of report.projects) {
    out.push(`### Project \`${p.token}\``, '');
    if (p.driftError !== undefined) out.push(`> Drift could not be computed: ${escapeMarkdown(p.driftError)}`, '');
    if (p.keys.length === 0) out.push('No keys.', '');
    else {
      out.push('| key | risk | active | age (days) | owner | managed | drift | rotation / expiry | permissions |', '|---|---|---|---:|---|---|---|---|---|');
      for (const k of p.keys) {
        out.push(
          `| ${escapeMarkdown(k.description)}<br>\`${k.uuid}\` | ${RISK_LABEL[k.risk]} | ${k.active ? 'yes' : 'no'} | ${k.ageDays} | ` +
            `${k.owner !== undefined ? escapeMarkdown(k.owner) : '—'} | ${report.withManifest ? (k.managed ? 'yes' : '**no**') : '—'} | ` +
            `${k.drift.length ? k.drift.map(escapeMarkdown).join('<br>') : '—'} | ${lifecyclePhrases(k).join('<br>') || '—'} | ${byArea(k)} |`,
        );
      }
      out.push('');
    }
    if (p.missing.length) out.push(`Declared but not live (plan would create): ${p.missing.map(escapeMarkdown).join(', ')}`, '');
    if (p.findings.length) {
      out.push('**Policy findings**', '');
      for (const f of p.findings) {
        const at = f.source ? ` (\`${f.source.file}:${f.source.line}:${f.source.column}\`)` : '';
        out.push(`- ${f.severity === 'error' ? '❌ error' : '⚠️ warning'}${at}: ${escapeMarkdown(f.message)}`);
      }
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
