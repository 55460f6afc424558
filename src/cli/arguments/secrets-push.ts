/** `secrets push`'s command line: definition and typed flags. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, addSourceOptions, apiFlags, type ApiFlags, collect, sourceFlags, type SourceFlags } from './common';

export interface SecretsPushFlags extends SourceFlags, ApiFlags {
  readonly description: readonly string[];
  /** `--no-exec-sinks`: false forbids the manifest's `exec` delivery sinks. */
  readonly execSinks: boolean;
}

export function define(secrets: Command): Command {
  return addApiOptions(
    addSourceOptions(
      secrets
        .command('push')
        .description("deliver the current secrets of declared keys to their `deliver:` sinks again (needs ACCESS_MANAGE); exit 0 delivered, 1 an error or a failed delivery"),
    )
      .option('--description <text>', 'only the key with this description (repeatable)', collect)
      .option('--no-exec-sinks', "refuse to run the manifest's `exec` delivery sinks (as SCALEFLEX_DELIVERY_EXEC=deny does)"),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): SecretsPushFlags {
  if (args.length > 0) throw new UsageError(`secrets push takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  return {
    ...sourceFlags(o),
    ...apiFlags(o),
    description: (o.description as string[] | undefined) ?? [],
    execSinks: o.execSinks !== false,
  };
}
