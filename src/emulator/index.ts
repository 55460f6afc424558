/**
 * The emulator as a library: `startEmulator` opens (or creates) the state in a directory, takes its lock,
 * makes sure each project exists with a bootstrap admin key (secret in `<state-dir>/<token>.admin-key`,
 * mode 0600), and serves the Scaleflex key-management contract over HTTP. Used by `scaleflex-keys emulator`,
 * by `--local`, and by every integration test. Never imports the client (`src/api/`).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import { BULK_STATUS_MAX, MAX_PAGE_SIZE } from '../contract';
import { StateCorruptError } from '../errors';
import { PERMISSIONS } from '../permissions';
import { EmulatorServer, newKeyRecord, type ServerKnobs } from './server';
import { FAULT_KINDS, type FaultKind } from './faults';
import { Journal } from './journal';
import { acquireStateLock, type StateLock } from './lock';
import { formatMicros, parseMicros } from './cursor';
import { ApiFailure, checkExtraPermissions, parseCreateBody } from './requests';

export type { FaultKind } from './faults';
export { FAULT_KINDS, parseFaultKinds, parseLatency } from './faults';
export { runningEmulator } from './lock';
export { checkExtraPermissions } from './requests';

export interface EmulatorOptions {
  /** Where state, the lock and the bootstrap admin-key files live (created if missing). */
  stateDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Projects that must exist; default ['demo']. Projects already in the state are served too. */
  projects?: string[];
  /** Seed for every random choice (faults, jitter); default 1. */
  seed?: number;
  /**
   * Each call's round-trip time: fixed ms, or a [min, max] range drawn from the seed. The answer leaves that long after
   * the request arrived; a read is answered from the state it arrived to, a change is applied once the time has passed.
   */
  latencyMs?: number | [min: number, max: number];
  /** Fraction of requests answered with an injected fault (0..1); default 0. */
  faultRate?: number;
  /** Fault kinds to draw from; default all. */
  faults?: FaultKind[];
  /** How long a stalled request is held before its connection is cut; default 65 s, past every client timeout. */
  stallMs?: number;
  /** Requests per second per key (token bucket, burst = rate); 0 = off (default). */
  rateLimit?: number;
  /** Largest page GET /keys serves (and its default limit); default 100. */
  maxPageSize?: number;
  /** Most uuids POST /keys/status accepts; default 100. */
  bulkMax?: number;
  /** One line per request, never a secret. */
  log?: (line: string) => void;
  /** Journal size (bytes) that triggers compaction into a snapshot; default 16 MiB. */
  compactBytes?: number;
  /**
   * Test-only, not part of the HTTP contract: permission names accepted (and reported on keys) besides the 31,
   * to test a client facing a Scaleflex that added a permission. Names are A-Z, 0-9 and _.
   */
  extraPermissions?: string[];
}

/** One key `seedKeys` creates. */
export interface SeedKey {
  description: string;
  permissions: string[];
  /** Default true. */
  active?: boolean;
  /**
   * Test-only: an ISO 8601 date-time in the past (e.g. `2024-01-01T00:00:00Z`) to make an old key, for rotation,
   * expiry or age tests. The key takes its place in the listing order ((created_at, uuid)), so cursors stay
   * correct. Default: now.
   */
  createdAt?: string;
}

export interface EmulatorStats {
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  /** Per route, total milliseconds spent beyond the injected latency (see the server's `ServerStats`). */
  serviceMs: Record<string, number>;
}

export interface EmulatorHandle {
  /** e.g. http://127.0.0.1:41234 — a project's base is `${url}/${token}/v5`. */
  url: string;
  /** The bootstrap admin key's secret (all 31 permissions); throws for an unknown project. */
  adminKey(token: string): string;
  /** Path of the file holding a project's bootstrap admin key. */
  adminKeyFile(token: string): string;
  /** Tokens of every project served. */
  projects(): string[];
  /** Creates the project and its bootstrap key if missing; resolves to the admin secret. */
  ensureProject(token: string): Promise<string>;
  /** Test setup that bypasses HTTP (and faults, rate limits): creates keys durably. */
  seedKeys(token: string, keys: SeedKey[]): Promise<{ uuid: string; secret: string }[]>;
  configure(opts: Partial<Pick<EmulatorOptions, 'faultRate' | 'faults' | 'rateLimit' | 'latencyMs' | 'stallMs' | 'seed'>>): void;
  stats(): EmulatorStats;
  resetStats(): void;
  /** Every secret ever issued (for leak scans in tests). */
  issuedSecrets(): string[];
  /** Stops listening, cuts open connections, flushes the journal, releases the lock. */
  close(): Promise<void>;
}

const TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A stall outlasts the client's default timeouts (30 s for headers, 60 s per attempt), as a hung server would. */
export const DEFAULT_STALL_MS = 65_000;

/** Throws a plain Error when `token` cannot be a project token (it becomes part of file names). */
export function checkProjectToken(token: string): void {
  if (!TOKEN_RE.test(token)) {
    throw new Error(`"${token}" is not a valid project token (letters, digits, - and _, at most 64, starting with a letter or digit)`);
  }
}

/**
 * Refuses a state dir that someone else could write into: whoever can create files there can plant links
 * where the emulator writes secrets, or replace the journal. Refused rather than fixed, because a shared dir
 * may be shared on purpose and its other users would lose access silently.
 */
async function checkStateDirPermissions(stateDir: string): Promise<void> {
  if (process.platform === 'win32') return; // no POSIX modes; the ACL decides
  const st = await fsp.stat(stateDir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new StateCorruptError(`the state directory ${stateDir} belongs to uid ${st.uid}, not to this user (uid ${uid})`, {
      hint: 'use a state dir of your own (--state-dir)',
    });
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw new StateCorruptError(
      `the state directory ${stateDir} is writable by ${st.mode & 0o020 ? 'its group' : ''}${(st.mode & 0o022) === 0o022 ? ' and ' : ''}${st.mode & 0o002 ? 'others' : ''} (mode ${mode}): anyone who can write there could plant links that receive the keys' secrets`,
      { hint: `run \`chmod 700 ${stateDir}\`, or use another --state-dir` },
    );
  }
}

/** `createdAt` of a seeded key in the API's form (microseconds, UTC); throws unless it is a date-time in the past. */
function pastCreatedAt(text: string, nowMs: number): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  // Date.parse rolls 2021-02-30 over into March: a day past the month's end is refused here instead.
  const realDay = m !== null && Number(m[3]) >= 1 && Number(m[3]) <= new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
  const ms = m && realDay ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) throw new Error(`createdAt "${text}" is not an ISO 8601 date-time such as 2024-01-01T00:00:00Z`);
  if (ms >= nowMs) throw new Error(`createdAt "${text}" is not in the past; only old keys can be seeded (new ones get the current time)`);
  // Microseconds given in UTC form are kept; otherwise the millisecond instant is used.
  const us = /Z$/.test(text) && Number.isFinite(parseMicros(text)) ? parseMicros(text) : ms * 1000;
  return formatMicros(us);
}

/** The bootstrap admin key file of a project: `<state-dir>/<token>.admin-key`. */
function adminKeyPath(stateDir: string, token: string): string {
  return path.join(stateDir, `${token}.admin-key`);
}

/**
 * A running emulator: the lock, the journal-backed store and the HTTP server of one state dir. Built only by
 * `Emulator.start` (which undoes what it did if a step fails); `close` reverses it.
 */
export class Emulator implements EmulatorHandle {
  private closed: Promise<void> | undefined;

  private constructor(
    readonly url: string,
    private readonly stateDir: string,
    private readonly lock: StateLock,
    private readonly journal: Journal,
    private readonly server: EmulatorServer,
    private readonly extraPermissions: readonly string[],
  ) {}

