/**
 * The command line: builds the program from each command's definition (`./arguments/`), parses argv into that
 * command's typed flags, runs it, and maps its outcome to an exit code (`./exit-codes.ts`, the one table).
 * Secrets never come from argv: every credential is read from the environment or a file.
 */
import { Command, CommanderError } from 'commander';
import { ScaleflexKeysError, UsageError } from '../errors';
import * as applyArgs from './arguments/apply';
import * as auditArgs from './arguments/audit';
import * as deactivateArgs from './arguments/deactivate';
import * as emulatorArgs from './arguments/emulator';
import * as importArgs from './arguments/import';
import * as planArgs from './arguments/plan';
import * as rotateArgs from './arguments/rotate';
import * as secretsPullArgs from './arguments/secrets-pull';
import * as secretsPushArgs from './arguments/secrets-push';
import * as showArgs from './arguments/show';
import * as validateArgs from './arguments/validate';
import * as whoisArgs from './arguments/whois';
import { EXIT, exitCodeFor, EXIT_CODES_HELP } from './exit-codes';
import { type Io, processIo } from './io';

export { DEFAULT_MANIFEST } from './arguments/common';

/** What every command module exports: its run, given the typed flags its `arguments/` module parsed. */
type Run<F> = (flags: F, io: Io) => Promise<number>;

/** Builds the program; `setExit` receives the command's exit code. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('scaleflex-keys')
    .description('Manage Scaleflex DAM API keys as code: validate, plan and apply a manifest of keys.')
    .version(require('../../package.json').version as string)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // `--api-key=VALUE` is unknown, and commander would print VALUE back: keep the option's name only.
      outputError: (s, write) => write(s.replace(/(unknown option '[^'=]*)=[^']*'/g, "$1=…'")),
    })
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .exitOverride();

  // A command's code is loaded only when it runs, so `validate` never loads undici, the emulator or cdktf (the
  // modules loaded are recorded by test/integration/cdktf-yaml-isolation.test.ts); the definitions are light.
  // Measured (median of 7 `node -e require(...)`, load average 9): main + validate 217 ms, main + every command
  // 331 ms, `node -e 0` 146 ms — loading every command would cost each `validate` about 110 ms more.
  const wire = <F>(cmd: Command, parse: (o: Record<string, unknown>, args: readonly string[]) => F, load: () => Promise<{ run: Run<F> }>) =>
    cmd.addHelpText('after', `\n${EXIT_CODES_HELP}`).action(async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const positional = args.slice(0, -2).flatMap((a) => (typeof a === 'string' ? [a] : []));
      const flags = parse(command.opts(), positional);
      setExit(await (await load()).run(flags, io));
    });

  wire(validateArgs.define(program), validateArgs.parseFlags, () => import('./commands/validate'));
  wire(planArgs.define(program), planArgs.parseFlags, () => import('./commands/plan'));
  wire(applyArgs.define(program), applyArgs.parseFlags, () => import('./commands/apply'));
  wire(showArgs.define(program), showArgs.parseFlags, () => import('./commands/show'));
  wire(deactivateArgs.define(program), deactivateArgs.parseFlags, () => import('./commands/deactivate'));
  wire(importArgs.define(program), importArgs.parseFlags, () => import('./commands/import'));
  wire(rotateArgs.define(program), rotateArgs.parseFlags, () => import('./commands/rotate'));
  wire(auditArgs.define(program), auditArgs.parseFlags, () => import('./commands/audit'));
  const secrets = program.command('secrets').description('work with the secrets of live keys');
  wire(secretsPullArgs.define(secrets), secretsPullArgs.parseFlags, () => import('./commands/secrets-pull'));
  wire(secretsPushArgs.define(secrets), secretsPushArgs.parseFlags, () => import('./commands/secrets-push'));
  wire(whoisArgs.define(program), whoisArgs.parseFlags, () => import('./commands/whois'));
  wire(emulatorArgs.define(program), emulatorArgs.parseFlags, () => import('./commands/emulator'));
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
