/**
 * `scaleflex-keys audit [-f FILE | --from-cdktf FILE] [--policy FILE] [--project T]... --format
 * markdown|html|csv|json|sarif [--out FILE] [--findings] [--older-than DAYS] [--now T] [--warn-within D]`: reads
 * the live keys of each project (a read-only key is enough), and where given the manifest and the policy, and
 * reports them (see `src/audit`, `src/render/audit-*`). Changes nothing. Exit 0 when the report was written,
 * whatever it found; 1 when a project cannot be read (then nothing is written). "Now" (ages, rotations,
 * expiries) is `--now`, else `SOURCE_DATE_EPOCH` (for reproducible reports), else the clock.
 */
import * as path from 'node:path';
import { ScaleflexKeysError, UsageError } from '../../errors';
import { writeFileAtomic } from '../../atomic-file';
import { runBounded } from '../../bounded';
import type { DesiredState, LiveKey } from '../../model';
import type { PolicyRule } from '../../policy/rules';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import type { AuditFlags, AuditFormat } from '../arguments/audit';
import { selectProjects } from '../desired';
import { projectErrorLines } from '../output';
import { ApiSession, listAll, openAhead, type ProjectRef, READ_FOR_IMPORT, trustFor } from '../session';
import { loadDesiredReading } from '../../manifest';
import { loadPolicy } from '../../policy';
import { type AuditReport, buildAudit } from '../../audit';
import { renderAuditMarkdown } from '../../render/audit-markdown';
import { renderAuditHtml } from '../../render/audit-html';
import { renderAuditCsv } from '../../render/audit-csv';
import { renderAuditJson } from '../../render/audit-json';
import { renderAuditSarif } from '../../render/audit-sarif';

export type { AuditFlags, AuditFormat } from '../arguments/audit';

export const AUDIT_FORMATS: readonly AuditFormat[] = ['markdown', 'html', 'csv', 'json', 'sarif'];

/** "Now" for the report: `SOURCE_DATE_EPOCH` (seconds) when set, as reproducible builds use it. */
export function auditNow(env: NodeJS.ProcessEnv): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date();
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got "${epoch}"`);
  return new Date(Number(epoch) * 1000);
}

/** Runs `audit`; resolves to the exit code. */
export async function run(opts: AuditFlags, io: Io): Promise<number> {
  const format = opts.format;
  if (!AUDIT_FORMATS.includes(format)) throw new UsageError(`unknown format "${format}"; use ${AUDIT_FORMATS.join(', ')}`);
  if (opts.findings && format !== 'csv') throw new UsageError('--findings adds finding rows to the CSV; use it with --format csv');
  const now = opts.now ?? auditNow(io.env);

  // Everything local is read and checked before the first request (validate before you touch the network).
  let desired: DesiredState | undefined;
  let manifestRules: readonly PolicyRule[] = [];
  if (opts.file !== undefined || opts.fromCdktf !== undefined) {
    // One parse gives the desired state and the manifest's own policy rules.
    ({ state: desired, policy: manifestRules } = loadDesiredReading(
      { ...(opts.file !== undefined ? { file: opts.file } : {}), ...(opts.fromCdktf !== undefined ? { fromCdktf: opts.fromCdktf } : {}), cwd: io.cwd },
      { trust: trustFor(opts, io) },
    ));
  }
  const rules = loadPolicy({ cwd: io.cwd, ...(opts.policy !== undefined ? { policyFile: opts.policy } : {}), manifestRules });

  const wanted = [...new Set(opts.project ?? [])];
  let refs: ProjectRef[];
  if (desired) refs = selectProjects(desired, wanted);
  else {
    if (wanted.length === 0) throw new UsageError('audit needs -f FILE (audits every project it declares) or --project TOKEN');
    refs = wanted.map((token) => ({ token }));
  }
  const tokens = refs.map((r) => r.token);
  const baseDir = opts.file !== undefined ? path.dirname(path.resolve(io.cwd, opts.file)) : io.cwd;
  const session = await ApiSession.start(io, opts, tokens, baseDir);
  let settled: PromiseSettledResult<LiveKey[]>[];
  try {
    settled = await runBounded(refs, openAhead(opts.parallelism), async (ref) => {
      // Read access is enough: a key with ACCESS_READ can audit.
      const api = await session.open(ref, session.resolve(ref), { ...READ_FOR_IMPORT, purpose: 'audit' });
      return listAll(api);
    });
  } finally {
    await session.close();
  }
  const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ token: tokens[i]!, error: r.reason as unknown }] : []));
  for (const f of failed) io.err(projectErrorLines(f.token, f.error));
  if (failed.length > 0) {
    io.err('Nothing was written: every project must be readable for an audit.\n');
    return EXIT.ERROR;
  }
  const live = new Map(tokens.map((t, i) => [t, (settled[i] as PromiseFulfilledResult<LiveKey[]>).value]));

  const report = buildAudit({ live, ...(desired ? { desired } : {}), rules, now, olderThanDays: opts.olderThan, warnWithinMs: opts.warnWithinMs });
  const text = render(report, format, opts.findings);
  if (opts.out !== undefined) {
    await writeFileAtomic(path.resolve(io.cwd, opts.out), text, 0o644, (m) => new ScaleflexKeysError(m));
    const s = report.summary;
    io.err(`Wrote the ${format} audit of ${s.keys} key${s.keys === 1 ? '' : 's'} in ${s.projects} project${s.projects === 1 ? '' : 's'} to ${opts.out} (${s.errors} policy error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'})\n`);
  } else io.out(text);
  return EXIT.OK;
}

function render(report: AuditReport, format: AuditFormat, findings: boolean): string {
  switch (format) {
    case 'markdown':
      return renderAuditMarkdown(report);
    case 'html':
      return renderAuditHtml(report);
    case 'csv':
      return renderAuditCsv(report, { findings });
    case 'json':
      return renderAuditJson(report);
    case 'sarif':
      return renderAuditSarif(report, { version: require('../../../package.json').version as string });
  }
}
