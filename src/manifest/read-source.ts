/**
 * The first stage of reading a manifest: bytes to text. Refuses what is not a text manifest before any
 * parser sees it — too large (by size, before reading), binary (NUL bytes), not UTF-8 — so that hostile
 * input fails fast with a clear diagnostic. Filesystem access is limited to `readManifestFile`.
 */
import * as fs from 'node:fs';
import type { Diagnostic } from '../errors';
import { errorAt, fileError } from './diagnostics';

/** The largest manifest accepted: 10 MB, counted as 10,000,000 bytes (10,000 keys are about 1 MB). */
export const MAX_MANIFEST_BYTES = 10_000_000;

const tooLarge = (file: string, size: number): Diagnostic =>
  fileError(
    file,
    `the file is ${(size / 1_000_000).toFixed(1)} MB, larger than the 10 MB a manifest may be; ` +
      'is this the right file? (10,000 keys take about 1 MB)',
  );

/** Line and column (1-based, in characters) of byte `offset` of `bytes`, which are valid UTF-8 up to it. */
function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let lineStart = 0;
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = new TextDecoder('utf-8').decode(bytes.subarray(lineStart, offset)).length + 1;
  return { line, column };
}

/** Offset of the first byte that is not part of valid UTF-8 (the bytes are known to be invalid). */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  // Valid prefixes survive a lossy decode and re-encode unchanged; the first difference is the bad byte.
  const roundTrip = Buffer.from(new TextDecoder('utf-8').decode(bytes), 'utf8');
  let i = 0;
  while (i < bytes.length && i < roundTrip.length && bytes[i] === roundTrip[i]) i++;
  // Back up to the start of the sequence the bad byte interrupted.
  while (i > 0 && (bytes[i] ?? 0) >= 0x80 && (bytes[i] ?? 0) < 0xc0 && (bytes[i - 1] ?? 0) >= 0x80) i--;
  return i;
}

/**
 * Decodes manifest bytes to text, or explains why they are not a manifest (too large, binary, not UTF-8).
 * A UTF-8 byte order mark is dropped.
 */
export function decodeManifestBytes(bytes: Uint8Array, file: string): { text?: string; diagnostics: Diagnostic[] } {
  if (bytes.length > MAX_MANIFEST_BYTES) return { diagnostics: [tooLarge(file, bytes.length)] };
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const pos = positionOfByte(bytes, nul);
    return {
      diagnostics: [
        errorAt({ file, ...pos }, 'this is a binary file (it contains NUL bytes), not a YAML manifest', ''),
      ],
    };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), diagnostics: [] };
  } catch {
    const pos = positionOfByte(bytes, firstInvalidUtf8Byte(bytes));
    return {
      diagnostics: [errorAt({ file, ...pos }, 'the file is not valid UTF-8; save the manifest as UTF-8 text', '')],
    };
  }
}

/**
 * Reads a manifest file: refuses a missing file, a directory or anything over 10 MB before reading it,
 * then decodes it. `file` is the name shown in diagnostics; `absPath` is where it is read from.
 */
export function readManifestFile(absPath: string, file: string): { text?: string; diagnostics: Diagnostic[] } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absPath);
  } catch (error) {
    return { diagnostics: [fileError(file, describeFsError(error, absPath))] };
  }
  if (stat.isDirectory()) return { diagnostics: [fileError(file, `${absPath} is a directory, not a manifest file`)] };
  // A device or pipe (e.g. /dev/zero) has no size to check and may never end: only regular files are read.
  if (!stat.isFile()) return { diagnostics: [fileError(file, `${absPath} is not a regular file`)] };
  if (stat.size > MAX_MANIFEST_BYTES) return { diagnostics: [tooLarge(file, stat.size)] };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(absPath);
  } catch (error) {
    return { diagnostics: [fileError(file, describeFsError(error, absPath))] };
  }
  return decodeManifestBytes(bytes, file);
}

function describeFsError(error: unknown, absPath: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `manifest not found: ${absPath} does not exist (pass -f FILE to use another file)`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot read ${absPath}: permission denied`;
  return `cannot read ${absPath}: ${(error as Error | undefined)?.message ?? String(error)}`;
}
