/**
 * Renders manifest diagnostics for people (`text`: `<file>:<line>:<col>: error: <message>`), for programs
 * (`json`: an array of {file, line, column, severity, message, path}) and for GitHub Actions (`github`:
 * `::error file=...,line=...,col=...::message` workflow commands, which become annotations on the PR). Pure.
 */
import type { Diagnostic } from '../errors';

export type DiagnosticFormat = 'text' | 'json' | 'github';

/** GitHub workflow-command escaping for the message part. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** GitHub workflow-command escaping for a property value (`file=...`). */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Formats diagnostics; `text` and `github` give one line each (newline-terminated), `json` one array. */
export function formatDiagnostics(diags: readonly Diagnostic[], format: DiagnosticFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(
        diags.map(({ file, line, column, severity, message, path }) => ({ file, line, column, severity, message, path })),
        null,
        2,
      )}\n`;
    case 'github':
      return diags
        .map(
          (d) =>
            `::${d.severity} file=${escapeProperty(d.file)},line=${d.line},col=${d.column}::${escapeData(d.message)}\n`,
        )
        .join('');
    case 'text':
      return diags.map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`).join('');
    default:
      throw new Error(`unknown diagnostics format ${String(format)}`);
  }
}
