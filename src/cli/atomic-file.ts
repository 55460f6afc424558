/**
 * Writing a file so that readers see the old content or the new one, never half of either: a temp file in
 * the same directory, fsync, rename. Used for saved plans, imported manifests and secrets files.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ScaleflexKeysError } from '../errors';

/**
 * Atomically replaces `file` with `content`, with permission bits `mode` (0600 for anything holding secrets).
 * On failure the old file is untouched and the temp file removed; the error names the file.
 */
export async function writeFileAtomic(
  file: string,
  content: string,
  mode: number,
  makeError: (message: string) => Error = (m) => new ScaleflexKeysError(m),
): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', mode);
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode); // the umask may have narrowed it
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw makeError(`cannot write ${file}: ${(error as Error).message}`);
  }
}
