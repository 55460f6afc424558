/**
 * CDKTF front-end benchmark (plain Node, requires the compiled ../dist): how long the constructs take to
 * validate and synthesize, and how long `--from-cdktf` takes to read the result back.
 *   1. cold `npm run synth` of examples/cdktf/main.ts (a child process: loads typescript, cdktf, synthesizes);
 *   2. in-process synth of one project with 1,000 keys (construct tree, schema validation of every key, JSON);
 *   3. readCdktfStack of that 1,000-key stack (JSON parse, trigger decoding, the manifest validator).
 * Medians of several runs. Usage: npm run bench:cdktf [-- --runs N]
 */
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { App, TerraformStack } = require('cdktf');
const { Permission, ScaleflexApiKey, ScaleflexProject } = require('../dist/cdktf');
const { readCdktfStack } = require('../dist/manifest/cdktf/reader');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 5);
const KEYS = 1000;
const ROOT = path.resolve(__dirname, '..');

const { median } = require('./stats');
const ms = (x) => `${x.toFixed(0)} ms`;

function synthLarge(outdir) {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'large');
  const project = new ScaleflexProject(stack, 'large', {
    token: 'large',
    permissionSets: { 'read-only': [Permission.OBJECTS_LIST, Permission.OBJECTS_FETCH] },
  });
  for (let i = 0; i < KEYS; i++) {
    new ScaleflexApiKey(project, `key-${i}`, {
      description: `Service key ${i}`,
      permissions: i % 2 ? [Permission.FILE_UPLOAD] : [],
      permissionSets: ['read-only'],
      active: i % 10 !== 0,
    });
  }
  app.synth();
  return path.join(outdir, 'stacks', 'large', 'cdk.tf.json');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-bench-'));
try {
  const cold = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const t = performance.now();
    execFileSync(process.execPath, ['-r', './examples/cdktf/register.js', 'examples/cdktf/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: path.join(dir, `example-${i}`) },
      stdio: 'ignore',
    });
    cold.push(performance.now() - t);
  }

  const synth = [];
  let file;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    file = synthLarge(path.join(dir, `large-${i}`));
    synth.push(performance.now() - t);
  }

  const read = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const result = readCdktfStack(file);
    read.push(performance.now() - t);
    if (!result.state || result.state.projects[0].keys.length !== KEYS) throw new Error('readCdktfStack did not read every key');
  }

  const size = fs.statSync(file).size;
  console.log(`cold npm run synth of examples/cdktf/main.ts: median ${ms(median(cold))} (${cold.length} runs)`);
  console.log(`synth of 1 project x ${KEYS} keys (validation included): median ${ms(median(synth))} (${RUNS} runs)`);
  console.log(`readCdktfStack of that stack (${(size / 1024).toFixed(0)} KiB): median ${ms(median(read))} (${RUNS} runs)`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
