/**
 * The state directory's lock: one emulator per state dir. The lock file holds the owner's pid; a lock whose
 * pid is no longer alive (the owner was killed) is stale and taken over. Also guards against a second
 * emulator inside the same process, where the pid alone cannot tell.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import * as path from 'node:path';
import { StateLockedError } from '../errors';

export const LOCK_FILE = 'emulator.lock';

/** State dirs locked by this process (resolved paths). */
const heldHere = new Set<string>();

/** A held lock; `release` removes the file if it is still ours. */
export interface StateLock {
  readonly path: string;
  /** True when a stale lock (dead owner) was taken over. */
  readonly tookOverFrom?: number;
  release(): void;
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

function readOwner(file: string): number | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    return typeof data.pid === 'number' ? data.pid : undefined;
  } catch {
    return undefined;
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
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      // Our own pid in a file we do not hold is a leftover from an earlier process that had the same pid.
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) refuse(owner);
      if (owner === undefined && attempt === 0) {
        // A lock being written right now has no pid yet: give its writer a moment before calling it stale.
        const until = Date.now() + 50;
        while (Date.now() < until) {
          /* brief wait */
        }
        continue;
      }
      tookOverFrom = owner;
      try {
        unlinkSync(file);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    heldHere.add(dir);
    let released = false;
    return {
      path: file,
      ...(tookOverFrom === undefined ? {} : { tookOverFrom }),
      release() {
        if (released) return;
        released = true;
        heldHere.delete(dir);
        if (readOwner(file) === process.pid) {
          try {
            unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        }
      },
    };
  }
  return refuse(readOwner(file));
}
