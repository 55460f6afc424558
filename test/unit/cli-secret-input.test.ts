/** Reading a secret from stdin or a hidden prompt, with stand-in streams: nothing typed is echoed; too much is refused. */
import { PassThrough } from 'node:stream';
import { UsageError } from '../../src/errors';
import { promptHidden, readAllStdin, type SecretInput } from '../../src/cli/secret-input';
import { MAX_SECRET_LENGTH } from '../../src/reconcile/whois';

function streams(): { input: SecretInput; stdin: PassThrough; written: () => string } {
  const stdin = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { input: { stdin, stderr }, stdin, written: () => text };
}

test('readAllStdin returns everything piped in', async () => {
  const { input, stdin } = streams();
  stdin.end('abcdef0123456789\n');
  await expect(readAllStdin(input)).resolves.toBe('abcdef0123456789\n');
});

test('readAllStdin refuses far more than one secret, without quoting it', async () => {
  const { input, stdin } = streams();
  const big = 'q'.repeat(MAX_SECRET_LENGTH * 4 + 10);
  stdin.end(big);
  const error = await readAllStdin(input).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  expect((error as Error).message).toMatch(/more than one secret/);
  expect((error as Error).message).not.toContain('qqqqqqqq');
});

test('promptHidden prints the prompt, reads one line and echoes none of it', async () => {
  const { input, stdin, written } = streams();
  const answer = promptHidden(input, 'Secret: ');
  stdin.write('s3cr3t-value-0123\n');
  await expect(answer).resolves.toBe('s3cr3t-value-0123');
  expect(written()).toBe('Secret: \n');
});

test('promptHidden at end of input is a clear refusal', async () => {
  const { input, stdin } = streams();
  const answer = promptHidden(input, 'Secret: ');
  stdin.end();
  await expect(answer).rejects.toThrow('no secret was entered');
});
