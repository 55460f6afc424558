/**
 * Secret delivery at the edge (manifest `deliver:`): hands the secret of a key to each of its sinks, in order, for
 * `apply` (right after each create, through `applyProjectPlan`'s `onSecret`) and `secrets push` (re-sync).
 *
 * - `exec`: the program is started directly (no shell) in the manifest's directory, with the secret on stdin — never
 *   in argv or the environment, which other users can read in `/proc/<pid>/cmdline` and `environ`. Its environment
 *   is minimal (`deliveryEnvironment`: PATH, HOME, LANG, LC_ALL, TMPDIR, TZ, what the operator passes on with
 *   SCALEFLEX_DELIVERY_PASS_ENV, and the key's metadata), so no admin key (`SCALEFLEX_*`) reaches it. It must exit 0
 *   within its timeout, else its process group is killed and the delivery fails. Its stdout and stderr are
 *   collected (bounded) and printed through the redactor, indented under the key.
 * - `file`: the secrets file of `--secrets-out` (`./secrets-file.ts`): json or env by extension, mode 0600, merged,
 *   locked; one writer per file for the whole run, so many keys cost few writes.
 *
 * A delivery never throws: each sink gets a result, so one failure is reported per key and sink and the rest go on.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_EXEC_TIMEOUT_S, deliveryEnvironment, deliveryLine, deliveryOf, deliveryPolicy, type DeliveryPolicy } from '../delivery';
import { DeliveryError, SecretsFileError, UsageError } from '../errors';
import type { Delivery, DeliverySpec, Plan, ProjectSpec } from '../model';
import type { OperatorTrust } from '../trust';
import type { Io } from './io';
import { type KeySecret, preflightSecretsFile, protectSecret, SecretSink, secretsFormatFor } from './secrets-file';

/** The most output kept from one `exec` sink (the rest is dropped, and that is said). */
const MAX_OUTPUT_BYTES = 16 * 1024;
/** After the timeout's SIGTERM, how long the program has before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** What became of one sink. */
export interface SinkResult {
  /** The sink as it ran (`{uuid}` expanded). */
  readonly delivery: Delivery;
  readonly ok: boolean;
  /** Why it failed (`exited with code 1`, `timed out after 60 s`, ...); empty on success. */
  readonly detail: string;
  /** The program's stdout and stderr, as it wrote them (bounded); printed through the redactor. */
  readonly output: string;
}

/** The lines a delivery prints under its key: `→ delivered to ...` or `! delivery to ... failed: ...`, then output. */
export function resultLines(results: readonly SinkResult[], indent = '    '): string {
  let text = '';
  for (const r of results) {
    text += r.ok ? `${indent}→ delivered to ${deliveryLine(r.delivery)}\n` : `${indent}! delivery to ${deliveryLine(r.delivery)} failed: ${r.detail}\n`;
    if (r.output) for (const line of r.output.replace(/\r?\n$/, '').split(/\r?\n/)) text += `${indent}  | ${printable(line)}\n`;
  }
  return text;
}

/** A sink that failed for a key, for the summary at the end of a run. */
export interface DeliveryFailure {
  readonly project: string;
  readonly description: string;
  readonly uuid: string;
  readonly delivery: Delivery;
  readonly detail: string;
}

/** The sinks of the declared key `description` of `project` (its own `deliver:`, else its project's); may be empty. */
export function sinksOf(specs: ReadonlyMap<string, ProjectSpec>, project: string, description: string): readonly DeliverySpec[] {
  const keys = specs.get(project)?.keys ?? [];
  // Pinned entries may share a description; a key that is created is never pinned, so prefer the unpinned entry.
  const key = keys.find((k) => k.description === description && k.uuid === undefined) ?? keys.find((k) => k.description === description);
  return key?.deliver ?? [];
}

/**
 * The keys a plan gives a new secret that have sinks, with them (what `preflight` checks): every change that
 * carries `deliveries` (a create; a rotation's successor), its sinks read from the manifest as apply will use them.
 */
