#!/usr/bin/env node
/**
 * Benchmark of `audit` end to end (run with `npm run bench:audit`, which builds first): the built CLI as a child
 * process against an in-process emulator with 200 projects x 50 keys and 20 ms latency, `--parallelism 8`, with
 * the manifest and a policy, once per output format. The limit is the listing's physical one, as for plan:
 * 200 pages x 20 ms = 4.0 s; the target is 1.5x. Prints medians of RUNS runs (default 3).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startEmulator } = require('../dist/emulator');
const { median } = require('./stats');
const { runCli } = require('./run-cli');

const RUNS = Number(process.env.RUNS ?? 3);
const LATENCY_MS = 20;
const PROJECTS = 200;
const KEYS = 50;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

function manifest(tokens) {
  const lines = ['version: 1', 'policy:', '  - forbid: [ACCESS_MANAGE]', '    except: ["* admin (bootstrap)"]', '  - requireOwner: true', '    severity: warning', '  - maxAge: 1y', 'projects:'];
  for (const token of tokens) {
    lines.push(`  - token: ${token}`, '    unmanaged: ignore', '    keys:');
    for (let k = 0; k < KEYS; k++) {
      lines.push(`      - description: "key ${k}"`, `        permissions: [OBJECTS_LIST, ${k % 5 === 0 ? 'FILE_DELETE' : 'FILE_UPLOAD'}]`);
      if (k % 2 === 0) lines.push('        owner: "@team"');
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-audit-'));
  const tokens = Array.from({ length: PROJECTS }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const handle = await startEmulator({ stateDir: path.join(dir, 'state'), port: 0, projects: tokens, latencyMs: LATENCY_MS });
  try {
    for (const t of tokens) {
      await handle.seedKeys(t, Array.from({ length: KEYS }, (_, k) => ({ description: `key ${k}`, permissions: ['OBJECTS_LIST', k % 7 === 0 ? 'FILE_DELETE' : 'FILE_UPLOAD'] })));
    }
    fs.writeFileSync(path.join(dir, 'many.yaml'), manifest(tokens));
    const env = Object.fromEntries([['SCALEFLEX_API_URL', handle.url], ...tokens.map((t) => [`SCALEFLEX_API_KEY_${t.toUpperCase()}`, handle.adminKey(t)])]);
    const limit = PROJECTS * LATENCY_MS;
    console.log(`audit, ${PROJECTS} projects x ${KEYS} keys, latency ${LATENCY_MS} ms, --parallelism 8; limit ${secs(limit)} (${PROJECTS} pages x ${LATENCY_MS} ms), target 1.5x`);
    for (const format of ['json', 'markdown', 'html', 'csv', 'sarif']) {
      const times = [];
      let requests = 0;
      for (let i = 0; i < RUNS; i++) {
        handle.resetStats();
        const r = await runCli(['audit', '-f', 'many.yaml', '--format', format, '--out', `audit.${format}`, '--parallelism', '8'], env, dir);
        if (r.code !== 0) throw new Error(`audit exited ${r.code}: ${r.stderr}`);
        times.push(r.ms);
        requests = handle.stats().requests;
      }
      const med = median(times);
      const size = fs.statSync(path.join(dir, `audit.${format}`)).size;
      console.log(
        `  --format ${format}: median ${secs(med)} [${times.map(secs).join(', ')}]; ${requests} requests; ${(size / 1e6).toFixed(2)} MB; ` +
          `${(med / limit).toFixed(2)}x the limit ${med / limit <= 1.5 ? '✓' : '✗ (over 1.5x)'}`,
      );
    }
  } finally {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
