/**
 * The one redaction mechanism: every secret scaleflex-keys sees (admin keys it reads, secrets of keys it
 * creates or pulls) is registered here, and everything that prints — CLI output, logs, error messages,
 * debug traces — passes its text through `redact` first.
 */

const MASK = '[REDACTED]';
/** Shorter strings are not secrets (Scaleflex secrets are 32+ characters); ignoring them avoids masking noise. */
const MIN_SECRET_LENGTH = 8;

/**
 * A set of known secret values and the function that masks them in text.
 *
 * Secrets are indexed by their first MIN_SECRET_LENGTH characters, and `redact` scans the text once, position
 * by position, looking each window up. Unlike one big alternation regex, nothing is rebuilt when a secret is
 * added, so an apply that creates (and prints a line for) 10,000 keys stays linear.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  /** First MIN_SECRET_LENGTH characters -> the secrets starting with them, longest first. */
  private readonly byPrefix = new Map<string, string[]>();

  /** Remembers a secret so that it is masked from now on. */
  add(secret: string | undefined): void {
    if (!secret) return;
    const value = secret.trim();
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

  /** Returns `text` with every known secret replaced by a mask (leftmost first, the longest at a position). */
  redact(text: string): string {
    if (this.secrets.size === 0 || !text || text.length < MIN_SECRET_LENGTH) return text;
    let out = '';
    let copied = 0;
    for (let i = 0; i + MIN_SECRET_LENGTH <= text.length; ) {
      const candidates = this.byPrefix.get(text.slice(i, i + MIN_SECRET_LENGTH));
      const hit = candidates?.find((s) => text.startsWith(s, i));
      if (hit) {
        out += text.slice(copied, i) + MASK;
        i += hit.length;
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
