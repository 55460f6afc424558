/**
 * The audit as CSV (`audit --format csv`): one row per live key, and with `--findings` one more row per policy
 * finding, under one documented header (README "Audit and policy"). The rotation/expiry columns come last, so
 * the earlier columns keep their positions for existing consumers. RFC 4180 quoting by csv-stringify; a cell
 * that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`, because
 * descriptions come from whoever could create a key. Pure.
 */
import { stringify } from 'csv-stringify/sync';
import type { AuditReport } from '../audit/model';

/** The CSV columns, in order. `row` is `key` or `finding`; finding rows leave key-only columns empty. */
export const AUDIT_CSV_COLUMNS = Object.freeze([
  'row', 'project', 'uuid', 'description', 'active', 'risk', 'created_at', 'age_days', 'owner', 'purpose', 'managed',
  'drift', 'permissions', 'findings', 'rule', 'severity', 'message', 'file', 'line', 'column',
  'rotation_due', 'rotation', 'off_after', 'expires', 'expiry',
] as const);

function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** Renders the audit as CSV (header first, `\n` line ends); `findings` adds one row per policy finding. */
export function renderAuditCsv(report: AuditReport, opts: { findings?: boolean } = {}): string {
  const rows: string[][] = [];
  for (const p of report.projects) {
    for (const k of p.keys) {
      const row: Record<(typeof AUDIT_CSV_COLUMNS)[number], string | number | boolean | undefined> = {
        row: 'key', project: p.token, uuid: k.uuid, description: k.description, active: k.active, risk: k.risk,
        created_at: k.createdAt, age_days: k.ageDays, owner: k.owner, purpose: k.purpose,
        managed: report.withManifest ? k.managed : undefined, drift: k.drift.join('; '),
        permissions: [...k.permissions, ...k.unknownPermissions].join(' '), findings: k.findings,
        rule: undefined, severity: undefined, message: undefined,
        file: k.source?.file, line: k.source?.line, column: k.source?.column,
        rotation_due: k.lifecycle.rotation?.dueAt, rotation: k.lifecycle.rotation?.state,
        off_after: k.lifecycle.retiring?.offAfter, expires: k.lifecycle.expiry?.at, expiry: k.lifecycle.expiry?.state,
      };
      rows.push(AUDIT_CSV_COLUMNS.map((c) => cell(row[c])));
    }
    if (!opts.findings) continue;
    for (const f of p.findings) {
      const row: Partial<Record<(typeof AUDIT_CSV_COLUMNS)[number], string | number>> = {
        row: 'finding', project: p.token, uuid: f.uuid, description: f.description, rule: f.rule, severity: f.severity,
        message: f.message, file: f.source?.file, line: f.source?.line, column: f.source?.column,
      };
      rows.push(AUDIT_CSV_COLUMNS.map((c) => cell(row[c])));
    }
  }
  return stringify([[...AUDIT_CSV_COLUMNS], ...rows], { record_delimiter: '\n' });
}
