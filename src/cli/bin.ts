#!/usr/bin/env node
/** The `scaleflex-keys` executable: runs the CLI and exits with its code once output is flushed. */
import { main } from './main';

// `scaleflex-keys … | head`: once the reader has gone, the rest of the output has nowhere to go. Drop it and let
// the command finish (an apply half-done because its log reader left would be worse); never a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
