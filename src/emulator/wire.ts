/**
 * The wire form of keys: one key as an object (`keyToWire`), and a whole `GET /keys` page as JSON text built
 * directly, which is the emulator's main cost when a client lists a large project. Pure.
 */
import type { StoredKey } from './store';

/** The wire form of a key: never the secret, only its last 4 characters. */
export function keyToWire(key: StoredKey): Record<string, unknown> {
  return {
    uuid: key.uuid,
    description: key.description,
    permissions: [...key.permissions],
    active: key.active,
    created_at: key.createdAt,
    secret_preview: `****${key.secret.slice(-4)}`,
  };
}

/**
 * The JSON text of a list page, the same as `JSON.stringify` of `{status, keys: keys.map(keyToWire), next_cursor}`
 * without building those objects. Only the description is escaped: every other string is ASCII that JSON takes as
 * it is, because the emulator makes uuids, secrets, timestamps and cursors itself and accepts no permission name
 * but A-Z, 0-9 and _.
 */
export function listPageJson(keys: readonly StoredKey[], nextCursor: string | null): string {
  let json = '{"status":"success","keys":[';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const permissions = key.permissions.length === 0 ? '[]' : `["${key.permissions.join('","')}"]`;
    json +=
      `${i === 0 ? '' : ','}{"uuid":"${key.uuid}","description":${JSON.stringify(key.description)},"permissions":${permissions},` +
      `"active":${key.active},"created_at":"${key.createdAt}","secret_preview":"****${key.secret.slice(-4)}"}`;
  }
  return `${json}],"next_cursor":${nextCursor === null ? 'null' : `"${nextCursor}"`}}`;
}
