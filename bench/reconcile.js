#!/usr/bin/env node
/**
 * Benchmark of `plan` and `apply` end to end (run with `npm run bench:plan`, which builds first): the built CLI
 * as a child process against an in-process emulator, each target printed with its limit (from the emulator's
 * knobs, or measured in the same run) and the ratio, medians of several runs, with the load average.
 *   1. plan, 1 project x 10,000 keys, 20 ms: limit = 101 pages x 20 ms (cursor pages are sequential; the self
 *      check goes with page 1). Target <= 1.2x. Nothing may be sent before the manifest is valid, so the CLI's
 *      own time (start, manifest, plan: the same plan at 0 ms) is printed beside it: that is what remains.
 *   2. plan, 1 x 100,000 keys, 20 ms: limit = 1,001 pages x 20 ms; target <= 1.15x and peak RSS <= 300 MB.
 *   3. plan, 500 projects x 50 keys, 20 ms, default parallelism (8): limit = ceil(500 / 8) x 1 page x 20 ms
 *      (the self check must not add a round trip); target <= 1.2x. Also against that limit plus the CLI's own
 *      time at 0 ms (25,000 keys to parse before any request).
 *   4. apply, 1,000 creates at a 50 req/s limit: limit = 1,000 / 50 = 20 s; target <= 1.05x and no 429.
 *   Plans 1 and 3 also print a minimal client's time against the same emulator in the same run (undici following
 *   the cursor chains and nothing else): what a round trip at "20 ms" really costs there; and that time with
 *   `validate` of the same manifest in front, the floor for any run that sends nothing before the manifest is valid.
 *   5. (no target) apply, 10,000 creates, no latency or rate limit, with and without --secrets-out: the CLI's
 *      own cost, and what the secrets file adds.
 * Options: RUNS=N for the plans (default 5), BIG_RUNS=N for the 100,000-key plan (default 3), APPLY_RUNS=N
 * (default 2; 0 skips 4 and 5), ONLY=1,3 to run some of them.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { request } = require('undici');
const { startEmulator } = require('../dist/emulator');
const { median } = require('./stats');
const { runCli, loadAverage } = require('./run-cli');

const RUNS = Number(process.env.RUNS ?? 5);
const BIG_RUNS = Number(process.env.BIG_RUNS ?? 3);
const APPLY_RUNS = Number(process.env.APPLY_RUNS ?? 2);
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(',').map(Number)) : undefined;
const LATENCY_MS = 20;
const PAGE = 100;
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

function report(name, times, limitMs, target, extra = '') {
  const med = median(times);
  const ratio = med / limitMs;
  console.log(
    `${name}: median ${secs(med)} over ${times.length} run(s) [${times.map(secs).join(', ')}]; limit ${secs(limitMs)}; ` +
      `${ratio.toFixed(2)}x (target <= ${target}x) ${ratio <= target ? 'OK' : 'MISSED'}${extra}; load ${loadAverage()}`,
  );
}

async function seeded(handle, token, count) {
  const keys = Array.from({ length: count }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] }));
  for (let i = 0; i < keys.length; i += 1000) await handle.seedKeys(token, keys.slice(i, i + 1000));
}

/**
 * The floor a minimal client reaches against the same emulator in the same run: undici alone following each
 * project's cursor chain, `parallelism` projects at a time — no manifest, no self check, no planning. It shows what
 * the emulator's latency really costs per round trip (timers fire a little late; the server does its work).
 */
async function minimalListing(handle, tokens, parallelism, runs = 3) {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < tokens.length) {
        const token = tokens[next++];
        let cursor = null;
        do {
          const query = `/${token}/v5/keys?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const res = await request(new URL(query, handle.url), { headers: { 'x-filerobot-key': handle.adminKey(token) } });
          cursor = (await res.body.json()).next_cursor;
        } while (cursor);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallelism, tokens.length) }, worker));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/**
 * `validate` of the same manifest through the CLI, median of `runs`: process start plus reading and validating the
 * whole manifest, which any run must finish before its first request.
 */
async function validateMs(file, dir, runs = 5) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r = await runCli(['validate', '-f', file], {}, dir);
    if (r.code !== 0) throw new Error(`validate exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
    times.push(r.ms);
  }
  return median(times);
}

const floorText = (ms, floorMs, validatedMs) =>
  `; a minimal client (undici, the cursor chains only) ${secs(floorMs)} in the same run, so ${(ms / floorMs).toFixed(2)}x of it` +
  `; with \`validate\` of the same manifest in front (${secs(validatedMs)}: nothing may be sent before it is valid) ` +
  `${secs(floorMs + validatedMs)}, so ${(ms / (floorMs + validatedMs)).toFixed(2)}x of that`;

/** Runs `plan` `runs` times; every run must find no changes (exit 0 with --detailed-exitcode: every key read). */
async function plans(handle, file, tokens, dir, runs, extraArgs = []) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    handle.resetStats();
    const r = await runCli(['plan', '-f', file, '--detailed-exitcode', ...extraArgs], keyEnv(handle, tokens), dir);
    if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
    out.push({ ms: r.ms, rssMb: r.rssMb, requests: handle.stats().requests });
  }
  return out;
}

