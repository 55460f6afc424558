/**
 * Writing a file so that readers see the old content or the new one, never half of either: a temp file in
 * the same directory (created exclusively, with a random name and the final mode, so a planted symlink or a
 * guessed name cannot receive the content), fsync, rename, fsync of the directory. The one atomic writer: saved
 * plans, imported manifests, secrets files and the emulator's state all go through it. Imports nothing of ours.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Atomically replaces `file` with `content` (text is written as UTF-8), with permission bits `mode` (0600 for
 * anything holding secrets).
 * On failure the old file is untouched and the temp file removed; the error names the file.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  mode: number,
  makeError: (message: string) => Error = (m) => new Error(m),
): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', mode);
    await (typeof content === 'string' ? handle.writeFile(content, 'utf8') : handle.writeFile(content));
    await handle.chmod(mode); // the umask may have narrowed it
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
    await syncDirectory(path.dirname(file));
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw makeError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

/** Whether `name` is a temp file `writeFileAtomic` left behind (a crash between create and rename). */
export function isAtomicTempFile(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{16}\.tmp$/.test(name);
}

/** Flushes a directory entry (a rename) to disk; a no-op where directories cannot be opened. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
