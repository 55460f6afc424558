/**
 * The command line's shared vocabulary (Terraform's `internal/command/arguments`): value parsers, the option
 * groups several commands share, their typed flag objects and every default, each defined once. Light: loads
 * only commander, so building the program never loads the client, the emulator or cdktf.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_GUARD_OPTIONS, type GuardOptions } from '../../model';

/** The manifest file used when neither `-f` nor `--from-cdktf` is given. */
export const DEFAULT_MANIFEST = 'scaleflex-keys.yaml';
/** Projects (and requests per API origin) in flight at once. */
export const DEFAULT_PARALLELISM = 8;
/** The longest one request may take, retries included (seconds). */
export const DEFAULT_TIMEOUT_SECONDS = 120;

/** A whole-number parser for commander, `min..max` inclusive. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** A ratio parser for commander: a number from 0 to 1. */
export function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`expected a number from 0 to 1, got "${value}"`);
  }
  return n;
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The options of every command that talks to the Scaleflex API. */
export interface ApiFlags {
  readonly apiUrl?: string;
  readonly local: boolean;
  readonly stateDir?: string;
  readonly parallelism: number;
  readonly timeoutSeconds: number;
  readonly verbose: boolean;
  /** Operator allowances, never from the manifest (see src/trust.ts). */
  readonly allowApiUrl: readonly string[];
  readonly allowCredentialEnv: readonly string[];
}

/** Where the desired state comes from. */
export interface SourceFlags {
  readonly file?: string;
  readonly fromCdktf?: string;
  /** Only these projects; empty means all. */
  readonly project: readonly string[];
}

/** The guard options plan and apply share. */
export interface GuardFlags {
  readonly force: boolean;
  readonly forcePermissionRemoval: boolean;
  readonly maxDeactivateRatio: number;
  readonly maxPermissionRemovalRatio: number;
  readonly minActiveForRatio: number;
}

/** Adds the API options to `cmd`. */
export function addApiOptions(cmd: Command): Command {
  return cmd
    .option('--api-url <url>', 'Scaleflex API base URL for every project (overrides the manifest and SCALEFLEX_API_URL)')
    .option('--local', 'use the local emulator (state in .scaleflex-local/, or --state-dir): a running `scaleflex-keys emulator` there, else an embedded one')
    .option('--state-dir <dir>', 'with --local: the emulator state directory (default .scaleflex-local)')
    .option('--parallelism <n>', 'requests in flight at once per API origin, plus one self check per project being opened (the next ones open ahead); projects are listed and applied this many at a time', integer(1, 64), DEFAULT_PARALLELISM)
    .option('--timeout <seconds>', 'the longest one API request may take, retries included', integer(1, 3600), DEFAULT_TIMEOUT_SECONDS)
    .option('--allow-api-url <origin>', 'allow a manifest or plan to name this API origin (repeatable; also SCALEFLEX_ALLOWED_API_URLS)', collect)
    .option('--allow-credential-env <name>', 'allow a manifest to name this credential variable, or PREFIX* (repeatable; also SCALEFLEX_ALLOWED_CREDENTIAL_ENV)', collect)
    .option('-v, --verbose', 'trace every request (method, path, status, attempt, ms) to stderr; also SCALEFLEX_DEBUG=1');
}

/** Adds the desired-state source options to `cmd`. */
export function addSourceOptions(cmd: Command, projectHelp = 'only this project (repeatable)'): Command {
  return cmd
    .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
    .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
    .option('--project <token>', projectHelp, collect);
}

/** Adds the guard options to `cmd`. */
export function addGuardOptions(cmd: Command): Command {
  return cmd
    .option('--force', 'allow a mass deactivation the guard would refuse (never overrides self-lockout, protected keys or the last admin key)')
    .option('--max-deactivate-ratio <r>', "largest share of a project's active keys one run may deactivate", ratio, DEFAULT_GUARD_OPTIONS.maxDeactivateRatio)
    .option('--force-permission-removal', 'allow a mass permission removal the guard would refuse')
    .option('--max-permission-removal-ratio <r>', "largest share of a project's active keys one run may strip permissions from", ratio, DEFAULT_GUARD_OPTIONS.maxPermissionRemovalRatio)
    .option('--min-active-for-ratio <n>', 'the ratio guards apply once a project has this many active keys', integer(0), DEFAULT_GUARD_OPTIONS.minActiveForRatio);
}

type Raw = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The API flags from commander's raw options. */
export function apiFlags(o: Raw): ApiFlags {
  return {
    ...(str(o.apiUrl) !== undefined ? { apiUrl: str(o.apiUrl)! } : {}),
    local: Boolean(o.local),
    ...(str(o.stateDir) !== undefined ? { stateDir: str(o.stateDir)! } : {}),
    parallelism: typeof o.parallelism === 'number' ? o.parallelism : DEFAULT_PARALLELISM,
    timeoutSeconds: typeof o.timeout === 'number' ? o.timeout : DEFAULT_TIMEOUT_SECONDS,
    verbose: Boolean(o.verbose),
    allowApiUrl: list(o.allowApiUrl),
    allowCredentialEnv: list(o.allowCredentialEnv),
  };
}

/** The source flags from commander's raw options. */
export function sourceFlags(o: Raw): SourceFlags {
  return {
    ...(str(o.file) !== undefined ? { file: str(o.file)! } : {}),
    ...(str(o.fromCdktf) !== undefined ? { fromCdktf: str(o.fromCdktf)! } : {}),
    project: list(o.project),
  };
}

/** The guard flags from commander's raw options. */
export function guardFlags(o: Raw): GuardFlags {
  const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  return {
    force: Boolean(o.force),
    forcePermissionRemoval: Boolean(o.forcePermissionRemoval),
    maxDeactivateRatio: num(o.maxDeactivateRatio, DEFAULT_GUARD_OPTIONS.maxDeactivateRatio),
    maxPermissionRemovalRatio: num(o.maxPermissionRemovalRatio, DEFAULT_GUARD_OPTIONS.maxPermissionRemovalRatio),
    minActiveForRatio: num(o.minActiveForRatio, DEFAULT_GUARD_OPTIONS.minActiveForRatio),
  };
}

/** The reconciler's guard options from the flags; `selfUuid` protects the key running now. */
export function guardOptions(flags: GuardFlags, selfUuid?: string): GuardOptions {
  return {
    force: flags.force,
    forcePermissionRemoval: flags.forcePermissionRemoval,
    maxDeactivateRatio: flags.maxDeactivateRatio,
    maxPermissionRemovalRatio: flags.maxPermissionRemovalRatio,
    minActiveForRatio: flags.minActiveForRatio,
    ...(selfUuid ? { selfUuid } : {}),
  };
}

/** The manifest file a run reads (the default when neither flag is given). */
export function sourceFile(flags: Pick<SourceFlags, 'file' | 'fromCdktf'>): string {
  return flags.fromCdktf ?? flags.file ?? DEFAULT_MANIFEST;
}