export function keysToDeliver(plan: Plan, specs: ReadonlyMap<string, ProjectSpec>): { project: string; description: string; deliver: readonly DeliverySpec[] }[] {
  return plan.projects.flatMap((p) =>
    p.changes.flatMap((c) => {
      if (!('deliveries' in c) || !c.deliveries?.length) return [];
      // A rotation's new secret is its successor's, which keeps the entry's description.
      const description = c.kind === 'rotate' ? c.successor.description : c.after.description;
      const deliver = sinksOf(specs, p.project, description);
      return deliver.length > 0 ? [{ project: p.project, description, deliver }] : [];
    }),
  );
}

/**
 * The summary of failed deliveries, per key and sink, each key with the `secrets push` line that delivers again
 * (`source`: the manifest flags, e.g. ` -f keys.yaml`, or empty).
 */
export function deliveryFailureLines(failures: readonly DeliveryFailure[], source: string): string {
  const byKey = new Map<string, DeliveryFailure[]>();
  for (const f of failures) byKey.set(`${f.project}\u0000${f.description}`, [...(byKey.get(`${f.project}\u0000${f.description}`) ?? []), f]);
  let text = `\n${failures.length} deliver${failures.length === 1 ? 'y' : 'ies'} failed; the keys exist and keep their secrets:\n`;
  for (const list of [...byKey.values()].sort((a, b) => (a[0]!.project + a[0]!.description < b[0]!.project + b[0]!.description ? -1 : 1))) {
    const { project, description, uuid } = list[0]!;
    text += `  ${project}: ${JSON.stringify(description)} (uuid ${uuid})\n`;
    for (const f of list) text += `    ! ${deliveryLine(f.delivery)}: ${f.detail}\n`;
    text += `    scaleflex-keys secrets push${source} --project ${project} --description ${JSON.stringify(description)}\n`;
  }
  return text;
}

/**
 * A Deliverer for a run, or undefined when no declared key has sinks (the run then prints exactly what it did
 * before delivery existed). Reads the operator's settings (SCALEFLEX_DELIVERY_EXEC, SCALEFLEX_DELIVERY_PASS_ENV,
 * `--no-exec-sinks`).
 * @throws UsageError for a SCALEFLEX_DELIVERY_EXEC value it does not know.
 */
export function openDeliverer(
  io: Io,
  flags: { execSinks?: boolean },
  trust: OperatorTrust,
  specs: ReadonlyMap<string, ProjectSpec>,
  baseDir: string,
): Deliverer | undefined {
  const { policy, problem } = deliveryPolicy(io.env, flags);
  if (problem) throw new UsageError(problem);
  if (![...specs.values()].some((p) => p.keys.some((k) => (k.deliver?.length ?? 0) > 0))) return undefined;
  return new Deliverer(io, policy, baseDir, trust.allowedCredentialEnv, specs);
}

/**
 * A program's output line as it may reach a terminal or CI log: control characters (ANSI escapes, carriage returns
 * that overwrite a line) shown as `\uXXXX`. Each line is also indented behind `| `, so none can start a GitHub
 * Actions workflow command (`::...`).
 */