  /** Takes the lock, replays the state, makes sure the projects exist, listens. */
  static async start(opts: EmulatorOptions): Promise<Emulator> {
    const stateDir = path.resolve(opts.stateDir);
    for (const token of opts.projects ?? []) checkProjectToken(token);
    for (const kind of opts.faults ?? []) {
      if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown fault kind "${kind}"`);
    }
    checkExtraPermissions(opts.extraPermissions ?? []);
    await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await checkStateDirPermissions(stateDir);
    const lock = acquireStateLock(stateDir);
    let journal: Journal | undefined;
    let server: EmulatorServer | undefined;
    try {
      journal = await Journal.open(stateDir, opts.compactBytes === undefined ? {} : { compactBytes: opts.compactBytes });
      const wanted = opts.projects && opts.projects.length > 0 ? opts.projects : ['demo'];
      for (const token of wanted) await ensureProjectIn(journal, stateDir, token);
      // A crash between the journal commit and the admin-key file leaves the file missing: write it again.
      for (const token of journal.store.projects.keys()) {
        try {
          await fsp.access(adminKeyPath(stateDir, token));
        } catch {
          await writeAdminFile(journal, stateDir, token);
        }
      }
      server = new EmulatorServer(journal, {
        seed: opts.seed ?? 1,
        latencyMs: opts.latencyMs,
        faultRate: opts.faultRate ?? 0,
        faults: opts.faults ?? FAULT_KINDS,
        stallMs: opts.stallMs ?? DEFAULT_STALL_MS,
        rateLimit: opts.rateLimit ?? 0,
        maxPageSize: opts.maxPageSize ?? MAX_PAGE_SIZE,
        bulkMax: opts.bulkMax ?? BULK_STATUS_MAX,
        extraPermissions: [...new Set(opts.extraPermissions ?? [])],
      }, opts.log);
      const url = await server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
      lock.setUrl(url);
      return new Emulator(url, stateDir, lock, journal, server, [...new Set(opts.extraPermissions ?? [])]);
    } catch (error) {
      await server?.close().catch(() => undefined);
      await journal?.close().catch(() => undefined);
      lock.release();
      throw error;
    }
  }

  adminKey(token: string): string {
    const project = this.journal.store.project(token);
    if (!project) throw new Error(`the emulator has no project "${token}"`);
    return project.get(project.adminUuid)!.secret;
  }

  adminKeyFile(token: string): string {
    return adminKeyPath(this.stateDir, token);
  }

  projects(): string[] {
    return [...this.journal.store.projects.keys()].sort();
  }

  async ensureProject(token: string): Promise<string> {
    await ensureProjectIn(this.journal, this.stateDir, token);
    return this.adminKey(token);
  }

  async seedKeys(token: string, keys: SeedKey[]): Promise<{ uuid: string; secret: string }[]> {
    const j = this.journal;
    if (!j.store.project(token)) throw new Error(`the emulator has no project "${token}"`);
    // The same rules as POST /keys, so seeded state is always state the API could have produced.
    const now = Date.now();
    const inputs = keys.map((k, i) => {
      try {
        const input = parseCreateBody({ description: k.description, permissions: k.permissions, active: k.active ?? true }, this.extraPermissions);
        return { input, createdAt: k.createdAt === undefined ? undefined : pastCreatedAt(k.createdAt, now) };
      } catch (error) {
        throw new Error(`seedKeys: key ${i}: ${error instanceof ApiFailure ? error.msg : (error as Error).message}`);
      }
    });
    const records = inputs.map(({ input, createdAt }) => newKeyRecord(j, input, createdAt));
    await Promise.all(records.map((key) => j.commit({ op: 'create', project: token, key })));
    return records.map((r) => ({ uuid: r.uuid, secret: r.secret }));
  }

  configure(patch: Partial<Pick<EmulatorOptions, 'faultRate' | 'faults' | 'rateLimit' | 'latencyMs' | 'stallMs' | 'seed'>>): void {
    const out: Partial<ServerKnobs> = {};
    if (patch.faultRate !== undefined) out.faultRate = patch.faultRate;
    if (patch.faults !== undefined) out.faults = patch.faults;
    if (patch.rateLimit !== undefined) out.rateLimit = patch.rateLimit;
    if ('latencyMs' in patch) out.latencyMs = patch.latencyMs;
    if (patch.stallMs !== undefined) out.stallMs = patch.stallMs;
    if (patch.seed !== undefined) out.seed = patch.seed;
    this.server.configure(out);
  }

  stats(): EmulatorStats {
    return this.server.stats();
  }

  resetStats(): void {
    this.server.resetStats();
  }

  issuedSecrets(): string[] {
    return this.journal.store.allSecrets();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        await this.server.close();
        await this.journal.close();
      } finally {
        this.lock.release();
      }
    })();
    return this.closed;
  }
}

async function writeAdminFile(journal: Journal, stateDir: string, token: string): Promise<void> {
  const project = journal.store.project(token)!;
  await writeFileAtomic(adminKeyPath(stateDir, token), project.get(project.adminUuid)!.secret, 0o600);
}

/** Creates the project and its bootstrap admin key (journal first, then the key file) if it is missing. */
async function ensureProjectIn(journal: Journal, stateDir: string, token: string): Promise<void> {
  checkProjectToken(token);
  if (journal.store.project(token)) return;
  const admin = newKeyRecord(journal, { description: `${token} admin (bootstrap)`, permissions: [...PERMISSIONS].sort(), active: true });
  await journal.commit({ op: 'project', project: token, admin });
  await writeAdminFile(journal, stateDir, token);
}

/** Starts an emulator; resolves once it listens. */
export function startEmulator(opts: EmulatorOptions): Promise<EmulatorHandle> {
  return Emulator.start(opts);
}
