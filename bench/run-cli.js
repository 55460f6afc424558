/** Shared by the benchmark scripts: the built CLI as a child process, timed, with only PATH and NO_COLOR inherited. */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const BIN = path.join(__dirname, '..', 'dist', 'cli', 'bin.js');

/** The child's peak resident set so far (VmHWM, kB -> MB), or undefined where /proc is not available. */
function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `scaleflex-keys args` in `cwd` with `env`; resolves to its exit code, wall time (ms), stdout, stderr and
 * peak RSS in MB (`rssMb`: the high-water mark read every 20 ms while it runs; undefined off Linux).
 */
function runCli(args, env, cwd) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // Only what the CLI needs: the key travels in the environment of this benchmark's own child, as CI passes it.
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    let rssMb;
    // VmHWM only grows, so its last reading before exit is the peak (to within the last 20 ms).
    const poll = setInterval(() => (rssMb = peakRssMb(child.pid) ?? rssMb), 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => (clearInterval(poll), reject(e)));
    child.on('exit', () => clearInterval(poll));
    child.on('close', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - started) / 1e6, stdout, stderr, rssMb }));
  });
}

/** The 1-minute load average (every figure is printed with it: the machine is shared). */
function loadAverage() {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  } catch {
    return 'n/a';
  }
}

module.exports = { BIN, runCli, loadAverage };