async function benchPlanOneProject(dir, count, runs, target, rssLimitMb) {
  const token = `big${count}`;
  const handle = await startEmulator({ stateDir: path.join(dir, token), port: 0, projects: [token] });
  try {
    await seeded(handle, token, count);
    fs.writeFileSync(path.join(dir, `${token}.yaml`), manifest([[token, count]]));
    const local = await plans(handle, `${token}.yaml`, [token], dir, runs);
    handle.configure({ latencyMs: LATENCY_MS });
    const timed = await plans(handle, `${token}.yaml`, [token], dir, runs);
    const floor = await minimalListing(handle, [token], 1);
    const validated = await validateMs(`${token}.yaml`, dir);
    const pages = Math.ceil((count + 1) / PAGE);
    const limit = pages * LATENCY_MS;
    const own = median(local.map((r) => r.ms));
    const rss = Math.max(...timed.map((r) => r.rssMb ?? 0));
    report(
      `plan, 1 project x ${count.toLocaleString('en')} keys, latency 20 ms`,
      timed.map((r) => r.ms),
      limit,
      target,
      ` (${pages} pages x 20 ms; ${timed[0].requests} requests); the CLI's own time (same plan at 0 ms) ${secs(own)}, ` +
        `so against limit + own time ${(median(timed.map((r) => r.ms)) / (limit + own)).toFixed(2)}x` +
        floorText(median(timed.map((r) => r.ms)), floor, validated) +
        (rssLimitMb ? `; peak RSS ${rss.toFixed(0)} MB (target <= ${rssLimitMb} MB) ${rss <= rssLimitMb ? 'OK' : 'MISSED'}` : ''),
    );
  } finally {
    await handle.close();
  }
}

async function benchPlanManyProjects(dir) {
  const tokens = Array.from({ length: 500 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const handle = await startEmulator({ stateDir: path.join(dir, 'many'), port: 0, projects: tokens });
  try {
    for (const t of tokens) await seeded(handle, t, 50);
    fs.writeFileSync(path.join(dir, 'many.yaml'), manifest(tokens.map((t) => [t, 50])));
    const local = await plans(handle, 'many.yaml', tokens, dir, RUNS);
    handle.configure({ latencyMs: LATENCY_MS });
    const timed = await plans(handle, 'many.yaml', tokens, dir, RUNS);
    const parallelism = 8; // the default
    const floor = await minimalListing(handle, tokens, parallelism);
    const validated = await validateMs('many.yaml', dir);
    const rounds = Math.ceil(tokens.length / parallelism) * 1;
    const limit = rounds * LATENCY_MS;
    const own = median(local.map((r) => r.ms));
    report(
      'plan, 500 projects x 50 keys, latency 20 ms, default parallelism 8',
      timed.map((r) => r.ms),
      limit,
      1.2,
      ` (${rounds} rounds x 1 page x 20 ms; ${timed[0].requests} requests); the CLI's own time (same plan at 0 ms) ${secs(own)}, ` +
        `so against limit + own time ${(median(timed.map((r) => r.ms)) / (limit + own)).toFixed(2)}x` +
        floorText(median(timed.map((r) => r.ms)), floor, validated),
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
    (count / rate) * 1000,
    1.05,
    ` (${stats.requests} requests, ${creates} POST /keys, ${limited} answered 429: ${limited === 0 ? 'OK' : 'MISSED'})`,
  );
}

/** Not a target of the issue: 10,000 creates with no latency or rate limit, with and without a secrets file. */
async function benchApplyManyCreates(dir) {
  const count = 10_000;
  for (const secretsOut of [false, true]) {
    const token = `many-creates-${secretsOut ? 'file' : 'none'}`;
    const handle = await startEmulator({ stateDir: path.join(dir, token), port: 0, projects: [token] });
    try {
      fs.writeFileSync(path.join(dir, `${token}.yaml`), manifest([[token, count]]));
      handle.resetStats();
      const args = ['apply', '-f', `${token}.yaml`, '--auto-approve', ...(secretsOut ? ['--secrets-out', `${token}.json`] : [])];
      const r = await runCli(args, keyEnv(handle, [token]), dir);
      if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
      const written = secretsOut ? Object.keys(JSON.parse(fs.readFileSync(path.join(dir, `${token}.json`), 'utf8'))[token]).length : 0;
      const stats = handle.stats();
      console.log(
        `apply, ${count} creates, no latency or rate limit, ${secretsOut ? `--secrets-out (${written} secrets written)` : 'no secrets file'}: ` +
          `${secs(r.ms)} (${(count / (r.ms / 1000)).toFixed(0)} creates/s); ${stats.requests} requests; the emulator's own time per create ` +
          `(journal fsync) ${((stats.serviceMs['POST /keys'] ?? 0) / (stats.byRoute['POST /keys'] || 1)).toFixed(1)} ms; load ${loadAverage()}`,
      );
    } finally {
      await handle.close();
    }
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
  const want = (n) => !ONLY || ONLY.has(n);
  try {
    console.log(`scaleflex-keys plan/apply benchmark (node ${process.version}, ${os.cpus().length} CPUs, load ${loadAverage()})`);
    if (want(1)) await benchPlanOneProject(dir, 10_000, RUNS, 1.2);
    if (want(2)) await benchPlanOneProject(dir, 100_000, BIG_RUNS, 1.15, 300);
    if (want(3)) await benchPlanManyProjects(dir);
    if (APPLY_RUNS > 0 && want(4)) await benchApplyCreates(dir);
    if (APPLY_RUNS > 0 && want(5)) await benchApplyManyCreates(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
