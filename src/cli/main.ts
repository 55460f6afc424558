/**
 * The command line: parses arguments with commander, runs one command, maps its outcome to an exit code.
 * Each command's code is loaded only when that command runs, so `validate` never loads undici or cdktf.
 * Secrets never come from argv: every credential is read from the environment or a file.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ScaleflexKeysError, UsageError } from '../errors';
import { EXIT, exitCodeFor } from './exit-codes';
import { type Io, processIo } from './io';

/** The manifest file used when neither `-f` nor `--from-cdktf` is given. */
export const DEFAULT_MANIFEST = 'scaleflex-keys.yaml';

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got "${value}"`);
  }
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Options shared by every command that talks to the Scaleflex API. */
function addApiOptions(cmd: Command): Command {
  return cmd
    .option('--api-url <url>', 'Scaleflex API base URL for every project (overrides the manifest and SCALEFLEX_API_URL)')
    .option('--local', 'use the embedded emulator with state in .scaleflex-local/ (no account needed)')
    .option('--parallelism <n>', 'projects and requests in flight at once', integer(1, 64), 8)
    .option('-v, --verbose', 'trace every request (method, path, status, attempt, ms) to stderr; also SCALEFLEX_DEBUG=1');
}

/** Options that choose where the desired state comes from. */
function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
    .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
    .option('--project <token>', 'only this project (repeatable)', collect);
}

/** Options for the guards that plan reports and apply enforces. */
function addGuardOptions(cmd: Command): Command {
  return cmd
    .option('--force', 'allow a mass deactivation the guard would refuse (never overrides self-lockout protection)')
    .option('--max-deactivate-ratio <r>', 'largest share of a project\'s active keys one run may deactivate', ratio, 0.3)
    .option('--min-active-for-ratio <n>', 'the ratio guard applies once a project has this many active keys', integer(0), 10);
}

/** Builds the program; `run` resolves to the command's exit code. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('scaleflex-keys')
    .description('Manage Scaleflex DAM API keys as code: validate, plan and apply a manifest of keys.')
    .version(require('../../package.json').version as string)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();

  const action =
    (load: () => Promise<{ run(opts: any, io: Io, args: string[]): Promise<number> }>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
      const mod = await load();
      setExit(await mod.run(cmd.opts(), io, positional));
    };

  program
    .command('validate')
    .description('check a manifest (or a synthesized CDKTF stack) against the schema and the semantic rules')
    .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
    .option('--from-cdktf <path>', 'validate the desired state of a synthesized CDKTF stack (cdk.tf.json)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .action(action(() => import('./commands/validate')));

  addGuardOptions(
    addApiOptions(
      addSourceOptions(
        program
          .command('plan')
          .description('show what apply would change, without changing anything')
          .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
          .option('--out <file>', 'also save the plan as JSON, for `apply <file>`')
          .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when there are none'),
      ),
    ),
  ).action(action(() => import('./commands/plan')));

  addGuardOptions(
    addApiOptions(
      addSourceOptions(
        program
          .command('apply')
          .description('apply a saved plan, or plan and apply a manifest after confirmation')
          .argument('[plan]', 'a plan saved with `plan --out` (applies exactly that, or refuses if it is stale)')
          .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)')
          .option('--secrets-out <file>', 'write the secrets of created keys here (.json or .env), mode 0600, merged')
          .addOption(new Option('--secrets-format <format>', 'format of --secrets-out').choices(['json', 'env'])),
      ),
    ),
  ).action(action(() => import('./commands/apply')));

  addGuardOptions(
    addApiOptions(
      program
        .command('deactivate')
        .description('deactivate every key a project declares (or one key), never deleting (what a CDKTF ScaleflexApiKey runs on destroy)')
        .requiredOption('--project <token>', 'the project whose declared keys to deactivate')
        .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
        .option('--from-cdktf <path>', 'read the declared keys from a synthesized CDKTF stack (cdk.tf.json)')
        .option('--spec-env <var>', 'read the declared keys from this environment variable (a whole project spec: JSON, or gzipped and base64-encoded)')
        .option('--key-spec-env <var>', 'deactivate one key: its spec is in this environment variable (a ScaleflexApiKey spec from Terraform state)')
        .option('--key-resource <name>', 'with --key-spec-env: the name of the key\'s null_resource, for --skip-if-replaced-in')
        .option('--credentials-env <name>', 'with --key-spec-env: the variable holding the project\'s admin key (default SCALEFLEX_API_KEY_<TOKEN>)')
        .option('--skip-if-replaced-in <cdk.tf.json>', 'do nothing when this stack still declares the project (or the key resource) with another spec (a replacement)')
        .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)'),
    ),
  ).action(action(() => import('./commands/deactivate')));

  addApiOptions(
    program
      .command('import')
      .description('write a manifest of a project\'s live keys (no secrets); its plan is empty')
      .requiredOption('--project <token>', 'project to import (repeatable)', collect)
      .option('--out <file>', 'write the manifest here instead of stdout'),
  ).action(action(() => import('./commands/import')));

  addApiOptions(
    program
      .command('audit')
      .description('report the live keys: permissions matrix, risk, age, owner, drift from the manifest, policy findings (changes nothing)')
      .option('-f, --file <path>', 'manifest file: adds owners, managed/unmanaged, drift and its policy')
      .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
      .option('--policy <file>', 'policy rules kept outside the manifest (YAML `policy:` list); the manifest can only add to them')
      .option('--project <token>', 'only this project (repeatable; needed without -f)', collect)
      .addOption(new Option('--format <format>', 'report format').choices(['markdown', 'html', 'csv', 'json', 'sarif']).default('markdown'))
      .option('--out <file>', 'write the report here instead of stdout')
      .option('--findings', 'with --format csv: one more row per policy finding')
      .option('--older-than <days>', 'count active keys older than this many days in the summary', integer(1), 365),
  ).action(action(() => import('./commands/audit')));

  const secretsCmd = program.command('secrets').description('work with the secrets of live keys');
  addApiOptions(
    secretsCmd
      .command('pull')
      .description('fetch the secrets of declared keys into a file (needs ACCESS_MANAGE)')
      .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
      .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
      .option('--project <token>', 'only this project (repeatable)', collect)
      .option('--description <text>', 'only the key with this description (repeatable)', collect)
      .requiredOption('--out <file>', 'file to write (.json or .env), mode 0600, merged')
      .addOption(new Option('--format <format>', 'file format (default: by the file\'s extension)').choices(['json', 'env'])),
  ).action(action(() => import('./commands/secrets-pull')));

  program
    .command('emulator')
    .description('run the local Scaleflex-compatible key-management API')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', integer(0, 65535), 8787)
    .option('--state-dir <dir>', 'where state, lock and bootstrap admin keys live', '.scaleflex-local')
    .option('--project <token>', 'a project to serve (repeatable; default: demo)', collect)
    .option('--seed <n>', 'seed for every random choice (faults, jitter)', integer(0))
    .option('--latency <ms>', 'delay added to every answer: MS or MIN..MAX')
    .option('--fault-rate <r>', 'fraction of requests answered with an injected fault', ratio, 0)
    .option('--faults <kinds>', 'comma-separated fault kinds to inject: http500, http503, http429, reset, stall, applied-then-reset (default: all)')
    .option('--stall-ms <ms>', 'how long a stalled request is held before its connection is cut (longer than the client\'s timeouts)', integer(1), 65000)
    .option('--rate-limit <n>', 'requests per second per key (0: unlimited)', integer(0), 0)
    .option('--max-page-size <n>', 'largest page GET /keys serves', integer(1, 10000), 100)
    .option('--bulk-max <n>', 'most uuids POST /keys/status accepts', integer(1, 10000), 100)
    .option('--quiet', 'do not log requests')
    .action(action(() => import('./commands/emulator')));

  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error, io);
  }
}

/** Prints an error the way a person can act on it; a stack trace only for bugs, and only when debugging. */
function report(error: unknown, io: Io): number {
  if (error instanceof CommanderError) {
    // commander already printed its message; --help and --version are not failures.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.OK;
    return EXIT.USAGE;
  }
  if (error instanceof ScaleflexKeysError) {
    io.err(`error: ${error.message}\n`);
    if (error.hint) io.err(`hint: ${error.hint}\n`);
    if (error instanceof UsageError) io.err('(run with --help for usage)\n');
    return exitCodeFor(error);
  }
  const detail = error instanceof Error ? error.message : String(error);
  io.err(`error: unexpected failure: ${detail}\n`);
  if (io.env.SCALEFLEX_DEBUG && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
  else io.err('hint: this is a bug in scaleflex-keys; run again with SCALEFLEX_DEBUG=1 for details and report it\n');
  return EXIT.ERROR;
}