function printable(line: string): string {
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** Delivers secrets to sinks for one run; see the module comment. */
export class Deliverer {
  private readonly files = new Map<string, SecretSink>();

  /**
   * @param baseDir the manifest's directory: `file` sinks are relative to it and `exec` sinks run in it.
   * @param credentialEnv variable names (or `PREFIX*`) the operator allows as credential sources: never passed on.
   * @param specs the declared projects, for `deliverDeclared`.
   */
  constructor(
    private readonly io: Io,
    private readonly policy: DeliveryPolicy,
    private readonly baseDir: string,
    private readonly credentialEnv: readonly string[] = [],
    private readonly specs: ReadonlyMap<string, ProjectSpec> = new Map(),
  ) {}

  /**
   * Delivers `key`'s secret to the sinks its declared entry names (none: nothing happens). Returns the lines to
   * print under the key and the failures; never throws.
   */
  async deliverDeclared(key: KeySecret): Promise<{ results: SinkResult[]; text: string; failures: DeliveryFailure[] }> {
    const sinks = sinksOf(this.specs, key.project, key.description);
    if (sinks.length === 0) return { results: [], text: '', failures: [] };
    const results = await this.deliver(key, sinks);
    const failures = results
      .filter((r) => !r.ok)
      .map((r) => ({ project: key.project, description: key.description, uuid: key.uuid, delivery: r.delivery, detail: r.detail }));
    return { results, text: resultLines(results), failures };
  }

  /**
   * Before anything changes: refuses `exec` sinks the operator forbids, and checks every `file` sink can be merged
   * into and written (so no key is created whose secret then has nowhere to go).
   * @throws DeliveryError naming the keys with forbidden sinks; SecretsFileError for a file sink.
   */
  async preflight(keys: readonly { project: string; description: string; deliver: readonly DeliverySpec[] }[]): Promise<void> {
    if (!this.policy.execAllowed) {
      const withExec = keys.filter((k) => k.deliver.some((d) => 'exec' in d));
      if (withExec.length > 0) {
        const names = withExec.slice(0, 5).map((k) => `${k.project}: ${JSON.stringify(k.description)}`);
        throw new DeliveryError(
          `exec delivery sinks are forbidden here (${this.policy.execDeniedBy}), and ${withExec.length} key${withExec.length === 1 ? '' : 's'} to deliver to would run one: ` +
            `${names.join(', ')}${withExec.length > 5 ? `, and ${withExec.length - 5} more` : ''}; nothing was changed`,
          { hint: 'remove the exec sinks from the manifest (a file sink or --secrets-out still works), or run where the operator allows them' },
        );
      }
    }
    const files = new Set(keys.flatMap((k) => k.deliver.flatMap((d) => ('file' in d ? [path.resolve(this.baseDir, d.file)] : []))));
    for (const file of [...files].sort()) {
      insideTree(file, this.baseDir);
      await preflightSecretsFile(file, secretsFormatFor(file));
    }
  }

  /** Delivers `key`'s secret to each of `sinks` in order; one result per sink, never throws. */
  async deliver(key: KeySecret, sinks: readonly DeliverySpec[]): Promise<SinkResult[]> {
    protectSecret(this.io, key.secret);
    const results: SinkResult[] = [];
    for (const sink of sinks) {
      const delivery = deliveryOf(sink, key);
      try {
        if ('file' in sink) {
          insideTree(path.resolve(this.baseDir, sink.file), this.baseDir);
          await this.fileSink(sink.file).add(key);
          results.push({ delivery, ok: true, detail: '', output: '' });
        } else if (!this.policy.execAllowed) {
          results.push({ delivery, ok: false, detail: `exec sinks are forbidden here (${this.policy.execDeniedBy})`, output: '' });
        } else {
          const argv = delivery.kind === 'exec' ? delivery.argv : [];
          const env = deliveryEnvironment(this.io.env, this.policy.passEnv, key, this.credentialEnv);
          results.push({ delivery, ...(await runSink(argv, key.secret, env, this.baseDir, sink.timeout ?? DEFAULT_EXEC_TIMEOUT_S)) });
        }
      } catch (error) {
        results.push({ delivery, ok: false, detail: (error as Error).message, output: '' });
      }
    }
    return results;
  }

  private fileSink(file: string): SecretSink {
    const full = path.resolve(this.baseDir, file);
    let sink = this.files.get(full);
    if (!sink) {
      sink = new SecretSink(this.io, full, secretsFormatFor(full));
      this.files.set(full, sink);
    }
    return sink;
  }
}

/**
 * A `file` sink must really be inside the manifest's tree: the manifest rule checks the path as written, this checks
 * what is on disk — no symlink on the way (a directory a pull request turned into a link to `~`, say) leads out,
 * and the file itself is no symlink.
 * @throws SecretsFileError naming the file
 */
function insideTree(file: string, baseDir: string): void {
  const root = fs.realpathSync(baseDir);
  let existing = path.dirname(file);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  const rest = path.relative(existing, path.dirname(file));
  const resolved = path.join(real, rest);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw new SecretsFileError(`cannot deliver to ${file}: its directory resolves to ${resolved}, outside the manifest's directory ${root} (a symbolic link on the way)`);
  }
  try {
    if (fs.lstatSync(file).isSymbolicLink()) throw new SecretsFileError(`cannot deliver to ${file}: it is a symbolic link; a secrets file must be a regular file`);
  } catch (error) {
    if (error instanceof SecretsFileError) throw error;
  }
}

