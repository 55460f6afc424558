/** Shared by the benchmark scripts: the built CLI as a child process, timed, with only PATH and NO_COLOR inherited. */
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const BIN = path.join(__dirname, '..', 'dist', 'cli', 'bin.js');

/** Runs `scaleflex-keys args` in `cwd` with `env`; resolves to its exit code, wall time (ms), stdout and stderr. */
function runCli(args, env, cwd) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // Only what the CLI needs: the key travels in the environment of this benchmark's own child, as CI passes it.
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - started) / 1e6, stdout, stderr }));
  });
}

module.exports = { BIN, runCli };
