/**
 * Small shared pieces of the manifest validator: building diagnostics (with their structured `construct` and
 * `related` locations), JSON pointers, and the locator type that maps a pointer to where the value was written
 * (a YAML position, a resource in a synthesized stack, or a construct path). Every format renders what is built here.
 */
import type { Diagnostic, RelatedLocation } from '../errors';
import type { SourceLocation } from '../model';
import { redact } from '../redact';

/**
 * Maps a JSON pointer into the manifest (e.g. `/projects/0/keys/1`) to the place it was written.
 * `at: 'key'` asks for the mapping key of the last segment (used for unknown fields), when the source has one.
 * A location with an empty `file` is a construct in memory (CDKTF synth-time validation), named by `construct`.
 */
export type Locator = ((pointer: string, at?: 'value' | 'key') => SourceLocation) & {
  /**
   * Optional shortcut: where the mapping `node` (a node of the located value) starts, as `locate(itsPointer)` would
   * answer, or undefined when this locator cannot tell. Spares building a pointer per key to place each KeySpec.
   */
  readonly mapping?: (node: object) => SourceLocation | undefined;
};

/** An error diagnostic at `loc`, with the other places it involves. */
export function errorAt(loc: SourceLocation, message: string, path: string, related?: readonly RelatedLocation[]): Diagnostic {
  return {
    file: loc.file,
    line: loc.line,
    column: loc.column,
    severity: 'error',
    message,
    path,
    ...(loc.construct !== undefined ? { construct: loc.construct } : {}),
    ...(related !== undefined && related.length > 0 ? { related } : {}),
  };
}

/** A related location (`first declared here`) at `loc`. */
export function relatedAt(loc: SourceLocation, message: string): RelatedLocation {
  return { file: loc.file, line: loc.line, column: loc.column, ...(loc.construct !== undefined ? { construct: loc.construct } : {}), message };
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

/** Orders diagnostics by file, line, column and construct path, keeping the order of equal positions; drops exact repeats. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags
    .filter((d) => {
      const id = `${d.file}\0${d.construct ?? ''}\0${d.line}\0${d.column}\0${d.message}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        a.d.file.localeCompare(b.d.file) ||
        a.d.line - b.d.line ||
        a.d.column - b.d.column ||
        // Constructs in memory all sit at line 1, column 1 of no file: their paths order them.
        (a.d.construct ?? '').localeCompare(b.d.construct ?? '') ||
        a.i - b.i,
    )
    .map(({ d }) => d);
}

/**
 * Names a location inside a message. Same file as the diagnostic, so line and column say it all; a construct
 * in memory (no file) is named by its path, and a resource of a synthesized stack by both.
 */
export function where(loc: SourceLocation): string {
  if (loc.file === '' && loc.construct !== undefined) return loc.construct;
  const position = `line ${loc.line}, column ${loc.column}`;
  return loc.construct !== undefined ? `${position} (${loc.construct})` : position;
}

/** True when at least one diagnostic is an error (warnings do not make a manifest invalid). */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** What a masked secret shows instead. */
export const SECRET_MASK = '[REDACTED]';

/** A run of 32 or more hex digits, bounded by non-hex-digits: the shape of a Scaleflex secret. */
const HEX_RUN = /[0-9a-f]{32,}/gi;

/**
 * Masks secrets in a message: every secret the process-wide redactor knows, and any run of 32+ hex digits (a
 * file that is not a manifest — a secrets file, an admin key file, the emulator's journal — is echoed in parser
 * messages; a secret-shaped permission name is echoed in "unknown permission").
 */
export function maskSecrets(text: string): string {
  return redact(text).replace(HEX_RUN, SECRET_MASK);
}

/** `d` with secrets masked in its message, construct path and related locations: every format goes through here. */
export function maskDiagnostic(d: Diagnostic): Diagnostic {
  return {
    ...d,
    message: maskSecrets(d.message),
    ...(d.construct !== undefined ? { construct: maskSecrets(d.construct) } : {}),
    ...(d.related !== undefined
      ? { related: d.related.map((r) => ({ ...r, message: maskSecrets(r.message), ...(r.construct !== undefined ? { construct: maskSecrets(r.construct) } : {}) })) }
      : {}),
  };
}

/** Every diagnostic masked (see `maskDiagnostic`). */
export function maskDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return diags.map(maskDiagnostic);
}
