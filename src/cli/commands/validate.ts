/**
 * `scaleflex-keys validate [-f FILE | --from-cdktf FILE] [--format text|json|github]`: checks a manifest
 * against the schema and the semantic rules and reports every problem at once. Exit 0 valid, 1 invalid
 * (2, a usage error, comes from the command line parser). Loads neither undici nor cdktf.
 */
import { type DiagnosticFormat, formatDiagnostics, readDesiredState } from '../../manifest';
import { UsageError } from '../../errors';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';

export interface ValidateOptions {
  file?: string;
  fromCdktf?: string;
  format?: DiagnosticFormat;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Runs `validate`; resolves to the exit code. */
export async function run(opts: ValidateOptions, io: Io, args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`validate takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const format = opts.format ?? 'text';
  if (!['text', 'json', 'github'].includes(format)) throw new UsageError(`unknown format "${format}"; use text, json or github`);

  const reading = readDesiredState({ file: opts.file, fromCdktf: opts.fromCdktf, cwd: io.cwd });
  const errors = reading.diagnostics.filter((d) => d.severity === 'error').length;
  const valid = reading.state !== undefined && errors === 0;

  const verdict = (): string => {
    if (!valid || !reading.state) return `${reading.file}: invalid (${plural(errors, 'problem')})\n`;
    const keys = reading.state.projects.reduce((n, p) => n + p.keys.length, 0);
    const warnings = reading.diagnostics.length - errors;
    return (
      `${reading.file}: valid (${plural(reading.state.projects.length, 'project')}, ${plural(keys, 'key')}` +
      `${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''})\n`
    );
  };
  if (format === 'text') {
    // Problems go to stderr, like a compiler's; the one-line verdict on success goes to stdout.
    io.err(formatDiagnostics(reading.diagnostics, 'text'));
    if (valid) io.out(verdict());
    else io.err(verdict());
  } else {
    io.out(formatDiagnostics(reading.diagnostics, format));
    // Annotations do not show in a workflow's log; the verdict on stderr does.
    if (format === 'github') io.err(verdict());
  }
  return valid ? EXIT.OK : EXIT.ERROR;
}
