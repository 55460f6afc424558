/**
 * Reading a secret the user hands to the CLI (`whois`): all of stdin when it is a pipe or a file, or one line typed at
 * the terminal without echo (`--prompt`). The only other place that reads stdin is the confirmation prompt
 * (`./io.ts`). Nothing here prints the secret; the caller registers it with the redactor at once.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { UsageError } from '../errors';
import { MAX_SECRET_LENGTH } from '../reconcile/whois';

/** Where a secret is read from: the process's stdin and stderr, or stand-ins under test. */
export interface SecretInput {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  readonly stderr: NodeJS.WritableStream;
}

export function processSecretInput(): SecretInput {
  return { stdin: process.stdin, stderr: process.stderr };
}

/**
 * All of stdin, as UTF-8. Stops reading (and refuses) past a few secrets' worth of bytes, so a mistaken
 * `whois < big.log` neither hangs on memory nor is compared.
 */
export async function readAllStdin(input: SecretInput): Promise<string> {
  const limit = MAX_SECRET_LENGTH * 4 + 2;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buf.length;
    if (size > limit) {
      input.stdin.pause();
      throw new UsageError(`stdin holds more than ${limit} bytes, more than one secret`, { hint: 'pipe exactly one secret, on one line' });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One line typed at the terminal, not echoed: readline does the line editing, and its echo goes to a stream that
 * drops it. Ctrl-C or Ctrl-D cancels.
 */
export function promptHidden(input: SecretInput, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = createInterface({ input: input.stdin, output: silent, terminal: true });
    let answered = false;
    input.stderr.write(prompt);
    const finish = (error: Error | undefined, line?: string) => {
      if (answered) return;
      answered = true;
      input.stderr.write('\n');
      rl.close();
      if (error) reject(error);
      else resolve(line ?? '');
    };
    rl.on('line', (line) => finish(undefined, line));
    rl.on('SIGINT', () => finish(new UsageError('cancelled: no secret was entered')));
    rl.on('close', () => finish(new UsageError('no secret was entered (end of input)')));
  });
}
