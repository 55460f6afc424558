/**
 * `scaleflex-keys … | head`: a reader that closes the pipe early must not turn into an unhandled EPIPE stack trace;
 * the command finishes with its own exit code.
 */
import { spawn } from 'node:child_process';
import { BIN } from '../helpers/cli';

test('output to a pipe whose reader has gone is dropped without a stack trace, and the exit code is the command\'s', async () => {
  for (let round = 0; round < 5; round++) {
    const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader leaves before the help text is written, as `head -c 10` would.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/Unhandled|EPIPE|at .*\.js:\d+/);
    expect(code).toBe(0);
  }
});
