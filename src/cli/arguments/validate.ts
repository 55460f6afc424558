/** `validate`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { collect, DEFAULT_MANIFEST } from './common';

export interface ValidateFlags {
  readonly file?: string;
  readonly fromCdktf?: string;
  readonly format: 'text' | 'json' | 'github';
  /** Policy rules kept outside the manifest. */
  readonly policy?: string;
  readonly allowApiUrl: readonly string[];
  readonly allowCredentialEnv: readonly string[];
}

export function define(program: Command): Command {
  return program
    .command('validate')
    .description('check a manifest (or a synthesized CDKTF stack) against the schema and the semantic rules; exit 0 valid, 1 invalid or a usage error, 4 a policy error')
    .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
    .option('--from-cdktf <path>', 'validate the desired state of a synthesized CDKTF stack (cdk.tf.json)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .option('--allow-api-url <origin>', 'allow the manifest to name this API origin (repeatable; also SCALEFLEX_ALLOWED_API_URLS)', collect)
    .option('--policy <file>', 'policy rules kept outside the manifest; the manifest can only add to them (errors exit 4)')
    .option('--allow-credential-env <name>', 'allow the manifest to name this credential variable, or PREFIX* (repeatable)', collect);
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): ValidateFlags {
  if (args.length > 0) throw new UsageError(`validate takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  return {
    ...(typeof o.file === 'string' ? { file: o.file } : {}),
    ...(typeof o.fromCdktf === 'string' ? { fromCdktf: o.fromCdktf } : {}),
    format: (o.format as ValidateFlags['format']) ?? 'text',
    ...(typeof o.policy === 'string' ? { policy: o.policy } : {}),
    allowApiUrl: (o.allowApiUrl as string[] | undefined) ?? [],
    allowCredentialEnv: (o.allowCredentialEnv as string[] | undefined) ?? [],
  };
}
