/**
 * Emulator benchmark (plain Node, requires the compiled ../dist). Runs the real CLI emulator as a child
 * process and drives it over loopback with undici:
 *   1. 10,000 POST /keys from 16 concurrent clients (every answer fsynced) — target under 30 s;
 *   2. listing a project of 100,000 keys page by page from one client. The target (at least 2,000 pages/s) is the
 *      throughput of a running emulator, which is what a user lists against: it is judged on the WARM_LISTINGS
 *      listings that follow a first, warm-up listing of the same process. That first listing right after the
 *      restart (cold: both processes still compiling their code) is timed too and printed beside it, without a
 *      verdict. Also the first page vs the last page of the warm listings (median per page);
 *   3. per-request overhead: median latency of GET /keys/self;
 *   4. restart with 100,000 keys (spawn to "listening") — target at most 500 ms.
 * Prints the median of several runs, then each target with its limit, the ratio and a verdict. Usage: npm run bench:emulator [-- --runs N]
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Pool } = require('undici');
const { startEmulator } = require('../dist/emulator');

const BIN = path.join(__dirname, '../dist/cli/bin.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const CREATES = 10_000;
const CLIENTS = 16;
const BIG = 100_000;
const WARM_LISTINGS = 2;

const { median } = require('./stats');
const fmt = (n, d = 1) => n.toFixed(d);

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
}

/** Starts the CLI emulator on a free port; resolves with its URL, admin key and a stop function. */
function startChild(dir) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-dir', dir, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && out.includes('admin key in')) {
        const admin = fs.readFileSync(path.join(dir, 'demo.admin-key'), 'utf8').trim();
        resolve({
          url: m[1],
          admin,
          startMs: performance.now() - t0,
          stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }),
        });
      }
    });
    proc.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
}

