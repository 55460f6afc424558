/**
 * Every HTTP path of the Scaleflex key-management API, in one place. The rest of the client never spells a
 * path, so adapting to the real Scaleflex endpoints (which no public document gives) is a change to this file.
 * Paths are relative to the API URL (which may itself carry a path prefix) and already percent-encoded.
 */

/** The contract's shared facts, re-exported for callers that import them from here. */
export { BULK_STATUS_MAX, KEY_HEADER, MAX_PAGE_SIZE } from '../contract';

/** The project's base path: `/{token}/v5`. */
export function projectBase(token: string): string {
  return `/${encodeURIComponent(token)}/v5`;
}

/** The endpoints of one project. */
export function endpoints(token: string) {
  const base = projectBase(token);
  const key = (uuid: string) => `${base}/keys/${encodeURIComponent(uuid)}`;
  return {
    /** GET: one page of keys. */
    listKeys(limit: number, cursor?: string | null): string {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor) q.set('cursor', cursor);
      return `${base}/keys?${q.toString()}`;
    },
    /** GET: the calling key. */
    self: `${base}/keys/self`,
    /** GET one key; PATCH to update it. */
    key,
    /** POST: create a key. */
    createKey: `${base}/keys`,
    /** POST: activate or deactivate keys in bulk. */
    keyStatus: `${base}/keys/status`,
    /** GET: a key's secret. */
    keySecret: (uuid: string) => `${key(uuid)}/secret`,
  } as const;
}

export type Endpoints = ReturnType<typeof endpoints>;
