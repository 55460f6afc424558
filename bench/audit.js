#!/usr/bin/env node
/**
 * Benchmark of `audit` end to end (run with `npm run bench:audit`, which builds first): the built CLI as a child
 * process against an in-process emulator with 200 projects x 50 keys and 20 ms latency, `--parallelism 8`, with
 * the manifest and a policy, once per output format.
 *
 * The limit is the listing's physical one, as for plan: 200 pages one after another at 20 ms each (nominally
 * 4.0 s). It is MEASURED in the same run, interleaved with the audits (this process lists every project with the
 * client, one project after another), so a loaded machine slows both sides alike. Also shown: the parallel floor,
 * the same listing 8 projects at a time (what `--parallelism 8` could reach with no CPU work at all).
 * Target: each format's median within 1.5x the limit's median. Prints medians of RUNS runs (default 3).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { KeysApiFactory } = require('../dist/api');
const { startEmulator } = require('../dist/emulator');
const { median } = require('./stats');
const { runCli } = require('./run-cli');

const RUNS = Number(process.env.RUNS ?? 3);
const LATENCY_MS = 20;
const PROJECTS = 200;
const KEYS = 50;
const PARALLELISM = 8;
const TARGET = 1.5;
const FORMATS = ['json', 'markdown', 'html', 'csv', 'sarif'];
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

/** Lists every project's keys with the client, `parallelism` projects at a time; resolves to the wall time (ms). */
async function listAll(handle, tokens, parallelism) {
  const factory = new KeysApiFactory({ parallelism });
  const t0 = performance.now();
  let next = 0;
  let keys = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++];
      const api = await factory.open({ project: token, apiUrl: handle.url, apiKey: handle.adminKey(token), credentialSource: 'bench', access: 'read', purpose: 'audit' });
      for await (const _ of api.list()) keys++;
    }
  };
  await Promise.all(Array.from({ length: parallelism }, worker));
  const ms = performance.now() - t0;
  await factory.close();
  if (keys !== tokens.length * (KEYS + 1)) throw new Error(`listed ${keys} keys, expected ${tokens.length * (KEYS + 1)}`);
  return ms;
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
    console.log(
      `audit, ${PROJECTS} projects x ${KEYS} keys (+1 admin key each), latency ${LATENCY_MS} ms, --parallelism ${PARALLELISM}, ` +
        `manifest with 3 policy rules; ${RUNS} runs; node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    const limits = [];
    const floors = [];
    const times = Object.fromEntries(FORMATS.map((f) => [f, []]));
    const requests = {};
    for (let i = 0; i < RUNS; i++) {
      // Each run measures the limit first, then audits in every format: the same conditions for both.
      limits.push(await listAll(handle, tokens, 1));
      floors.push(await listAll(handle, tokens, PARALLELISM));
      for (const format of FORMATS) {
        handle.resetStats();
        const r = await runCli(['audit', '-f', 'many.yaml', '--format', format, '--out', `audit.${format}`, '--parallelism', String(PARALLELISM)], env, dir);
        if (r.code !== 0) throw new Error(`audit exited ${r.code}: ${r.stderr}`);
        times[format].push(r.ms);
        requests[format] = handle.stats().requests;
      }
    }
    const limit = median(limits);
    const floor = median(floors);
    console.log(
      `  limit (measured): ${PROJECTS} pages one after another, median ${secs(limit)} [${limits.map(secs).join(', ')}] (nominal ${secs(PROJECTS * LATENCY_MS)}); ` +
        `parallel floor (${PARALLELISM} at a time): median ${secs(floor)} [${floors.map(secs).join(', ')}]`,
    );
    let met = true;
    for (const format of FORMATS) {
      const med = median(times[format]);
      const ratio = med / limit;
      met &&= ratio <= TARGET;
      const size = fs.statSync(path.join(dir, `audit.${format}`)).size;
      console.log(
        `  audit --format ${format}: median ${secs(med)} [${times[format].map(secs).join(', ')}]; ${requests[format]} requests; ${(size / 1e6).toFixed(2)} MB; ` +
          `${ratio.toFixed(2)}x the limit (target <= ${TARGET}x) ${ratio <= TARGET ? 'OK' : 'MISSED'}; ` +
          `${(med / (PROJECTS * LATENCY_MS)).toFixed(2)}x the nominal limit; ${(med / floor).toFixed(2)}x the parallel floor`,
      );
    }
    console.log(met ? `every format within ${TARGET}x the measured limit` : `some format over ${TARGET}x the measured limit`);
  } finally {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
