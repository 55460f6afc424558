/** `plan`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addLifecycleOptions, lifecycleFlags, type LifecycleFlags } from './lifecycle';
import { addApiOptions, addGuardOptions, addSourceOptions, apiFlags, type ApiFlags, guardFlags, type GuardFlags, sourceFlags, type SourceFlags } from './common';

export interface PlanFlags extends SourceFlags, ApiFlags, GuardFlags, LifecycleFlags {
  readonly format: 'text' | 'json' | 'markdown' | 'github';
  readonly out?: string;
  readonly detailedExitcode: boolean;
  /** Policy rules kept outside the manifest. */
  readonly policy?: string;
  /** The target branch's manifest: label every change intent or drift. */
  readonly base?: string;
}

export function define(program: Command): Command {
  return addLifecycleOptions(addGuardOptions(
    addApiOptions(
      addSourceOptions(
        program
          .command('plan')
          .description('show what apply would change, without changing anything; exit 0 no changes (or changes without --detailed-exitcode), 2 changes with --detailed-exitcode, 1 an error, 3 a guard refused, 4 a policy error')
          .addOption(new Option('--format <format>', 'output format (github: workflow-command annotations on the manifest lines)').choices(['text', 'json', 'markdown', 'github']).default('text'))
          .option('--out <file>', 'also save the plan as JSON, for `apply <file>`')
          .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when there are none')
          .option('--policy <file>', 'policy rules kept outside the manifest; the manifest can only add to them (errors exit 4)')
          .option('--base <file>', "the target branch's manifest: label each change intent (the edit causes it) or drift (live differs from the base too)"),
      ),
    ),
  ));
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): PlanFlags {
  if (args.length > 0) throw new UsageError(`plan takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  return {
    ...sourceFlags(o),
    ...apiFlags(o),
    ...guardFlags(o),
    ...lifecycleFlags(o),
    format: (o.format as PlanFlags['format']) ?? 'text',
    ...(typeof o.out === 'string' ? { out: o.out } : {}),
    detailedExitcode: Boolean(o.detailedExitcode),
    ...(typeof o.policy === 'string' ? { policy: o.policy } : {}),
    ...(typeof o.base === 'string' ? { base: o.base } : {}),
  };
}
