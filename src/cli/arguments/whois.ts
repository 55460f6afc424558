/**
 * `whois`'s command line: definition and typed flags. No option and no argument takes the secret: it is read from
 * stdin only (argv is visible in `ps` and /proc to every user, and lands in shell history).
 */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, addSourceOptions, apiFlags, type ApiFlags, sourceFlags, type SourceFlags } from './common';

export interface WhoisFlags extends SourceFlags, ApiFlags {
  /** Read the secret from the terminal without echo. */
  readonly prompt: boolean;
  /** Deactivate the key found (guards apply) and print the manifest edit. */
  readonly quarantine: boolean;
  readonly format: 'text' | 'json';
}

export function define(program: Command): Command {
  return addApiOptions(
    addSourceOptions(
      program
        .command('whois')
        .description(
          'which key is this leaked secret? Reads it from stdin (never argv), fetches only the secrets of keys whose masked preview fits, ' +
            'compares in constant time, prints the key (never the secret). Needs ACCESS_MANAGE; exit 0 found, 1 not found or an error, 3 a guard refused the quarantine',
        ),
      'look in this project (repeatable; default: every project of the manifest; may name a project the manifest does not declare)',
    )
      .option('--prompt', 'read the secret from the terminal, without echo (otherwise a terminal on stdin is refused)')
      .option('--quarantine', 'deactivate the key found now (guards apply: never the key the tool runs with, never a protected key) and print the manifest edit that keeps it inactive')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): WhoisFlags {
  if (args.length > 0) {
    // Never quote the arguments: they may be the secret itself.
    throw new UsageError(`whois takes no arguments (got ${args.length}); it reads the secret from stdin`, {
      hint: 'a secret typed on a command line is in your shell history and visible in `ps`: treat it as leaked too, and pipe it instead',
    });
  }
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  return {
    ...sourceFlags(o),
    ...apiFlags(o),
    prompt: Boolean(o.prompt),
    quarantine: Boolean(o.quarantine),
    format: o.format === 'json' ? 'json' : 'text',
  };
}
