/**
 * The state directory's lock: one emulator per state dir. The lock file `emulator.lock` holds
 * `{pid, started, nonce, url?}` (`url` once the emulator listens); a lock whose pid is no longer alive (the
 * owner was killed) is stale and taken over at once, so a restart right after `kill -9` works. Also guards
 * against a second emulator inside the same process, where the pid alone cannot tell.
 *
 * Every step is atomic, so concurrent starters cannot both win:
 * - a lock file only ever appears complete: it is written to a private temp file first, then published with
 *   `link` (which fails if the lock exists: an exclusive create) or `rename`;
 * - taking over a stale lock first claims that very lock file: `link` of a claim named after a hash of the
 *   stale content, which only one starter can create. The claimer then checks that the lock still holds that
 *   content and only then renames its own lock over it. A starter that read the same stale content later
 *   claims after the winner, finds the content changed, and sees a live owner.
 * A claim whose claimer died (a `kill -9` within the microseconds between claim and rename) is removed by
 * the next starter. proper-lockfile was considered: it decides staleness by mtime (at least 5 s), too slow
 * for a restart right after `kill -9`, and a live emulator whose event loop is busy replaying 100,000 keys
 * could be judged stale.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { StateLockedError } from '../errors';

export const LOCK_FILE = 'emulator.lock';

/** State dirs locked by this process (resolved paths). */
const heldHere = new Set<string>();

/** A held lock; `release` removes the file if it is still ours. */
export interface StateLock {
  readonly path: string;
  /** Set when a stale lock (dead owner) was taken over: that owner's pid, if the file named one. */
  readonly tookOverFrom?: number;
  /** Records where the emulator listens, for `runningEmulator`. */
  setUrl(url: string): void;
  release(): void;
}

interface LockContent {
  pid: number;
  started: string;
  nonce: string;
  url?: string;
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** The raw bytes of a file, or undefined if it does not exist. */
function readRaw(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function parse(raw: Buffer): Partial<LockContent> {
  try {
    const data = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    return {
      ...(typeof data.pid === 'number' ? { pid: data.pid } : {}),
      ...(typeof data.nonce === 'string' ? { nonce: data.nonce } : {}),
      ...(typeof data.url === 'string' ? { url: data.url } : {}),
    };
  } catch {
    // Unreadable (a torn write of an older version): no owner, so stale.
    return {};
  }
}

/** Writes `content` to a new private file next to `file`; returns its path. */
function writeTemp(file: string, content: string): string {
  const tmp = `${file}.${process.pid}.${randomBytes(8).toString('hex')}.part`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if (code(error) !== 'ENOENT') throw error;
  }
}

/** Sleeps without spinning the CPU (this module is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Lock temp files and takeover claims left by processes that died, e.g. under `kill -9`. */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^emulator\.lock\.(\d+)\.[0-9a-f]{16}\.part$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) removeQuietly(path.join(dir, name));
  }
}

/** Takes the lock of `stateDir` (which must exist); throws StateLockedError when a live emulator holds it. */
export function acquireStateLock(stateDir: string): StateLock {
  const dir = path.resolve(stateDir);
  const file = path.join(dir, LOCK_FILE);
  const refuse = (pid: number | undefined): never => {
    throw new StateLockedError(
      `the state directory ${dir} is in use by another emulator${pid === undefined ? '' : ` (pid ${pid})`}`,
      { hint: `stop that emulator first, or give this one another --state-dir (lock file: ${file})` },
    );
  };
  if (heldHere.has(dir)) refuse(process.pid);

  const mine: LockContent = { pid: process.pid, started: new Date().toISOString(), nonce: randomBytes(12).toString('hex') };
  let tookOverFrom: number | undefined;
  let tookOver = false;
  let lastOwner: number | undefined;
  let held = false;
  const tmp = writeTemp(file, JSON.stringify(mine));
  try {
    for (let attempt = 0; attempt < 200 && !held; attempt++) {
      try {
        linkSync(tmp, file);
        held = true;
        break;
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
      }
      const raw = readRaw(file);
      if (raw === undefined) continue; // released meanwhile: try the exclusive create again
      const owner = parse(raw);
      lastOwner = owner.pid;
      // Our own pid in a file we do not hold is a leftover from an earlier process that had the same pid.
      if (owner.pid !== undefined && owner.pid !== process.pid && isAlive(owner.pid)) refuse(owner.pid);

      // Stale: claim this exact lock content, so only one starter replaces it.
      const claim = `${file}.takeover.${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
      const claimTmp = writeTemp(file, JSON.stringify({ pid: process.pid }));
      try {
        linkSync(claimTmp, claim);
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
        const claimer = parse(readRaw(claim) ?? Buffer.alloc(0)).pid;
        if (claimer !== undefined && claimer !== process.pid && isAlive(claimer)) {
          pause(5); // another starter is replacing this lock right now: see who won
        } else {
          removeQuietly(claim); // its claimer died mid-takeover
        }
        continue;
      } finally {
        removeQuietly(claimTmp);
      }
      try {
        const now = readRaw(file);
        if (now !== undefined && now.equals(raw)) {
          renameSync(tmp, file);
          held = true;
          tookOver = true;
          tookOverFrom = owner.pid;
        }
      } finally {
        removeQuietly(claim);
      }
    }
  } finally {
    removeQuietly(tmp); // after link it is a second name of the lock; after rename it is gone already
  }
  if (!held) return refuse(lastOwner);
  heldHere.add(dir);
  removeLeftovers(dir);

  const isOurs = (): boolean => {
    const raw = readRaw(file);
    return raw !== undefined && parse(raw).nonce === mine.nonce;
  };
  let released = false;
  return {
    path: file,
    ...(tookOver && tookOverFrom !== undefined ? { tookOverFrom } : {}),
    setUrl(url: string) {
      // Nobody takes over a live owner's lock, so replacing our own file (atomically) races with no one.
      if (released || !isOurs()) return;
      const next = writeTemp(file, JSON.stringify({ ...mine, url }));
      try {
        renameSync(next, file);
      } finally {
        removeQuietly(next);
      }
    },
    release() {
      if (released) return;
      released = true;
      heldHere.delete(dir);
      if (isOurs()) removeQuietly(file);
    },
  };
}

/**
 * The emulator currently serving `stateDir`, if one is alive and listening (its lock records the URL), so
 * `--local` can use it instead of refusing the locked state dir; undefined otherwise.
 */
export function runningEmulator(stateDir: string): { pid: number; url: string } | undefined {
  const raw = readRaw(path.join(path.resolve(stateDir), LOCK_FILE));
  if (raw === undefined) return undefined;
  const owner = parse(raw);
  if (owner.pid === undefined || owner.url === undefined || !isAlive(owner.pid)) return undefined;
  return { pid: owner.pid, url: owner.url };
}
