/** `audit`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, apiFlags, type ApiFlags, collect, integer } from './common';
import { addLifecycleOptions, lifecycleFlags, type LifecycleFlags } from './lifecycle';

export type AuditFormat = 'markdown' | 'html' | 'csv' | 'json' | 'sarif';

export interface AuditFlags extends ApiFlags, LifecycleFlags {
  readonly file?: string;
  readonly fromCdktf?: string;
  readonly policy?: string;
  readonly project?: string[];
  readonly format: AuditFormat;
  readonly out?: string;
  readonly findings: boolean;
  readonly olderThan: number;
}

export function define(program: Command): Command {
  return addLifecycleOptions(addApiOptions(
    program
      .command('audit')
      .description('report the live keys: permissions matrix, risk, age, owner, drift from the manifest, rotation/expiry due, policy findings (changes nothing); exit 0 written, 1 an error')
      .option('-f, --file <path>', 'manifest file: adds owners, managed/unmanaged, drift and its policy')
      .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
      .option('--policy <file>', 'policy rules kept outside the manifest (YAML `policy:` list); the manifest can only add to them')
      .option('--project <token>', 'only this project (repeatable; needed without -f)', collect)
      .addOption(new Option('--format <format>', 'report format').choices(['markdown', 'html', 'csv', 'json', 'sarif']).default('markdown'))
      .option('--out <file>', 'write the report here instead of stdout')
      .option('--findings', 'with --format csv: one more row per policy finding')
      .option('--older-than <days>', 'count active keys older than this many days in the summary', integer(1), 365),
  ));
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): AuditFlags {
  if (args.length > 0) throw new UsageError(`audit takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  const format = (o.format as AuditFormat | undefined) ?? 'markdown';
  if (o.findings && format !== 'csv') throw new UsageError('--findings adds finding rows to the CSV; use it with --format csv');
  const s = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] as string } : {});
  return {
    ...apiFlags(o),
    ...lifecycleFlags(o),
    ...s('file'),
    ...s('fromCdktf'),
    ...s('policy'),
    ...s('out'),
    ...(Array.isArray(o.project) ? { project: o.project as string[] } : {}),
    format,
    findings: Boolean(o.findings),
    olderThan: typeof o.olderThan === 'number' ? o.olderThan : 365,
  };
}
