/**
 * Renders manifest diagnostics for people (`text`: `<file>:<line>:<col>: error: [<construct>] <message>`), for
 * programs (`json`: an array of {file, line, column, severity, message, path}, plus `construct` and `related` when
 * present) and for GitHub Actions (`github`: `::error file=...,line=...,col=...::message` workflow commands, which
 * become annotations on the PR). Secrets are masked here too (`maskDiagnostic`), whatever built the diagnostics.
 * Pure.
 */
import type { Diagnostic } from '../errors';
import { maskDiagnostic } from './diagnostics';

export type DiagnosticFormat = 'text' | 'json' | 'github';

/** GitHub workflow-command escaping for the message part. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** GitHub workflow-command escaping for a property value (`file=...`). */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** The message as people read it: prefixed with the construct path that declared the node, when there is one. */
function shown(d: Diagnostic): string {
  return d.construct !== undefined ? `[${d.construct}] ${d.message}` : d.message;
}

/** The JSON form of one diagnostic: fixed field order; `construct` and `related` only when present. */
function jsonForm(d: Diagnostic): Record<string, unknown> {
  const { file, line, column, severity, message, path } = d;
  return {
    file,
    line,
    column,
    severity,
    message,
    path,
    ...(d.construct !== undefined ? { construct: d.construct } : {}),
    ...(d.related !== undefined && d.related.length > 0
      ? {
          related: d.related.map((r) => ({
            file: r.file,
            line: r.line,
            column: r.column,
            ...(r.construct !== undefined ? { construct: r.construct } : {}),
            message: r.message,
          })),
        }
      : {}),
  };
}

/** Formats diagnostics; `text` and `github` give one line each (newline-terminated), `json` one array. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], format: DiagnosticFormat): string {
  const diags = diagnostics.map(maskDiagnostic);
  switch (format) {
    case 'json':
      return `${JSON.stringify(diags.map(jsonForm), null, 2)}\n`;
    case 'github':
      return diags
        .map((d) => `::${d.severity} file=${escapeProperty(d.file)},line=${d.line},col=${d.column}::${escapeData(shown(d))}\n`)
        .join('');
    case 'text':
      return diags.map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity}: ${shown(d)}\n`).join('');
    default:
      throw new Error(`unknown diagnostics format ${String(format)}`);
  }
}
