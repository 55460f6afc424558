/**
 * The GitHub Action's entry point (`action.yml` runs it with `node dist/action/main.js` after building the
 * package from the action's own checkout). It drives the CLI as a child process — the same `scaleflex-keys`
 * a person runs — and does the GitHub side with `@actions/core` (inputs, outputs, job summary, failure) and
 * `@actions/github` (the PR comment, the drift issue):
 *
 * - `plan`  (pull_request): validate with annotations, plan to Markdown + plan.json, job summary, ONE marked PR
 *           comment (split past 65,535 characters), outputs; a guard refusal or failed project still comments,
 *           then fails the step.
 * - `apply` (push): show the reviewed plan.json (log: text, summary: Markdown), then `apply plan.json`.
 * - `drift` (schedule): plan with --detailed-exitcode; open/update ONE marked issue on drift, close it when clean.
 *
 * Secrets: the CLI reads credentials from the environment the workflow gives this step; nothing here puts a
 * secret on a command line, and the CLI's output is already redacted. The GitHub token is not passed on.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { closeDriftIssue, openOrUpdateDriftIssue, PLAN_MARKER, splitComment, upsertMarkedComments, type Repo } from './comments';

const BIN = path.join(__dirname, '..', 'cli', 'bin.js');

interface CliRun {
  readonly code: number;
  readonly stdout: string;
}

/**
 * Runs the CLI with `args`; stderr streams to the log, stdout is captured (and echoed when `echo`). The child gets
 * this step's environment minus the GitHub token inputs.
 */
function cli(args: readonly string[], echo: boolean, cwd: string): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^INPUT_/.test(k) && k !== 'GITHUB_TOKEN') env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (echo) process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

const EXIT_MEANING: Record<number, string> = {
  0: 'no changes',
  1: 'an error (see the log)',
  2: 'changes to apply',
  3: 'a guard refused',
  4: 'a policy error',
};

function sourceArgs(): string[] {
  const file = core.getInput('manifest');
  const cdktf = core.getInput('from-cdktf');
  return [...(file ? ['-f', file] : []), ...(cdktf ? ['--from-cdktf', cdktf] : [])];
}

function repoOf(): Repo {
  return github.context.repo;
}

function runUrl(): string {
  const { serverUrl, runId } = github.context;
  const { owner, repo } = repoOf();
  return `${serverUrl}/${owner}/${repo}/actions/runs/${runId}`;
}

async function planMode(cwd: string, planFile: string): Promise<void> {
  const validate = await cli(['validate', '--format', 'github', ...sourceArgs()], true, cwd);
  let body: string;
  let code: number;
  // 4: valid, but the policy refuses it; plan still runs so the comment shows what the change would do.
  if (validate.code !== 0 && validate.code !== 4) {
    code = 1;
    body = `## scaleflex-keys plan\n\n❌ The manifest does not validate; see the annotations of [this run](${runUrl()}).\n`;
  } else {
    const plan = await cli(['plan', '--format', 'markdown', '--out', planFile, '--detailed-exitcode', ...sourceArgs()], false, cwd);
    code = plan.code;
    body = plan.stdout;
    if (code === 1) body += `\n\n❌ Some projects could not be planned; see [the log](${runUrl()}). The plan was not saved.\n`;
    if (code === 3) body += `\n\n⛔ A guard refused: apply would refuse this plan too.\n`;
    if (code === 4) body += `\n\n🚫 The policy refuses this manifest; the findings are annotated on its lines in [this run](${runUrl()}).\n`;
    // The log gets the text form too, from the saved file (the PR comment and summary get the Markdown).
    if ((code === 0 || code === 2) && fs.existsSync(path.resolve(cwd, planFile))) {
      core.startGroup(`The plan (${planFile})`);
      await cli(['show', planFile], true, cwd);
      core.endGroup();
    }
  }
  await core.summary.addRaw(body, true).write();
  core.setOutput('exitcode', String(code));
  core.setOutput('has_changes', String(code === 2));
  core.setOutput('plan', code === 0 || code === 2 ? planFile : '');

  const pr = github.context.payload.pull_request?.number as number | undefined;
  const token = core.getInput('github-token');
  if (pr !== undefined && token && core.getBooleanInput('comment')) {
    await upsertMarkedComments(github.getOctokit(token), repoOf(), pr, PLAN_MARKER, splitComment(body, PLAN_MARKER));
  } else if (pr === undefined) {
    core.info('Not a pull request: the plan is in the job summary only.');
  }
  if (code === 1 || code === 3 || code === 4) core.setFailed(`scaleflex-keys plan exited ${code}: ${EXIT_MEANING[code]}`);
}

