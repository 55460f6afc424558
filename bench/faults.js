/**
 * Fault and latency benchmark (plain Node, requires the compiled ../dist): the built CLI (`node dist/cli/bin.js
 * plan`) as a child process against an in-process emulator, measured against limits taken in the same run.
 *   1. tail under faults: plan of one project of 10,000 keys, 20 ms added to every answer, fault rate 0.2 with
 *      every fault kind (stalls held 65 s, past every fixed timeout); median over 5 seeds. Limit: the same plan
 *      without faults (median of 3). Target <= 3x.
 * (The 500-project plan that was measured here is in bench/reconcile.js, with the other plan targets.)
 *    Each injected 429 and 503 carries Retry-After: 1, which the client honours. Those waits sit on the critical
 *    path (one cursor chain) and alone are ~3x the fault-free run, so the target as written is out of reach for
 *    any client that honours them; the same runs less those waits (what the client itself adds to the tail) are
 *    printed with their own verdict against the same 3x.
 * Usage: npm run bench:faults [-- --seeds N]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startEmulator } = require('../dist/emulator');
const { median } = require('./stats');
const { runCli, loadAverage } = require('./run-cli');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SEEDS = arg('--seeds', 5);
const LATENCY_MS = 20;
/** What the emulator's injected 429 and 503 answers ask for (`Retry-After: 1`). */
const RETRY_AFTER_MS = 1000;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

function manifest(projects) {
  const lines = ['version: 1', 'projects:'];
  for (const [token, count] of projects) {
    lines.push(`  - token: ${token}`, '    keys:');
    for (let k = 0; k < count; k++) lines.push(`      - description: "key ${k}"`, '        permissions: [OBJECTS_LIST, FILE_UPLOAD]');
  }
  return `${lines.join('\n')}\n`;
}

const keyEnv = (handle, tokens) =>
  Object.fromEntries([['SCALEFLEX_API_URL', handle.url], ...tokens.map((t) => [`SCALEFLEX_API_KEY_${t.toUpperCase().replace(/-/g, '_')}`, handle.adminKey(t)])]);

async function seed(handle, token, count) {
  const keys = Array.from({ length: count }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] }));
  for (let i = 0; i < keys.length; i += 1000) await handle.seedKeys(token, keys.slice(i, i + 1000));
}

async function plan(handle, file, tokens, dir) {
  const r = await runCli(['plan', '-f', file, '--detailed-exitcode'], keyEnv(handle, tokens), dir);
  // 0 = no changes: the plan read every key. Anything else is a failure, never a fast "success".
  if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
  return r.ms;
}

function report(name, measured, limitMs, target, detail) {
  const ratio = measured / limitMs;
  console.log(`${name}: ${secs(measured)} ${detail}; limit ${secs(limitMs)}; ${ratio.toFixed(2)}x (target <= ${target}x) ${ratio <= target ? 'OK' : 'MISSED'}; load ${loadAverage()}`);
}

async function benchTail(dir) {
  const handle = await startEmulator({ stateDir: path.join(dir, 'tail'), port: 0, projects: ['big'], latencyMs: LATENCY_MS });
  try {
    await seed(handle, 'big', 10_000);
    fs.writeFileSync(path.join(dir, 'big.yaml'), manifest([['big', 10_000]]));
    const cleanRuns = [];
    for (let i = 0; i < 3; i++) cleanRuns.push(await plan(handle, 'big.yaml', ['big'], dir));
    const faulty = [];
    const beyondMandated = [];
    const mandated = [];
    const faults = {};
    for (let s = 1; s <= SEEDS; s++) {
      handle.configure({ faultRate: 0.2, seed: s });
      handle.resetStats();
      const ms = await plan(handle, 'big.yaml', ['big'], dir);
      const injected = handle.stats().faults;
      faulty.push(ms);
      // Every injected 429 and 503 says Retry-After: 1, which the client honours (the pages are a sequential
      // chain, so each such wait adds to the wall time): the server's own floor for this seed.
      mandated.push(((injected.http429 ?? 0) + (injected.http503 ?? 0)) * RETRY_AFTER_MS);
      beyondMandated.push(ms - mandated[mandated.length - 1]);
      for (const [k, v] of Object.entries(injected)) faults[k] = (faults[k] ?? 0) + v;
      handle.configure({ faultRate: 0 });
    }
    const clean = median(cleanRuns);
    report(
      'plan 10,000 keys, fault rate 0.2 (all kinds, stalls 65 s), 20 ms',
      median(faulty),
      clean,
      3,
      `median of ${SEEDS} seeds [${faulty.map(secs).join(', ')}]; faults injected ${JSON.stringify(faults)}; fault-free [${cleanRuns.map(secs).join(', ')}]`,
    );
    // The target as written cannot be met by a client that honours Retry-After: the waits the server asked for
    // are on the critical path (the pages are one cursor chain) and alone come near or past 3x the fault-free run.
    const waits = median(mandated);
    console.log(
      `  of which the server's Retry-After waits (1 s per injected 429 or 503, which the client must honour): median ${secs(waits)} ` +
        `= ${(waits / clean).toFixed(2)}x the fault-free run on their own`,
    );
    report(
      '  what the client adds: the same runs less those waits',
      median(beyondMandated),
      clean,
      3,
      `median [${beyondMandated.map(secs).join(', ')}]`,
    );
  } finally {
    await handle.close();
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-faults-'));
  try {
    await benchTail(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
