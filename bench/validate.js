#!/usr/bin/env node
/**
 * Benchmark of `scaleflex-keys validate` (run with `npm run bench:validate`, which builds first):
 *   1. cold start: spawn `node dist/cli/bin.js validate -f examples/scaleflex-keys.yaml`, N runs, median wall ms;
 *   2. a generated 10,000-key manifest (about 0.76 MB): through the CLI (median wall ms), then in-process
 *      parse + validate (median ms);
 *   3. a generated 100,000-key manifest (about 7.7 MB): through the CLI, median wall ms and peak RSS.
 * Each target is printed with its limit, computed in this run where it is relative (to `node -e 0`, to the file
 * size), and the ratio measured / limit: at most 1 passes. Targets: 10,000 keys <= 300 ms and <= 6x `node -e 0`;
 * 100,000 keys <= 1.5 s with peak RSS <= 20x the file size; cost per key linear (the time above the cold validate of
 * the example, per key, at most 1.25x as much at 100,000 keys as at 10,000).
 * Options: RUNS=N (default 9).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'bin.js');
const RUNS = Number(process.env.RUNS ?? 9);

const { median } = require('./stats');
const fmt = (ms) => `${ms.toFixed(1)} ms`;

/**
 * A manifest with `count` keys over 4 projects, using permission sets, former descriptions and flags: about
 * 77 bytes a key (10,000 keys 0.76 MB, 100,000 keys 7.7 MB, under the 10 MB a manifest may be).
 */
function generateManifest(count) {
  const lines = [
    '# yaml-language-server: $schema=../schemas/scaleflex-keys.schema.json',
    'version: 1',
    'permissionSets:',
    '  read-only: [OBJECTS_LIST, OBJECTS_FETCH]',
    '  uploader: [FILE_UPLOAD, FILE_META_CREATE, DIR_CREATE]',
    'projects:',
  ];
  const projects = 4;
  for (let p = 0; p < projects; p++) {
    lines.push(`  - token: bench-${p}`, '    unmanaged: ignore', '    keys:');
    for (let k = p; k < count; k += projects) {
      lines.push(`      - description: svc-${k} t${k % 97}`);
      lines.push(`        permissions: [${k % 2 ? 'OBJECTS_LIST' : 'FILE_UPLOAD'}]`);
      if (k % 10 === 0) lines.push('        permissionSets: [read-only, uploader]');
      if (k % 50 === 0) lines.push(`        formerDescriptions: ["svc-${k}"]`);
      if (k % 14 === 0) lines.push('        active: false');
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A preload that writes the process's peak RSS (bytes) and CPU time (ms, user + system, all threads) to the file
 * named by SFK_BENCH_RSS_OUT, at exit. CPU time moves less with the machine's load than wall time does.
 */
const RSS_PRELOAD = `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeFileSync(process.env.SFK_BENCH_RSS_OUT, JSON.stringify({ rss: u.maxRSS * 1024, cpu: (u.userCPUTime + u.systemCPUTime) / 1000 })); });`;

/** Runs the CLI RUNS times; wall times (ms) and, with `rssDir`, each run's peak RSS (bytes) and CPU time (ms). */
function timeCli(args, cwd, rssDir, script = BIN) {
  const times = [];
  const rss = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    let argv = script ? [script, ...args] : args;
    let env = process.env;
    if (rssDir) {
      const preload = path.join(rssDir, 'rss-preload.js');
      fs.writeFileSync(preload, RSS_PRELOAD);
      argv = ['-r', preload, ...argv];
      env = { ...process.env, SFK_BENCH_RSS_OUT: path.join(rssDir, 'rss.json') };
    }
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { cwd, encoding: 'utf8', env });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`validate exited ${r.status}: ${r.stderr}`);
    if (rssDir) {
      const usage = JSON.parse(fs.readFileSync(path.join(rssDir, 'rss.json'), 'utf8'));
      rss.push(usage.rss);
      cpu.push(usage.cpu);
    }
  }
  return { times, rss, cpu };
}

/** One target line: what was measured, the limit (with how it was derived) and the ratio. */
function target(name, measured, limit, unit, how) {
  const show = (x) => (unit === 'MB' ? `${(x / 1e6).toFixed(1)} MB` : unit === 'us' ? `${x.toFixed(1)} us` : fmt(x));
  const ratio = measured / limit;
  console.log(`  target ${name}: ${show(measured)} <= ${show(limit)}${how ? ` (${how})` : ''}: ratio ${ratio.toFixed(2)} ${ratio <= 1 ? 'PASS' : 'FAIL'}`);
}

