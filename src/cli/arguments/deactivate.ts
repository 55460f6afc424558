/** `deactivate`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, addGuardOptions, apiFlags, type ApiFlags, DEFAULT_MANIFEST, guardFlags, type GuardFlags } from './common';

/** Where the declared keys come from: a manifest or stack file, or one key spec in an environment variable. */
export type DeclaredSource =
  | { readonly kind: 'file'; readonly file?: string; readonly fromCdktf?: string }
  | {
      readonly kind: 'key-env';
      /** The variable holding the key resource's `spec` trigger. */
      readonly env: string;
      /** The variable holding the project's admin key (the project's `credentialsEnv`). */
      readonly credentialsEnv?: string;
      /** With `keyResource`: do nothing when this stack shows the destroy is a replacement or a move. */
      readonly skipIfReplacedIn?: { readonly stackFile: string; readonly keyResource: string };
    };

export interface DeactivateFlags extends ApiFlags, GuardFlags {
  readonly project: string;
  readonly source: DeclaredSource;
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
        .option('--key-spec-env <var>', 'deactivate one key: its spec is in this environment variable (a ScaleflexApiKey spec from Terraform state)')
        .option('--key-resource <name>', "with --key-spec-env: the name of the key's null_resource, for --skip-if-replaced-in")
        .option('--credentials-env <name>', "with --key-spec-env: the variable holding the project's admin key (default SCALEFLEX_API_KEY_<TOKEN>)")
        .option('--skip-if-replaced-in <cdk.tf.json>', 'do nothing when this stack still declares the key resource with another spec (a replacement)')
        .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)')
        // Removed; still recognised so that an old stack's provisioner gets a message saying what to do.
        .addOption(new Option('--spec-env <var>').hideHelp()),
    ),
  );
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The command line as typed flags; every combination that makes no sense is a UsageError. */
export function parseFlags(raw: Record<string, unknown>, args: readonly string[]): DeactivateFlags {
  if (args.length > 0) throw new UsageError(`deactivate takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (raw.specEnv !== undefined) {
    throw new UsageError('--spec-env was removed: a ScaleflexApiKey deactivates its own key with --key-spec-env', {
      hint: 'synthesize the stack again with this version (`cdktf synth`), or give -f/--file or --from-cdktf',
    });
  }
  const project = str(raw.project);
  if (project === undefined) throw new UsageError('--project is required');
  const [file, fromCdktf, keySpecEnv] = [str(raw.file), str(raw.fromCdktf), str(raw.keySpecEnv)];
  const [keyResource, credentialsEnv, skipIfReplacedIn] = [str(raw.keyResource), str(raw.credentialsEnv), str(raw.skipIfReplacedIn)];
  if ([keySpecEnv, file, fromCdktf].filter((s) => s !== undefined).length > 1) {
    throw new UsageError('give one of --key-spec-env, -f/--file and --from-cdktf');
  }
  let source: DeclaredSource;
  if (keySpecEnv === undefined) {
    if (keyResource !== undefined || credentialsEnv !== undefined) throw new UsageError('--key-resource and --credentials-env go with --key-spec-env');
    if (skipIfReplacedIn !== undefined) throw new UsageError('--skip-if-replaced-in compares with the spec of --key-spec-env; give it');
    source = { kind: 'file', ...(file !== undefined ? { file } : {}), ...(fromCdktf !== undefined ? { fromCdktf } : {}) };
  } else {
    if (skipIfReplacedIn !== undefined && keyResource === undefined) {
      throw new UsageError("--skip-if-replaced-in with --key-spec-env needs --key-resource (the key resource's name)");
    }
    source = {
      kind: 'key-env',
      env: keySpecEnv,
      ...(credentialsEnv !== undefined ? { credentialsEnv } : {}),
      ...(skipIfReplacedIn !== undefined && keyResource !== undefined ? { skipIfReplacedIn: { stackFile: skipIfReplacedIn, keyResource } } : {}),
    };
  }
  return { ...apiFlags(raw), ...guardFlags(raw), project, source, autoApprove: Boolean(raw.autoApprove) };
}
