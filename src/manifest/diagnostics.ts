/**
 * Small shared pieces of the manifest validator: building diagnostics, JSON pointers, and the locator
 * type that maps a pointer to where the value was written (a YAML position or a construct path).
 */
import type { Diagnostic } from '../errors';
import type { SourceLocation } from '../model';

/**
 * Maps a JSON pointer into the manifest (e.g. `/projects/0/keys/1`) to the place it was written.
 * `at: 'key'` asks for the mapping key of the last segment (used for unknown fields), when the source has one.
 */
export type Locator = (pointer: string, at?: 'value' | 'key') => SourceLocation;

/** An error diagnostic at `loc`. */
export function errorAt(loc: SourceLocation, message: string, path: string): Diagnostic {
  return { file: loc.file, line: loc.line, column: loc.column, severity: 'error', message, path };
}

/** A diagnostic about the file as a whole (it cannot be read, it is empty): line 1, column 1. */
export function fileError(file: string, message: string): Diagnostic {
  return { file, line: 1, column: 1, severity: 'error', message, path: '' };
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function escapePointer(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Splits a JSON pointer into its unescaped segments. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Orders diagnostics by file, line and column, keeping the order of equal positions; drops exact repeats. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags
    .filter((d) => {
      const id = `${d.file}\0${d.line}\0${d.column}\0${d.message}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.file.localeCompare(b.d.file) || a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i)
    .map(({ d }) => d);
}

/**
 * Names a second location inside a message. Same file as the diagnostic, so line and column say it all;
 * the CDKTF constructs rewrite this exact form into construct paths.
 */
export function where(loc: SourceLocation): string {
  return `line ${loc.line}, column ${loc.column}`;
}

/** True when at least one diagnostic is an error (warnings do not make a manifest invalid). */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
