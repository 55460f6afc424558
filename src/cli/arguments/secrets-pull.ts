/** `secrets pull`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, addSourceOptions, apiFlags, type ApiFlags, collect, sourceFlags, type SourceFlags } from './common';

export interface SecretsPullFlags extends SourceFlags, ApiFlags {
  readonly description: readonly string[];
  readonly out: string;
  readonly format?: 'json' | 'env';
}

export function define(secrets: Command): Command {
  return addApiOptions(
    addSourceOptions(
      secrets
        .command('pull')
        .description('fetch the secrets of declared keys into a file (needs ACCESS_MANAGE); exit 0 written, 1 an error'),
    )
      .option('--description <text>', 'only the key with this description (repeatable)', collect)
      .requiredOption('--out <file>', 'file to write (.json or .env), mode 0600, merged')
      .addOption(new Option('--format <format>', "file format (default: by the file's extension)").choices(['json', 'env'])),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): SecretsPullFlags {
  if (args.length > 0) throw new UsageError(`secrets pull takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  return {
    ...sourceFlags(o),
    ...apiFlags(o),
    description: (o.description as string[] | undefined) ?? [],
    out: o.out as string,
    ...(o.format === 'json' || o.format === 'env' ? { format: o.format } : {}),
  };
}
