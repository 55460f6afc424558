/** `deactivate`'s command line: definition and typed flags. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, addGuardOptions, apiFlags, type ApiFlags, DEFAULT_MANIFEST, guardFlags, type GuardFlags } from './common';

export interface DeactivateFlags extends ApiFlags, GuardFlags {
  readonly project: string;
  readonly file?: string;
  readonly fromCdktf?: string;
  readonly specEnv?: string;
  readonly keySpecEnv?: string;
  readonly keyResource?: string;
  readonly credentialsEnv?: string;
  readonly skipIfReplacedIn?: string;
  readonly autoApprove: boolean;
}

export function define(program: Command): Command {
  return addGuardOptions(
    addApiOptions(
      program
        .command('deactivate')
        .description('deactivate every key a project declares (or one key), never deleting (what a CDKTF ScaleflexApiKey runs on destroy); exit 0 done, 1 an error, 3 a guard refused')
        .requiredOption('--project <token>', 'the project whose declared keys to deactivate')
        .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
        .option('--from-cdktf <path>', 'read the declared keys from a synthesized CDKTF stack (cdk.tf.json)')
        .option('--spec-env <var>', 'read the declared keys from this environment variable (a whole project spec: JSON, or gzipped and base64-encoded)')
        .option('--key-spec-env <var>', 'deactivate one key: its spec is in this environment variable (a ScaleflexApiKey spec from Terraform state)')
        .option('--key-resource <name>', "with --key-spec-env: the name of the key's null_resource, for --skip-if-replaced-in")
        .option('--credentials-env <name>', "with --key-spec-env: the variable holding the project's admin key (default SCALEFLEX_API_KEY_<TOKEN>)")
        .option('--skip-if-replaced-in <cdk.tf.json>', 'do nothing when this stack still declares the key resource with another spec (a replacement)')
        .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)'),
    ),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): DeactivateFlags {
  if (args.length > 0) throw new UsageError(`deactivate takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const s = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] as string } : {});
  return {
    ...apiFlags(o),
    ...guardFlags(o),
    project: o.project as string,
    ...s('file'),
    ...s('fromCdktf'),
    ...s('specEnv'),
    ...s('keySpecEnv'),
    ...s('keyResource'),
    ...s('credentialsEnv'),
    ...s('skipIfReplacedIn'),
    autoApprove: Boolean(o.autoApprove),
  };
}
