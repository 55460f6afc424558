/**
 * Facts of the Scaleflex key-management contract (`schemas/scaleflex-api.openapi.yaml`) that the client
 * (`src/api/`), the emulator (`src/emulator/`) and the manifest rules share. One place, so the two sides of
 * the contract cannot drift apart. Imports nothing.
 */

/** The header that carries the caller's key. Never logged, never put in an error or a trace. */
export const KEY_HEADER = 'x-filerobot-key';

/** The largest page `GET /keys` serves; the client asks for it and adapts if a server allows less. */
export const MAX_PAGE_SIZE = 100;

/** The most uuids one `POST /keys/status` call may carry; apply chunks status changes by it. */
export const BULK_STATUS_MAX = 100;

/** The longest description the API accepts, counted in Unicode code points (see `descriptionLength`). */
export const MAX_DESCRIPTION_LENGTH = 255;

/** The largest request body the API accepts (bytes); larger ones are answered 413. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * A description's length as the contract counts it: Unicode code points, as JSON Schema's `maxLength` does
 * (OpenAPI 3.1 is JSON Schema 2020-12), not UTF-16 units. 255 emoji are 255, not 510.
 */
export function descriptionLength(text: string): number {
  let n = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for (const _ of text) n++;
  return n;
}
