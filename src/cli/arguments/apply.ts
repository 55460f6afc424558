/** `apply`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addLifecycleOptions, lifecycleFlags, type LifecycleFlags } from './lifecycle';
import { addApiOptions, addGuardOptions, addSourceOptions, apiFlags, type ApiFlags, guardFlags, type GuardFlags, sourceFlags, type SourceFlags } from './common';

export interface ApplyFlags extends SourceFlags, ApiFlags, GuardFlags, LifecycleFlags {
  /** A plan saved with `plan --out`; absent: plan the manifest and apply after confirmation. */
  readonly planFile?: string;
  readonly autoApprove: boolean;
  readonly secretsOut?: string;
  readonly secretsFormat?: 'json' | 'env';
  /** `--no-exec-sinks`: false forbids the manifest's `exec` delivery sinks. */
  readonly execSinks: boolean;
}

export function define(program: Command): Command {
  return addLifecycleOptions(addGuardOptions(
    addApiOptions(
      addSourceOptions(
        program
          .command('apply')
          .description('apply a saved plan, or plan and apply a manifest after confirmation; exit 0 applied (or nothing to do), 1 an error or stopped part-way, 3 a guard refused')
          .argument('[plan]', 'a plan saved with `plan --out` (applies exactly its changes, each only if its key is still as reviewed)')
          .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)')
          .option('--secrets-out <file>', 'write the secrets of created keys here (.json or .env), mode 0600, merged')
          .addOption(new Option('--secrets-format <format>', 'format of --secrets-out').choices(['json', 'env']))
          .option('--no-exec-sinks', 'refuse to run the manifest\'s `exec` delivery sinks (as SCALEFLEX_DELIVERY_EXEC=deny does)'),
      ),
    ),
  ));
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): ApplyFlags {
  if (args.length > 1) throw new UsageError(`apply takes at most one plan file, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  if (o.secretsFormat !== undefined && o.secretsOut === undefined) throw new UsageError('--secrets-format needs --secrets-out FILE');
  return {
    ...sourceFlags(o),
    ...apiFlags(o),
    ...guardFlags(o),
    ...lifecycleFlags(o),
    ...(args[0] !== undefined ? { planFile: args[0] } : {}),
    autoApprove: Boolean(o.autoApprove),
    execSinks: o.execSinks !== false,
    ...(typeof o.secretsOut === 'string' ? { secretsOut: o.secretsOut } : {}),
    ...(o.secretsFormat === 'json' || o.secretsFormat === 'env' ? { secretsFormat: o.secretsFormat } : {}),
  };
}
