/**
 * The audit as JSON (`audit --format json`): the `AuditReport` value with `format_version`, snake_case keys and
 * a fixed key order, so two runs over the same account diff cleanly. Pure.
 */
import type { AuditReport } from '../audit/model';

/** Renders the audit as pretty-printed JSON with a trailing newline. */
export function renderAuditJson(report: AuditReport): string {
  const doc = {
    format_version: 1,
    generated_at: report.generatedAt,
    older_than_days: report.olderThanDays,
    warn_within_days: report.warnWithinDays,
    with_manifest: report.withManifest,
    summary: {
      projects: report.summary.projects,
      keys: report.summary.keys,
      active_keys: report.summary.activeKeys,
      access_manage: report.summary.accessManage,
      unmanaged_active: report.summary.unmanagedActive,
      old: report.summary.old,
      inactive: report.summary.inactive,
      drifted: report.summary.drifted,
      errors: report.summary.errors,
      warnings: report.summary.warnings,
      rotation_overdue: report.summary.rotationOverdue,
      expired: report.summary.expired,
      retiring: report.summary.retiring,
      due_soon: report.summary.dueSoon,
    },
    projects: report.projects.map((p) => ({
      project: p.token,
      ...(p.driftError !== undefined ? { drift_error: p.driftError } : {}),
      missing: p.missing,
      keys: p.keys.map((k) => ({
        uuid: k.uuid,
        description: k.description,
        active: k.active,
        risk: k.risk,
        created_at: k.createdAt,
        age_days: k.ageDays,
        secret_preview: k.secretPreview,
        managed: k.managed,
        owner: k.owner ?? null,
        purpose: k.purpose ?? null,
        source: k.source ? { file: k.source.file, line: k.source.line, column: k.source.column, ...(k.source.construct ? { construct: k.source.construct } : {}) } : null,
        permissions: k.permissions,
        unknown_permissions: k.unknownPermissions,
        drift: k.drift,
        findings: k.findings,
        lifecycle: {
          rotation: k.lifecycle.rotation ? { due_at: k.lifecycle.rotation.dueAt, state: k.lifecycle.rotation.state } : null,
          retiring: k.lifecycle.retiring
            ? { rotated_on: k.lifecycle.retiring.rotatedOn, off_after: k.lifecycle.retiring.offAfter, past_deadline: k.lifecycle.retiring.pastDeadline }
            : null,
          expiry: k.lifecycle.expiry ? { at: k.lifecycle.expiry.at, state: k.lifecycle.expiry.state } : null,
        },
      })),
      findings: p.findings.map((f) => ({
        rule: f.rule,
        rule_label: f.ruleLabel,
        severity: f.severity,
        description: f.description,
        uuid: f.uuid ?? null,
        message: f.message,
        source: f.source ? { file: f.source.file, line: f.source.line, column: f.source.column, ...(f.construct ? { construct: f.construct } : {}) } : null,
      })),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
