#!/usr/bin/env node
/**
 * Benchmark of `apply` (run with `npm run bench:apply`, which builds first): the built CLI as a child process
 * against an in-process emulator with 20 ms latency, each run on freshly seeded keys, against the physical limit
 * measured from the emulator's own knobs in the same run:
 *   1. 2,000 deactivations (keys not in the manifest): limit = (2 x pages + chunks) round trips, the bound
 *      (a listing to plan, one to check preconditions, 20 bulk calls of 100); target <= 1.5x. Also prints the
 *      requests sent, which an integration test asserts exactly.
 *   2. 5,000 permission changes at the default parallelism 8: limit = (self + pages) x latency, sequential cursor
 *      pages, plus ceil(5,000 / 8) x latency for the PATCHes; target <= 1.3x. The emulator makes every PATCH
 *      durable (journal fsync) after the injected latency, so each round trip is latency + its own time: the
 *      ratio is also printed against the limit with that time added (measured in the same run, `serviceMs`).
 * Prints medians and the load average. RUNS=N (default 3).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startEmulator } = require('../dist/emulator');
const { median } = require('./stats');
const { runCli, loadAverage } = require('./run-cli');

const RUNS = Number(process.env.RUNS ?? 3);
const LATENCY_MS = 20;
const PAGE = 100;
const PARALLELISM = 8;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function one(dir, run, { count, manifestKeys, seedPerms }) {
  const token = 'bench';
  const handle = await startEmulator({ stateDir: path.join(dir, `state-${run}-${count}`), port: 0, projects: [token] });
  try {
    const keys = Array.from({ length: count }, (_, k) => ({ description: `key ${k}`, permissions: seedPerms }));
    for (let i = 0; i < keys.length; i += 1000) await handle.seedKeys(token, keys.slice(i, i + 1000));
    const lines = ['version: 1', 'projects:', `  - token: ${token}`, manifestKeys.length ? '    keys:' : '    keys: []'];
    for (const k of manifestKeys) lines.push(`      - description: "${k.description}"`, `        permissions: [${k.permissions.join(', ')}]`);
    fs.writeFileSync(path.join(dir, 'm.yaml'), `${lines.join('\n')}\n`);
    handle.configure({ latencyMs: LATENCY_MS });
    handle.resetStats();
    const env = { SCALEFLEX_API_URL: handle.url, SCALEFLEX_API_KEY_BENCH: handle.adminKey(token) };
    const r = await runCli(['apply', '-f', 'm.yaml', '--auto-approve', '--force', '--force-permission-removal', '--parallelism', String(PARALLELISM)], env, dir);
    if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr}`);
    const stats = handle.stats();
    return { ms: r.ms, requests: stats.requests, byRoute: stats.byRoute, serviceMs: stats.serviceMs };
  } finally {
    await handle.close();
  }
}

function report(name, results, limitMs, target, extra = '') {
  const med = median(results.map((r) => r.ms));
  const ratio = med / limitMs;
  console.log(
    `${name}: median ${secs(med)} over ${results.length} run(s) [${results.map((r) => secs(r.ms)).join(', ')}]; ${results[0].requests} requests ` +
      `${JSON.stringify(results[0].byRoute)}; limit ${secs(limitMs)}; ${ratio.toFixed(2)}x (target <= ${target}x) ${ratio <= target ? 'OK' : 'MISSED'}${extra}; load ${loadAverage()}`,
  );
}

/** The emulator's own mean time per request of `route` beyond the latency, median over the runs. */
const ownMs = (results, route) => median(results.map((r) => (r.serviceMs[route] ?? 0) / (r.byRoute[route] || 1)));

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-apply-'));
  try {
    const deact = [];
    for (let i = 0; i < RUNS; i++) deact.push(await one(dir, i, { count: 2000, manifestKeys: [], seedPerms: ['OBJECTS_LIST'] }));
    const pages = Math.ceil(2001 / PAGE);
    const chunks = Math.ceil(2000 / 100);
    report('apply, 2,000 deactivations, 20 ms', deact, (2 * pages + chunks) * LATENCY_MS, 1.5);

    const perms = [];
    const want = Array.from({ length: 5000 }, (_, k) => ({ description: `key ${k}`, permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'] }));
    for (let i = 0; i < RUNS; i++) perms.push(await one(dir, i, { count: 5000, manifestKeys: want, seedPerms: ['OBJECTS_LIST'] }));
    const selfAndPages = 1 + Math.ceil(5001 / PAGE);
    const rounds = Math.ceil(5000 / PARALLELISM);
    const limit = selfAndPages * LATENCY_MS + rounds * LATENCY_MS;
    const patchOwn = ownMs(perms, 'PATCH /keys/{uuid}');
    const withServer = limit + rounds * patchOwn;
    const med = median(perms.map((r) => r.ms));
    report(
      'apply, 5,000 permission changes, 20 ms, parallelism 8',
      perms,
      limit,
      1.3,
      `; the emulator's own time per PATCH (after the latency: journal fsync) ${patchOwn.toFixed(1)} ms, so the limit with it is ` +
        `${secs(withServer)} and the ratio ${(med / withServer).toFixed(2)}x`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
