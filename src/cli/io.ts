/**
 * The CLI's window on the process: streams, environment, TTY-ness. Commands receive an `Io` instead of
 * touching `process`, so they can run in-process under test; every byte written passes through the redactor.
 */
import { redact } from '../redact';
import { createInterface } from 'node:readline/promises';

export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Whether stdout is a terminal (colour, progress lines). */
  readonly stdoutIsTTY: boolean;
  /** Whether stdin is a terminal (interactive confirmation). */
  readonly stdinIsTTY: boolean;
  /** Writes redacted text to stdout. */
  out(text: string): void;
  /** Writes redacted text to stderr. */
  err(text: string): void;
  /** Reads one line from stdin (interactive confirmation); resolves to undefined at end of input. */
  readLine(prompt: string): Promise<string | undefined>;
  /**
   * Writes to stdout WITHOUT redaction. Exists for one purpose only: GitHub Actions' `::add-mask::<secret>`
   * command, which must carry the secret itself (see src/cli/secrets-file.ts). Nothing else may call it.
   */
  unredactedOut?(text: string): void;
}

/** The real process's Io. */
export function processIo(): Io {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    out: (text) => void process.stdout.write(redact(text)),
    err: (text) => void process.stderr.write(redact(text)),
    unredactedOut: (text) => void process.stdout.write(text),
    readLine: async (prompt) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(prompt);
      } catch {
        return undefined;
      } finally {
        rl.close();
      }
    },
  };
}

/** Whether to colour output: only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(io: Io): boolean {
  return io.stdoutIsTTY && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}
