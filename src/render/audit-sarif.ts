/**
 * Policy findings as SARIF 2.1.0 (`audit --format sarif`) for GitHub code scanning: one result per finding,
 * anchored at the key's manifest line, one reporting rule per policy rule kind. `partialFingerprints` hash what
 * identifies a finding (project, rule, key, rule text) and not its line, so re-runs and moved lines update an
 * alert instead of opening a new one. Pure.
 */
import { createHash } from 'node:crypto';
import type { AuditReport } from '../audit/model';
import { POLICY_RULE_KINDS } from '../policy/rules';

const RULE_HELP: Readonly<Record<(typeof POLICY_RULE_KINDS)[number], string>> = {
  forbid: 'No key may hold these permissions, except keys whose description matches an `except` pattern.',
  requireJustification: 'Keys holding risky (or the listed) permissions must say why in `justification`.',
  requireOwner: 'Every key must name an `owner`.',
  maxPermissions: 'No key may hold more than this many permissions.',
  descriptionPattern: 'Every key description must match the pattern.',
  maxAge: 'Active live keys older than this should be rotated.',
};

/** Renders the audit's policy findings as a SARIF 2.1.0 log; `version` is the tool version. */
export function renderAuditSarif(report: AuditReport, opts: { version: string }): string {
  const results = report.projects.flatMap((p) =>
    p.findings.map((f) => ({
      ruleId: `scaleflex-keys/${f.rule}`,
      ruleIndex: POLICY_RULE_KINDS.indexOf(f.rule),
      level: f.severity === 'error' ? 'error' : 'warning',
      message: { text: f.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: (f.source?.file ?? 'scaleflex-keys.yaml').replace(/\\/g, '/') },
            region: { startLine: f.source?.line ?? 1, startColumn: f.source?.column ?? 1 },
          },
          ...(f.construct ? { logicalLocations: [{ fullyQualifiedName: f.construct, kind: 'resource' }] } : {}),
        },
      ],
      partialFingerprints: {
        'scaleflexKeysFinding/v1': createHash('sha256')
          .update(JSON.stringify([p.token, f.ruleLabel, f.uuid ?? '', f.description]))
          .digest('hex'),
      },
      properties: { project: p.token, key: f.description, ...(f.uuid ? { uuid: f.uuid } : {}) },
    })),
  );
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'scaleflex-keys',
            version: opts.version,
            informationUri: 'https://github.com/scaleflex/scaleflex-keys',
            rules: POLICY_RULE_KINDS.map((kind) => ({
              id: `scaleflex-keys/${kind}`,
              name: kind,
              shortDescription: { text: `policy rule ${kind}` },
              fullDescription: { text: RULE_HELP[kind] },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
