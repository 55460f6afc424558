/**
 * The one redaction mechanism: every secret scaleflex-keys sees (admin keys it reads, secrets of keys it
 * creates or pulls) is registered here, and everything that prints — CLI output, logs, error messages,
 * debug traces — passes its text through `redact` first.
 */

const MASK = '[REDACTED]';
/** Shorter strings are not secrets (Scaleflex secrets are 32+ characters); ignoring them avoids masking noise. */
const MIN_SECRET_LENGTH = 8;

/** A set of known secret values and the function that masks them in text. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  /** Remembers a secret so that it is masked from now on. */
  add(secret: string | undefined): void {
    if (!secret) return;
    const value = secret.trim();
    if (value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.pattern = undefined;
  }

  /** How many secrets are known (for tests and debug output; never the values). */
  get size(): number {
    return this.secrets.size;
  }

  /** Returns `text` with every known secret replaced by a mask. */
  redact(text: string): string {
    if (this.secrets.size === 0 || !text) return text;
    this.pattern ??= new RegExp(
      [...this.secrets]
        .sort((a, b) => b.length - a.length)
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.pattern, MASK);
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
