/**
 * The one redaction mechanism: every secret scaleflex-keys sees (admin keys it reads, secrets of keys it
 * creates or pulls) is registered here, and everything that prints — CLI output, logs, error messages,
 * debug traces — passes its text through `redact` first.
 */

const MASK = '[REDACTED]';
/** Shorter strings are not secrets (Scaleflex secrets are 32+ characters); ignoring them avoids masking noise. */
const MIN_SECRET_LENGTH = 8;
/**
 * A run of at least this many leading characters of a known secret is masked even when the rest does not follow
 * (a truncated log line, a value cut by a column width): 16 characters of a 32+ character secret are too much to show.
 */
export const MIN_MASKED_PREFIX = 16;

/** ASCII lower case, one unit for one unit (so positions in the folded text are positions in the original). */
function fold(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : text;
}

/**
 * A set of known secret values and the function that masks them in text.
 *
 * A secret is masked in any letter case (a key shown upper-cased is the same key) and so is any prefix of it of
 * at least MIN_MASKED_PREFIX characters. Secrets are indexed by their first MIN_SECRET_LENGTH characters (case
 * folded), and `redact` scans the text once, position by position, looking each window up; at a candidate it
 * compares at most until the secret ends or the text differs, and a comparison that fails has stopped within
 * MIN_MASKED_PREFIX characters, so the scan stays linear in the text. Nothing is rebuilt when a secret is
 * added, so an apply that creates (and prints a line for) 10,000 keys stays linear too.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  /** First MIN_SECRET_LENGTH characters (folded) -> the folded secrets starting with them, longest first. */
  private readonly byPrefix = new Map<string, string[]>();

  /** Remembers a secret so that it is masked from now on. */
  add(secret: string | undefined): void {
    if (!secret) return;
    const value = fold(secret.trim());
    if (value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    const prefix = value.slice(0, MIN_SECRET_LENGTH);
    const list = this.byPrefix.get(prefix) ?? [];
    list.push(value);
    list.sort((a, b) => b.length - a.length);
    this.byPrefix.set(prefix, list);
  }

  /** How many secrets are known (for tests and debug output; never the values). */
  get size(): number {
    return this.secrets.size;
  }

  /**
   * Returns `text` with every known secret, in any letter case, and every prefix of one of at least
   * MIN_MASKED_PREFIX characters, replaced by a mask (leftmost first, the longest match at a position).
   */
  redact(text: string): string {
    if (this.secrets.size === 0 || !text || text.length < MIN_SECRET_LENGTH) return text;
    const folded = fold(text);
    let out = '';
    let copied = 0;
    for (let i = 0; i + MIN_SECRET_LENGTH <= folded.length; ) {
      const candidates = this.byPrefix.get(folded.slice(i, i + MIN_SECRET_LENGTH));
      let hit = 0;
      if (candidates) {
        for (const s of candidates) {
          let n = MIN_SECRET_LENGTH;
          while (n < s.length && i + n < folded.length && folded.charCodeAt(i + n) === s.charCodeAt(n)) n++;
          if ((n === s.length || n >= MIN_MASKED_PREFIX) && n > hit) hit = n;
        }
      }
      if (hit) {
        out += text.slice(copied, i) + MASK;
        i += hit;
        copied = i;
      } else {
        i++;
      }
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}

/** The process-wide redactor that the CLI, the client and the logger share. */
export const secrets = new Redactor();

/** Masks every secret known to the process-wide redactor. */
export function redact(text: string): string {
  return secrets.redact(text);
}

/** A display form of a secret that shows only its last 4 characters. */
export function maskSecret(secret: string): string {
  return `****${secret.slice(-4)}`;
}
