#!/usr/bin/env node
/**
 * Benchmark of `plan` and `apply` end to end (run with `npm run bench:plan`, which builds first): the built CLI
 * as a child process against an in-process emulator, measured against the physical limits the API sets.
 *   1. plan of one project with 10,000 keys, emulator latency 20 ms: limit = (pages + self) x latency, since
 *      cursor pages are sequential;
 *   2. plan of 200 projects x 50 keys, latency 20 ms, --parallelism 8: limit = pages x latency (200 x 20 ms),
 *      also shown against the tighter parallel floor ceil(200 / 8) x (self + 1 page) x latency;
 *   3. apply of 1,000 creates at --rate-limit 50 req/s per key: limit = 1,000 / 50 = 20 s;
 *   4. (no target) apply of 10,000 creates with no latency or rate limit and --secrets-out: the CLI's own cost.
 * Targets: plans within 1.5x of their limit, apply within 1.2x. Prints medians of several runs.
 * Options: RUNS=N for the plans (default 5), APPLY_RUNS=N (default 2).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startEmulator } = require('../dist/emulator');

const RUNS = Number(process.env.RUNS ?? 5);
const APPLY_RUNS = Number(process.env.APPLY_RUNS ?? 2);
const LATENCY_MS = 20;
const PAGE = 100;

const { median } = require('./stats');
const { runCli } = require('./run-cli');
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

function report(name, times, requests, limitMs, target, extra = '') {
  const med = median(times);
  const ratio = med / limitMs;
  console.log(
    `${name}: median ${secs(med)} over ${times.length} run(s) [${times.map(secs).join(', ')}]; ${requests} requests; ` +
      `physical limit ${secs(limitMs)}; ${ratio.toFixed(2)}x (target <= ${target}x) ${ratio <= target ? 'OK' : 'MISSED'}${extra}`,
  );
}

async function seeded(handle, token, count) {
  const keys = Array.from({ length: count }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] }));
  for (let i = 0; i < keys.length; i += 1000) await handle.seedKeys(token, keys.slice(i, i + 1000));
}

async function benchPlanOneBigProject(dir) {
  const handle = await startEmulator({ stateDir: path.join(dir, 'big'), port: 0, projects: ['big'], latencyMs: LATENCY_MS });
  try {
    await seeded(handle, 'big', 10_000);
    fs.writeFileSync(path.join(dir, 'big.yaml'), manifest([['big', 10_000]]));
    const times = [];
    let requests = 0;
    for (let i = 0; i < RUNS; i++) {
      handle.resetStats();
      const r = await runCli(['plan', '-f', 'big.yaml', '--detailed-exitcode'], keyEnv(handle, ['big']), dir);
      if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr}`);
      times.push(r.ms);
      requests = handle.stats().requests;
    }
    const pages = Math.ceil(10_001 / PAGE);
    report('plan, 1 project x 10,000 keys, latency 20 ms', times, requests, (pages + 1) * LATENCY_MS, 1.5, ` (${pages} pages + self)`);
  } finally {
    await handle.close();
  }
}

async function benchPlanManyProjects(dir) {
  const tokens = Array.from({ length: 200 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const handle = await startEmulator({ stateDir: path.join(dir, 'many'), port: 0, projects: tokens, latencyMs: LATENCY_MS });
  try {
    for (const t of tokens) await seeded(handle, t, 50);
    fs.writeFileSync(path.join(dir, 'many.yaml'), manifest(tokens.map((t) => [t, 50])));
    const times = [];
    let requests = 0;
    const parallelism = 8;
    for (let i = 0; i < RUNS; i++) {
      handle.resetStats();
      const r = await runCli(['plan', '-f', 'many.yaml', '--detailed-exitcode', '--parallelism', String(parallelism)], keyEnv(handle, tokens), dir);
      if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr}`);
      times.push(r.ms);
      requests = handle.stats().requests;
    }
    // The limit: pages x latency (200 pages of 50 keys, one after another).
    const pagesLimit = tokens.length * LATENCY_MS;
    // A tighter floor: every request (self + 1 page per project), 8 connections at a time.
    const parallelFloor = Math.ceil(tokens.length / parallelism) * 2 * LATENCY_MS;
    const med = median(times);
    report(
      'plan, 200 projects x 50 keys, latency 20 ms, --parallelism 8',
      times,
      requests,
      pagesLimit,
      1.5,
      ` (200 pages x 20 ms); against the parallel floor of ${secs(parallelFloor)} (400 requests over 8 connections): ${(med / parallelFloor).toFixed(2)}x`,
    );
  } finally {
    await handle.close();
  }
}

async function benchApplyCreates(dir) {
  const rate = 50;
  const count = 1000;
  const times = [];
  let stats;
  for (let i = 0; i < APPLY_RUNS; i++) {
    const token = `apply${i}`;
    const handle = await startEmulator({ stateDir: path.join(dir, `apply${i}`), port: 0, projects: [token], rateLimit: rate });
    try {
      fs.writeFileSync(path.join(dir, `${token}.yaml`), manifest([[token, count]]));
      // Let the token bucket fill so every run starts alike.
      await new Promise((r) => setTimeout(r, 1100));
      handle.resetStats();
      const r = await runCli(['apply', '-f', `${token}.yaml`, '--auto-approve'], keyEnv(handle, [token]), dir);
      if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
      times.push(r.ms);
      stats = handle.stats();
    } finally {
      await handle.close();
    }
  }
  const creates = stats.byRoute['POST /keys'] ?? 0;
  const limited = stats.byStatus['429'] ?? 0;
  report(
    `apply, ${count} creates, --rate-limit ${rate}`,
    times,
    stats.requests,
    (count / rate) * 1000,
    1.2,
    ` (${creates} POST /keys, ${limited} answered 429)`,
  );
}

/** Not a target of the issue: 10,000 creates with no latency or rate limit, secrets to a file (CLI overhead). */
async function benchApplyManyCreates(dir) {
  const count = 10_000;
  const token = 'many-creates';
  const handle = await startEmulator({ stateDir: path.join(dir, token), port: 0, projects: [token] });
  try {
    fs.writeFileSync(path.join(dir, `${token}.yaml`), manifest([[token, count]]));
    handle.resetStats();
    const r = await runCli(['apply', '-f', `${token}.yaml`, '--auto-approve', '--secrets-out', `${token}.json`], keyEnv(handle, [token]), dir);
    if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
    const written = Object.keys(JSON.parse(fs.readFileSync(path.join(dir, `${token}.json`), 'utf8'))[token]).length;
    console.log(
      `apply, ${count} creates, no latency or rate limit, --secrets-out: ${secs(r.ms)} (${(count / (r.ms / 1000)).toFixed(0)} creates/s); ` +
        `${handle.stats().requests} requests; ${written} secrets written`,
    );
  } finally {
    await handle.close();
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
  try {
    console.log(`scaleflex-keys plan/apply benchmark (node ${process.version}, ${os.cpus().length} CPUs)`);
    await benchPlanOneBigProject(dir);
    await benchPlanManyProjects(dir);
    if (APPLY_RUNS > 0) await benchApplyCreates(dir);
    if (APPLY_RUNS > 0) await benchApplyManyCreates(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
