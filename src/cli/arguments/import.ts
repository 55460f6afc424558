/** `import`'s command line: definition and typed flags. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, apiFlags, type ApiFlags, collect } from './common';

export interface ImportFlags extends ApiFlags {
  readonly project: readonly string[];
  readonly out?: string;
}

export function define(program: Command): Command {
  return addApiOptions(
    program
      .command('import')
      .description("write a manifest of a project's live keys (no secrets); its plan is empty; exit 0 written, 1 an error")
      .requiredOption('--project <token>', 'project to import (repeatable)', collect)
      .option('--out <file>', 'write the manifest here instead of stdout'),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): ImportFlags {
  if (args.length > 0) throw new UsageError(`import takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const project = [...new Set((o.project as string[] | undefined) ?? [])];
  if (project.length === 0) throw new UsageError('import needs --project TOKEN');
  return { ...apiFlags(o), project, ...(typeof o.out === 'string' ? { out: o.out } : {}) };
}
