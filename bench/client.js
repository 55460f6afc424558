/**
 * Client benchmark (plain Node, requires the compiled ../dist): the undici client against the in-process
 * emulator over loopback, measured against the physical limits the emulator's knobs impose.
 *   1. listing 10,000 keys with 20 ms added to every answer: the floor is pages x latency (100 x 20 ms = 2 s);
 *   2. 1,000 creates under a rate limit of 50 requests/s: the floor is 1,000 / 50 = 20 s.
 * Target for both: within 1.2x the floor. Reports wall time, requests made and 429s; medians of several runs.
 * Usage: npm run bench:client [-- --list-runs N --create-runs N]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { KeysApiFactory } = require('../dist/api');
const { startEmulator } = require('../dist/emulator');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LIST_RUNS = arg('--list-runs', 5);
const CREATE_RUNS = arg('--create-runs', 3);
const KEYS = 10_000;
const LATENCY_MS = 20;
const CREATES = 1000;
const RATE = 50;
const PARALLELISM = 8;

const { median } = require('./stats');

async function withEmulator(opts, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
  const emu = await startEmulator({ stateDir: dir, port: 0, ...opts });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function open(emu, factory) {
  return factory.open({
    project: 'demo',
    apiUrl: emu.url,
    apiKey: emu.adminKey('demo'),
    credentialSource: 'bench',
    access: 'manage', purpose: 'apply',
  });
}

async function benchList() {
  return withEmulator({}, async (emu) => {
    // 9,999 seeded keys and the bootstrap admin key: 10,000 keys, 100 pages of 100.
    await emu.seedKeys('demo', Array.from({ length: KEYS - 1 }, (_, i) => ({ description: `key ${i}`, permissions: ['OBJECTS_LIST'] })));
    emu.configure({ latencyMs: LATENCY_MS });
    const runs = [];
    for (let r = 0; r < LIST_RUNS; r++) {
      const factory = new KeysApiFactory({ parallelism: PARALLELISM });
      const api = await open(emu, factory);
      emu.resetStats();
      const t0 = performance.now();
      let n = 0;
      for await (const _ of api.list()) n++;
      const ms = performance.now() - t0;
      const stats = emu.stats();
      await factory.close();
      if (n !== KEYS) throw new Error(`listed ${n} keys, expected ${KEYS}`);
      runs.push({ ms, requests: stats.requests, r429: stats.byStatus['429'] ?? 0 });
    }
    return runs;
  });
}

async function benchCreates() {
  const runs = [];
  for (let r = 0; r < CREATE_RUNS; r++) {
    runs.push(
      await withEmulator({ rateLimit: RATE }, async (emu) => {
        const factory = new KeysApiFactory({ parallelism: PARALLELISM });
        const api = await open(emu, factory);
        emu.resetStats();
        const t0 = performance.now();
        const made = await Promise.all(
          Array.from({ length: CREATES }, (_, i) => api.create({ description: `bench ${i}`, permissions: ['OBJECTS_LIST'] })),
        );
        const ms = performance.now() - t0;
        const stats = emu.stats();
        await factory.close();
        if (new Set(made.map((m) => m.key.uuid)).size !== CREATES) throw new Error('creates did not return distinct keys');
        return { ms, requests: stats.requests, r429: stats.byStatus['429'] ?? 0 };
      }),
    );
  }
  return runs;
}

function report(name, runs, floorMs, detail) {
  const ms = median(runs.map((r) => r.ms));
  const ratio = ms / floorMs;
  console.log(
    `${name}: median ${(ms / 1000).toFixed(2)} s over ${runs.length} runs (runs: ${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')} s); ` +
      `requests ${median(runs.map((r) => r.requests))}, 429s ${median(runs.map((r) => r.r429))}; ` +
      `floor ${(floorMs / 1000).toFixed(2)} s (${detail}); ${ratio.toFixed(2)}x the floor, target <= 1.20x: ${ratio <= 1.2 ? 'met' : 'NOT met'}`,
  );
}

async function main() {
  console.log(`node ${process.version}, ${os.cpus().length} cpus, parallelism ${PARALLELISM}`);
  const pages = Math.ceil(KEYS / 100);
  report(`list ${KEYS} keys, latency ${LATENCY_MS} ms`, await benchList(), pages * LATENCY_MS, `${pages} pages x ${LATENCY_MS} ms`);
  report(`${CREATES} creates, rate limit ${RATE}/s`, await benchCreates(), (CREATES / RATE) * 1000, `${CREATES} / ${RATE} per s`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