async function applyMode(cwd: string, planFile: string): Promise<void> {
  if (core.getBooleanInput('plan-afresh')) {
    const fresh = await cli(['plan', '--out', planFile, ...sourceArgs()], false, cwd);
    if (fresh.code !== 0) {
      core.setOutput('exitcode', String(fresh.code));
      core.setFailed(`scaleflex-keys plan exited ${fresh.code}: ${EXIT_MEANING[fresh.code] ?? 'an error'}; nothing was applied`);
      return;
    }
  } else if (!fs.existsSync(path.resolve(cwd, planFile))) {
    core.setOutput('exitcode', '1');
    core.setFailed(`no reviewed plan at ${planFile}: download the plan artifact of the merged pull request there, or set plan-afresh: true`);
    return;
  }
  core.startGroup(`The plan to apply (${planFile})`);
  const text = await cli(['show', planFile], true, cwd);
  core.endGroup();
  const md = await cli(['show', planFile, '--format', 'markdown'], false, cwd);
  if (text.code !== 0 || md.code !== 0) {
    core.setOutput('exitcode', '1');
    core.setFailed(`${planFile} is not a readable plan; nothing was applied`);
    return;
  }
  await core.summary.addRaw(md.stdout, true).write();
  const secretsOut = core.getInput('secrets-out');
  const execSinks = core.getInput('exec-sinks') !== 'false';
  const apply = await cli(['apply', planFile, ...(secretsOut ? ['--secrets-out', secretsOut] : []), ...(execSinks ? [] : ['--no-exec-sinks'])], true, cwd);
  core.setOutput('exitcode', String(apply.code));
  core.setOutput('has_changes', 'false');
  core.setOutput('plan', planFile);
  if (apply.code !== 0) core.setFailed(`scaleflex-keys apply exited ${apply.code}: ${EXIT_MEANING[apply.code] ?? 'an error'}`);
}

async function driftMode(cwd: string): Promise<void> {
  const plan = await cli(['plan', '--format', 'markdown', '--detailed-exitcode', ...sourceArgs()], false, cwd);
  core.setOutput('exitcode', String(plan.code));
  core.setOutput('has_changes', String(plan.code === 2 || plan.code === 3));
  await core.summary.addRaw(plan.stdout, true).write();
  const token = core.getInput('github-token');
  const octokit = token ? github.getOctokit(token) : undefined;
  if (plan.code === 2 || plan.code === 3) {
    const body = `The live keys no longer match the manifest ([scheduled run](${runUrl()})).\n\n${plan.stdout}`;
    const n = octokit ? await openOrUpdateDriftIssue(octokit, repoOf(), 'scaleflex-keys: live API keys drifted from the manifest', body) : undefined;
    core.warning(`Drift: the live keys do not match the manifest${n === undefined ? '' : ` (issue #${n})`}.`);
  } else if (plan.code === 0) {
    const n = octokit ? await closeDriftIssue(octokit, repoOf(), `Live keys match the manifest again ([run](${runUrl()})).`) : undefined;
    core.info(n === undefined ? 'No drift.' : `No drift any more: closed issue #${n}.`);
  } else {
    core.setFailed(`scaleflex-keys plan exited ${plan.code}: ${EXIT_MEANING[plan.code] ?? 'an error'}`);
  }
}

/** Runs the mode the `mode` input names. */
export async function runAction(): Promise<void> {
  const mode = core.getInput('mode', { required: true });
  const cwd = path.resolve(core.getInput('working-directory') || '.');
  const planFile = core.getInput('plan') || 'plan.json';
  if (mode === 'plan') await planMode(cwd, planFile);
  else if (mode === 'apply') await applyMode(cwd, planFile);
  else if (mode === 'drift') await driftMode(cwd);
  else core.setFailed(`unknown mode "${mode}": expected plan, apply or drift`);
}

if (require.main === module) {
  runAction().catch((error: unknown) => core.setFailed(error instanceof Error ? error.message : String(error)));
}