async function call(pool, method, p, key, body) {
  const res = await pool.request({
    method,
    path: p,
    headers: { 'x-filerobot-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.body.json();
  if (res.statusCode >= 300) throw new Error(`${method} ${p}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

async function benchCreates() {
  const dir = tempDir();
  const emu = await startChild(dir);
  const pool = new Pool(emu.url, { connections: CLIENTS });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < CREATES) {
        const i = next++;
        await call(pool, 'POST', '/demo/v5/keys', emu.admin, { description: `bench-${i}`, permissions: ['OBJECTS_LIST', 'ACCESS_READ'] });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  await emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

async function seedBig(dir) {
  const emu = await startEmulator({ stateDir: dir, port: 0 });
  for (let done = 0; done < BIG - 1; ) {
    const n = Math.min(10_000, BIG - 1 - done);
    await emu.seedKeys('demo', Array.from({ length: n }, (_, i) => ({ description: `big-${done + i}`, permissions: ['OBJECTS_LIST'] })));
    done += n;
  }
  await emu.close();
}

async function benchList(emu) {
  const pool = new Pool(emu.url, { connections: 1 });
  let cursor = null;
  let pages = 0;
  let keys = 0;
  const pageMs = [];
  const t0 = performance.now();
  do {
    const p0 = performance.now();
    const res = await call(pool, 'GET', `/demo/v5/keys?limit=100${cursor ? `&cursor=${cursor}` : ''}`, emu.admin);
    pageMs.push(performance.now() - p0);
    keys += res.keys.length;
    cursor = res.next_cursor;
    pages++;
  } while (cursor);
  const seconds = (performance.now() - t0) / 1000;
  if (keys !== BIG) throw new Error(`listed ${keys} keys, expected ${BIG}`);
  const first = median(pageMs.slice(0, 50));
  const last = median(pageMs.slice(-50));
  await pool.close();
  return { pagesPerSecond: pages / seconds, seconds, first, last };
}

/** Several listings of one process as one: pages/s over all of them, seconds per listing, the median first and last page times. */
function combined(lists) {
  const seconds = lists.reduce((sum, l) => sum + l.seconds, 0);
  return {
    pagesPerSecond: (lists.length * BIG) / 100 / seconds,
    seconds: seconds / lists.length,
    first: median(lists.map((l) => l.first)),
    last: median(lists.map((l) => l.last)),
  };
}

async function benchSelf(emu, n = 2000) {
  const pool = new Pool(emu.url, { connections: 1 });
  for (let i = 0; i < 200; i++) await call(pool, 'GET', '/demo/v5/keys/self', emu.admin);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(pool, 'GET', '/demo/v5/keys/self', emu.admin);
    ms.push(performance.now() - t0);
  }
  await pool.close();
  return median(ms);
}

async function main() {
  if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run npm run build');
  console.log(`emulator benchmark: node ${process.version}, ${os.cpus().length} cpus, ${RUNS} runs, medians shown`);

  const creates = [];
  for (let r = 0; r < RUNS; r++) creates.push(await benchCreates());
  console.log(`creates: ${CREATES} POST /keys from ${CLIENTS} clients: ${fmt(median(creates), 2)} s (${fmt(CREATES / median(creates), 0)} creates/s; runs ${creates.map((s) => fmt(s, 2)).join(', ')})`);

  const dir = tempDir();
  const s0 = performance.now();
  await seedBig(dir);
  console.log(`seeded ${BIG} keys in-process in ${fmt((performance.now() - s0) / 1000, 1)} s`);
  const colds = [];
  const warms = [];
  const selfs = [];
  const starts = [];
  for (let r = 0; r < RUNS; r++) {
    const emu = await startChild(dir);
    starts.push(emu.startMs);
    colds.push(await benchList(emu));
    const warm = [];
    for (let w = 0; w < WARM_LISTINGS; w++) warm.push(await benchList(emu));
    warms.push(combined(warm));
    selfs.push(await benchSelf(emu));
    await emu.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`startup with ${BIG} keys (replay + listen): ${fmt(median(starts), 0)} ms (runs ${starts.map((m) => fmt(m, 0)).join(', ')})`);
  const rate = (lists) => fmt(median(lists.map((l) => l.pagesPerSecond)), 0);
  const took = (lists) => `${fmt(median(lists.map((l) => l.seconds)), 2)} s for all ${BIG / 100} pages`;
  console.log(
    `list ${BIG} keys, 100 per page: warm ${rate(warms)} pages/s (${took(warms)}; the ${WARM_LISTINGS} listings after the first of each run), ` +
      `cold ${rate(colds)} pages/s (${took(colds)}; the first listing after a restart); ` +
      `warm first pages ${fmt(median(warms.map((l) => l.first)), 2)} ms vs last pages ${fmt(median(warms.map((l) => l.last)), 2)} ms (median per page)`,
  );
  console.log(`GET /keys/self median latency (loopback, keep-alive, ${BIG} keys in the project): ${fmt(median(selfs), 3)} ms`);

  // The targets, each with its limit and this run's ratio (measured / limit for "at most", limit / measured for
  // "at least": below 1.00 means within the target either way).
  const os_load = os.loadavg()[0];
  console.log(`targets (this run; load average ${fmt(os_load, 2)} on ${os.cpus().length} cpus — medians on a busy machine are slower):`);
  const verdict = (name, measured, limit, unit, atMost) => {
    const ratio = atMost ? measured / limit : limit / measured;
    console.log(`  ${name}: ${fmt(measured, unit === 's' ? 2 : 0)} ${unit} vs ${atMost ? '<=' : '>='} ${limit} ${unit}: ratio ${fmt(ratio, 2)} ${ratio <= 1 ? 'PASS' : 'FAIL'}`);
  };
  verdict(`${CREATES} creates from ${CLIENTS} clients`, median(creates), 30, 's', true);
  verdict(`restart with ${BIG} keys`, median(starts), 500, 'ms', true);
  verdict(`list, single client, warm (cold: ${rate(colds)} pages/s)`, median(warms.map((l) => l.pagesPerSecond)), 2000, 'pages/s', false);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
