/**
 * YAML users never pay for CDKTF: the built CLI runs `validate` and `plan` of a YAML manifest in a child
 * process whose preload records every module file Node resolves (in every thread), and none of them is from
 * `cdktf`, `constructs` or `@cdktf/*`. Reading a synthesized stack (`--from-cdktf`) does not load them either:
 * it is plain JSON. A control run proves the recorder does see cdktf when it is loaded.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdktf';
import { ScaleflexKeysStack } from '../../examples/cdktf/main';
import { BIN, cleanEnv, ROOT, startTestApi, tempDir, type TestApi } from '../helpers/cli';

const YAML = path.join(ROOT, 'examples', 'scaleflex-keys.yaml');
const CDKTF_MODULE = /[\\/]node_modules[\\/](cdktf|constructs|@cdktf)[\\/]/;
let api: TestApi;
let dir: string;
let preload: string;

/** Runs node with the recording preload; resolves to the exit code and every module file it resolved. */
function recordModules(args: string[], env: Record<string, string>): Promise<{ code: number; modules: string[]; output: string }> {
  const log = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', preload, ...args], {
      cwd: dir,
      env: cleanEnv({ ...env, SFK_MODULE_LOG: log, NODE_OPTIONS: `--require ${preload}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const modules = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      resolve({ code: code ?? -1, modules: [...new Set(modules)], output });
    });
  });
}

beforeAll(async () => {
  api = await startTestApi(['demo', 'media-prod']);
  dir = tempDir();
  preload = path.join(dir, 'record-modules.js');
  // Appends each resolved file as it is resolved, so nothing is lost when a thread or the process ends.
  fs.writeFileSync(
    preload,
    `const fs = require('node:fs');
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = resolve.apply(this, args);
  if (process.env.SFK_MODULE_LOG) fs.appendFileSync(process.env.SFK_MODULE_LOG, file + '\\n');
  return file;
};
`,
  );
});

afterAll(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the YAML-only CLI path', () => {
  test('validate of a YAML manifest never loads cdktf, constructs or @cdktf', async () => {
    const r = await recordModules([BIN, 'validate', '-f', YAML], {});
    expect(r.code).toBe(0);
    // The recorder saw the YAML reader (the line reader reads a plain manifest; js-yaml and yaml load only for others).
    expect(r.modules.some((m) => /[\\/]manifest[\\/]yaml-lines\.js$/.test(m))).toBe(true);
    expect(r.modules.filter((m) => CDKTF_MODULE.test(m))).toEqual([]);
  });

  test('plan of a YAML manifest against the API never loads them either', async () => {
    const r = await recordModules([BIN, 'plan', '-f', YAML], api.env());
    expect(r.output).toMatch(/Plan: \d+ to create/);
    expect(r.code).toBe(0);
    expect(r.modules.some((m) => /[\\/]node_modules[\\/]undici[\\/]/.test(m))).toBe(true);
    expect(r.modules.filter((m) => CDKTF_MODULE.test(m))).toEqual([]);
  });

  test('reading a synthesized stack with --from-cdktf does not load cdktf: the stack is plain JSON', async () => {
    const outdir = path.join(dir, 'cdktf.out');
    const app = new App({ outdir });
    new ScaleflexKeysStack(app, 'scaleflex-keys');
    app.synth();
    const r = await recordModules([BIN, 'validate', '--from-cdktf', path.join(outdir, 'stacks', 'scaleflex-keys', 'cdk.tf.json')], {});
    expect(r.code).toBe(0);
    expect(r.modules.filter((m) => CDKTF_MODULE.test(m))).toEqual([]);
  });

  test('control: the recorder does see cdktf when the scaleflex-keys/cdktf entry point is loaded', async () => {
    const r = await recordModules(['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'cdktf'))})`], {});
    expect(r.code).toBe(0);
    expect(r.modules.filter((m) => CDKTF_MODULE.test(m)).length).toBeGreaterThan(0);
  });
});
