/**
 * The name a created key's secret is stored under in a `.env` secrets file (`--secrets-out`, `secrets pull`):
 * one definition, shared by the secrets file that writes it and the manifest rule that refuses two declared keys
 * whose secrets would land on one variable. Imports nothing of ours.
 */

/**
 * `SCALEFLEX_KEY_<PROJECT>_<DESCRIPTION>`: upper-cased, every run of characters outside `[A-Z0-9]` turned into one
 * `_`, leading and trailing `_` trimmed; an empty project part is left out and an empty description becomes `KEY`.
 */
export function secretVariableName(project: string, description: string): string {
  const part = (s: string) =>
    s
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '');
  return ['SCALEFLEX_KEY', part(project), part(description) || 'KEY'].filter(Boolean).join('_');
}
