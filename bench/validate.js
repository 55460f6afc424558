#!/usr/bin/env node
/**
 * Benchmark of `scaleflex-keys validate` (run with `npm run bench:validate`, which builds first):
 *   1. cold start: spawn `node dist/cli/bin.js validate -f examples/scaleflex-keys.yaml`, N runs, median wall ms;
 *   2. a generated 10,000-key manifest (about 1.2 MB): through the CLI (median wall ms), then in-process
 *      parse + validate (median ms).
 * Targets on the project's 2-core machine: cold start < 300 ms, 10,000 keys < 1 s.
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

/** A manifest with `count` keys over 4 projects, using permission sets, former descriptions and flags. */
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
      lines.push(`      - description: svc-${k} team ${k % 97}`);
      lines.push(`        permissions: [OBJECTS_LIST, FILE_UPLOAD, ${k % 2 ? 'LABELS_LIST' : 'COLLECTIONS_LIST'}]`);
      if (k % 3 === 0) lines.push('        permissionSets: [read-only, uploader]');
      if (k % 10 === 0) lines.push(`        formerDescriptions: ["svc-${k}"]`);
      if (k % 7 === 0) lines.push('        active: false');
    }
  }
  return `${lines.join('\n')}\n`;
}

function timeCli(args, cwd) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`validate exited ${r.status}: ${r.stderr}`);
  }
  return times;
}

function main() {
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` first (npm run bench:validate does)');
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${RUNS} runs each\n`);

  // Warm the filesystem cache so the first cold run is not an outlier from disk reads.
  timeCli(['validate', '-f', 'examples/scaleflex-keys.yaml'], ROOT);
  const cold = timeCli(['validate', '-f', 'examples/scaleflex-keys.yaml'], ROOT);
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
    const cli = timeCli(['validate'], dir);
    console.log(`10,000 keys (${(text.length / 1024 / 1024).toFixed(2)} MB), CLI \`validate\` (cold process): median ${fmt(median(cli))} wall (min ${fmt(Math.min(...cli))})  target < 1000 ms`);

    const manifest = require(path.join(ROOT, 'dist', 'manifest'));
    const phases = { total: [] };
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      const result = manifest.parseManifestText(fs.readFileSync(file, 'utf8'), 'scaleflex-keys.yaml');
      phases.total.push(Number(process.hrtime.bigint() - t) / 1e6);
      const keys = result.state ? result.state.projects.reduce((n, p) => n + p.keys.length, 0) : 0;
      if (keys !== 10_000) throw new Error(`expected 10,000 valid keys, got ${keys}: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
    }
    console.log(`10,000 keys, in process (parseManifestText, warm after the first run): median ${fmt(median(phases.total))} (min ${fmt(Math.min(...phases.total))})  target < 1000 ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
module.exports = { generateManifest };
