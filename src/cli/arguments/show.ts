/** `show`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';

export interface ShowFlags {
  readonly file: string;
  readonly format: 'text' | 'json' | 'markdown';
}

export function define(program: Command): Command {
  return program
    .command('show')
    .description('render a saved plan offline (no credentials, no network), exactly as plan rendered it; exit 0 shown, 1 an error')
    .argument('[plan]', 'a plan saved with `plan --out`')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'));
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): ShowFlags {
  if (args.length !== 1) throw new UsageError(args.length === 0 ? 'show needs a plan file: scaleflex-keys show plan.json' : 'show takes one plan file');
  return { file: args[0]!, format: (o.format as ShowFlags['format']) ?? 'text' };
}
