/**
 * Comparators and small structural checks shared across the pipeline: one `byString`, one `sameList`, one
 * `isRecord`. Imports nothing.
 */

/** Orders strings by UTF-16 code units (the order `sort()` uses), stable across locales. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether two lists hold the same items in the same order. */
export function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A uuid in its canonical (lower-case) form: uuids are compared case-insensitively everywhere. */
export function canonicalUuid(uuid: string): string {
  return uuid.toLowerCase();
}