/** How to kill each sink running now (its process group). */
const runningSinks = new Set<() => void>();
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A signal that stops this run stops its sinks first. They run in their own process groups, which a terminal's
 * Ctrl-C does not reach, and one that outlived the run would hold a secret whose delivery no one reports. Then the
 * signal's default action ends the run, as it would have without sinks.
 */
function stopSinksAndExit(signal: NodeJS.Signals): void {
  for (const kill of runningSinks) kill();
  for (const s of STOP_SIGNALS) process.off(s, stopSinksAndExit);
  process.kill(process.pid, signal);
}

/** Registers a running sink's kill; returns the function that forgets it once it has ended. */
function track(kill: () => void): () => void {
  if (runningSinks.size === 0) for (const s of STOP_SIGNALS) process.on(s, stopSinksAndExit);
  runningSinks.add(kill);
  return () => {
    if (!runningSinks.delete(kill) || runningSinks.size > 0) return;
    for (const s of STOP_SIGNALS) process.off(s, stopSinksAndExit);
  };
}

/** Runs one `exec` sink: the secret on stdin, then waits for its exit (or kills it at the timeout). */
function runSink(argv: readonly string[], secret: string, env: Record<string, string>, cwd: string, timeoutS: number): Promise<Omit<SinkResult, 'delivery'>> {
  return new Promise((resolve) => {
    const [program, ...args] = argv;
    let output = '';
    let dropped = 0;
    let timedOut = false;
    let settled = false;
    const collect = (chunk: Buffer) => {
      const room = MAX_OUTPUT_BYTES - Buffer.byteLength(output);
      if (room <= 0) dropped += chunk.length;
      else {
        output += chunk.subarray(0, room).toString('utf8');
        dropped += Math.max(0, chunk.length - room);
      }
    };
    // Its own process group (detached), so that a timeout kills whatever it started too (`sh -c 'a | b'`).
    const child = spawn(program!, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], shell: false, detached: true, windowsHide: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    }, timeoutS * 1000);
    // The run is stopping: no grace period to wait out, so the group is killed outright.
    const untrack = track(() => killGroup('SIGKILL'));
    const done = (result: Omit<SinkResult, 'delivery'>) => {
      if (settled) return;
      settled = true;
      untrack();
      clearTimeout(timer);
      // A grandchild that still holds the pipes must not keep this run alive.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ ...result, output: dropped > 0 ? `${output}\n[... ${dropped} more bytes of output not shown]` : output });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? `cannot run ${JSON.stringify(program)}: not found (PATH is passed on as it is)` : `cannot run ${JSON.stringify(program)}: ${error.message}`;
      done({ ok: false, detail: why, output: '' });
    });
    // A program that exits without reading stdin closes the pipe: that is its business, not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(secret);
    child.on('exit', () => {
      // Output pipes held open by a grandchild must not hang the run: give them a moment, then settle.
      setTimeout(() => done(outcome(child.exitCode, child.signalCode)), 1000).unref();
    });
    child.on('close', (code, signal) => done(outcome(code, signal)));
    const outcome = (code: number | null, signal: NodeJS.Signals | null): Omit<SinkResult, 'delivery'> => {
      if (timedOut) return { ok: false, detail: `timed out after ${timeoutS} s (killed)`, output };
      if (code === 0) return { ok: true, detail: '', output };
      return { ok: false, detail: code !== null ? `exited with code ${code}` : `killed by ${signal ?? 'a signal'}`, output };
    };
  });
}
