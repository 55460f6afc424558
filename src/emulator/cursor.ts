/**
 * Key order and pagination cursors. Keys are listed in (created_at, uuid) order; a cursor is an opaque
 * encoding of the last key a page returned, so the next page starts with a binary search rather than a scan,
 * and keys created between pages (always later in that order) are neither lost nor repeated. Pure.
 */

/** A key's place in the listing order: creation time in microseconds since the epoch, then uuid. */
export interface KeyPosition {
  readonly createdUs: number;
  readonly uuid: string;
}

const CURSOR_PREFIX = 'k1';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Orders two positions: by creation time, then by uuid. */
export function comparePositions(a: KeyPosition, b: KeyPosition): number {
  if (a.createdUs !== b.createdUs) return a.createdUs < b.createdUs ? -1 : 1;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/** The opaque cursor that resumes a listing after `position`. */
export function encodeCursor(position: KeyPosition): string {
  return Buffer.from(`${CURSOR_PREFIX}:${position.createdUs}:${position.uuid}`, 'utf8').toString('base64url');
}

/** Reads a cursor this server issued; undefined for anything else. */
export function decodeCursor(cursor: string): KeyPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^k1:(\d{1,17}):(.+)$/.exec(text);
  if (!m || !UUID_RE.test(m[2]!)) return undefined;
  const createdUs = Number(m[1]);
  if (!Number.isSafeInteger(createdUs)) return undefined;
  return { createdUs, uuid: m[2]! };
}

/** Index of the first key strictly after `after` in a sorted array (0 when `after` is undefined). */
export function pageStart(sorted: readonly KeyPosition[], after: KeyPosition | undefined): number {
  if (!after) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePositions(sorted[mid]!, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ISO 8601 with microseconds, e.g. `2026-01-02T03:04:05.123456Z`. */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** Inverse of formatMicros; also accepts millisecond or second precision. NaN when unreadable. */
export function parseMicros(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) return Number.NaN;
  const seconds = Date.parse(`${m[1]}Z`);
  const fraction = (m[2] ?? '').padEnd(6, '0');
  return seconds * 1000 + Number(fraction);
}
