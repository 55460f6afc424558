/** `import`'s command line: definition and typed flags. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { addApiOptions, apiFlags, type ApiFlags, collect } from './common';

export interface ImportFlags extends ApiFlags {
  readonly project: readonly string[];
  readonly out?: string;
  /** Add or replace the imported projects in the existing `--out` manifest, keeping everything else. */
  readonly merge: boolean;
  /** Replace an existing `--out` file. */
  readonly force: boolean;
}

export function define(program: Command): Command {
  return addApiOptions(
    program
      .command('import')
      .description("write a manifest of a project's live keys (no secrets); its plan is empty; exit 0 written, 1 an error")
      .requiredOption('--project <token>', 'project to import (repeatable)', collect)
      .option('--out <file>', 'write the manifest here instead of stdout (an existing file is refused without --merge or --force)')
      .option('--merge', 'add the projects to the existing --out manifest, or replace their keys, keeping everything else')
      .option('--force', 'overwrite an existing --out file'),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): ImportFlags {
  if (args.length > 0) throw new UsageError(`import takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const project = [...new Set((o.project as string[] | undefined) ?? [])];
  if (project.length === 0) throw new UsageError('import needs --project TOKEN');
  const merge = Boolean(o.merge);
  const force = Boolean(o.force);
  if (merge && force) throw new UsageError('--merge and --force exclude each other: merge into the file, or replace it');
  if ((merge || force) && typeof o.out !== 'string') throw new UsageError(`--${merge ? 'merge' : 'force'} needs --out FILE`);
  return { ...apiFlags(o), project, ...(typeof o.out === 'string' ? { out: o.out } : {}), merge, force };
}