function main() {
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` first (npm run bench:validate does)');
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${RUNS} runs each\n`);

  // Warm the filesystem cache so the first cold run is not an outlier from disk reads.
  timeCli(['validate', '-f', 'examples/scaleflex-keys.yaml'], ROOT);
  const cold = timeCli(['validate', '-f', 'examples/scaleflex-keys.yaml'], ROOT).times;
  const nodeOnly = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    nodeOnly.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(`cold validate of examples/scaleflex-keys.yaml: median ${fmt(median(cold))} wall (min ${fmt(Math.min(...cold))}; bare \`node -e 0\`: ${fmt(median(nodeOnly))})  target < 300 ms`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
  try {
    const file = path.join(dir, 'scaleflex-keys.yaml');
    const text = generateManifest(10_000);
    fs.writeFileSync(file, text);

    // The CLI runs first, while this process is idle: afterwards its own heap work would compete for the cores.
    const small = timeCli(['validate'], dir, dir);
    const cli = small.times;
    console.log(`10,000 keys (${(text.length / 1e6).toFixed(2)} MB), CLI \`validate\` (cold process): median ${fmt(median(cli))} wall (min ${fmt(Math.min(...cli))}), CPU ${fmt(median(small.cpu))}`);
    // The same ratio in CPU time, which a busy machine distorts less (not a target: for reading figures under load).
    const bareCpu = median(timeCli(['-e', '0'], dir, dir, null).cpu);
    console.log(`  CPU time: ${fmt(median(small.cpu))} = ${(median(small.cpu) / bareCpu).toFixed(2)}x the CPU of \`node -e 0\` (${fmt(bareCpu)})`);
    target('10,000 keys <= 300 ms', median(cli), 300, 'ms');
    target('10,000 keys <= 6x `node -e 0`', median(cli), 6 * median(nodeOnly), 'ms', `6 x ${fmt(median(nodeOnly))}`);

    const bigFile = path.join(dir, 'big', 'scaleflex-keys.yaml');
    fs.mkdirSync(path.dirname(bigFile));
    const bigText = generateManifest(100_000);
    fs.writeFileSync(bigFile, bigText);
    const big = timeCli(['validate'], path.dirname(bigFile), dir);
    const bigBytes = Buffer.byteLength(bigText);
    console.log(`100,000 keys (${(bigBytes / 1e6).toFixed(2)} MB), CLI \`validate\` (cold process): median ${fmt(median(big.times))} wall (min ${fmt(Math.min(...big.times))}), CPU ${fmt(median(big.cpu))}, peak RSS median ${(median(big.rss) / 1e6).toFixed(1)} MB`);
    target('100,000 keys <= 1.5 s', median(big.times), 1500, 'ms');
    target('100,000 keys peak RSS <= 20x file size', median(big.rss), 20 * bigBytes, 'MB', `20 x ${(bigBytes / 1e6).toFixed(2)} MB`);
    // Cost per key: the wall time above the cold validate of the small example (start-up and loading), per key.
    const perKey = (ms, keys) => (ms - median(cold)) / keys;
    const perKeySmall = perKey(median(cli), 10_000);
    const perKeyLarge = perKey(median(big.times), 100_000);
    console.log(`cost per key above the cold start: ${(perKeySmall * 1000).toFixed(1)} us at 10,000 keys, ${(perKeyLarge * 1000).toFixed(1)} us at 100,000 keys`);
    target('cost per key linear: per key at 100,000 <= 1.25x per key at 10,000', perKeyLarge * 1000, 1.25 * perKeySmall * 1000, 'us', `1.25 x ${(perKeySmall * 1000).toFixed(1)} us`);

    const manifest = require(path.join(ROOT, 'dist', 'manifest'));
    const phases = { total: [] };
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      const result = manifest.parseManifestText(fs.readFileSync(file, 'utf8'), 'scaleflex-keys.yaml');
      phases.total.push(Number(process.hrtime.bigint() - t) / 1e6);
      const keys = result.state ? result.state.projects.reduce((n, p) => n + p.keys.length, 0) : 0;
      if (keys !== 10_000) throw new Error(`expected 10,000 valid keys, got ${keys}: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
    }
    console.log(`10,000 keys, in process (parseManifestText, warm after the first run): median ${fmt(median(phases.total))} (min ${fmt(Math.min(...phases.total))})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
module.exports = { generateManifest };
