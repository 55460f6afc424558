/**
 * UTC days and instants as scaleflex-keys reads and writes them: `--now`, the manifest's `expires`, and the dates
 * in a rotated key's description. Shared by the manifest rules, the reconciler and the command line.
 */

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/** The UTC day of `d`, `YYYY-MM-DD`. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Parses a date `2027-03-01` or a date-time (`Z` or an offset; none means UTC) into its ISO UTC date-time, or
 * undefined when it is not one (`2027-02-30` is not). The manifest's `expires` and `--now` read dates with it.
 */
export function parseUtcInstant(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const dayOk = (() => {
    const probe = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    return probe.getUTCFullYear() === Number(y) && probe.getUTCMonth() === Number(mo) - 1 && probe.getUTCDate() === Number(d);
  })();
  if (!dayOk) return undefined;
  // A date-time without a zone is UTC, as the manifest documents.
  const iso = m[4] === undefined ? `${y}-${mo}-${d}T00:00:00Z` : `${text.replace(' ', 'T')}${m[7] === undefined ? 'Z' : ''}`;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

