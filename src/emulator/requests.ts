/**
 * The emulator's side of the contract, without I/O: routes, the permission each needs, and the strict
 * validation of query strings and JSON bodies. Every refusal is an ApiFailure carrying the HTTP status,
 * the contract's error code and a message that names the field or the cause.
 */
import { descriptionLength, MAX_DESCRIPTION_LENGTH, MAX_PAGE_SIZE } from '../contract';
import { isPermission, PERMISSIONS } from '../permissions';
import { decodeCursor, type KeyPosition } from './cursor';

/** An answer in the contract's error form: `{status: 'error', code, msg, hint?}`. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly msg: string,
    readonly hint?: string,
  ) {
    super(msg);
  }
}

/** A matched request path. `token` is set whenever the path has the `/{token}/v5/` shape. */
export interface Route {
  /** Stable name for stats, e.g. `GET /keys/{uuid}`, or `other`. */
  readonly name: string;
  readonly token?: string;
  readonly uuid?: string;
  readonly mutation: boolean;
  /** Permission the calling key must hold; undefined for `GET /keys/self` (any active key). */
  readonly permission?: 'ACCESS_READ' | 'ACCESS_MANAGE';
  readonly known: boolean;
}

function segment(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Matches a method and path against the contract's routes. */
export function matchRoute(method: string, pathname: string): Route {
  const parts = pathname.split('/');
  const isMutation = method === 'POST' || method === 'PATCH' || method === 'PUT' || method === 'DELETE';
  if (parts.length < 4 || parts[0] !== '' || parts[2] !== 'v5' || parts[3] !== 'keys') {
    const token = parts[2] === 'v5' ? segment(parts[1]) : undefined;
    return { name: 'other', mutation: isMutation, known: false, ...(token ? { token } : {}) };
  }
  const token = segment(parts[1]) ?? '';
  const rest = parts.slice(4).map((p) => segment(p) ?? '');
  const other: Route = { name: 'other', token, mutation: isMutation, known: false };
  if (rest.length === 0) {
    if (method === 'GET') return { name: 'GET /keys', token, mutation: false, permission: 'ACCESS_READ', known: true };
    if (method === 'POST') return { name: 'POST /keys', token, mutation: true, permission: 'ACCESS_MANAGE', known: true };
    return other;
  }
  if (rest.length === 1 && rest[0] === 'self') {
    return method === 'GET' ? { name: 'GET /keys/self', token, mutation: false, known: true } : other;
  }
  if (rest.length === 1 && rest[0] === 'status') {
    return method === 'POST'
      ? { name: 'POST /keys/status', token, mutation: true, permission: 'ACCESS_MANAGE', known: true }
      : other;
  }
  if (rest.length === 1 && rest[0] !== '') {
    const uuid = rest[0]!;
    if (method === 'GET') return { name: 'GET /keys/{uuid}', token, uuid, mutation: false, permission: 'ACCESS_READ', known: true };
    if (method === 'PATCH') return { name: 'PATCH /keys/{uuid}', token, uuid, mutation: true, permission: 'ACCESS_MANAGE', known: true };
    return { ...other, uuid };
  }
  if (rest.length === 2 && rest[1] === 'secret' && rest[0] !== '') {
    return method === 'GET'
      ? { name: 'GET /keys/{uuid}/secret', token, uuid: rest[0]!, mutation: false, permission: 'ACCESS_MANAGE', known: true }
      : other;
  }
  return other;
}

const EXTRA_PERMISSION_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Checks the names given to the `extraPermissions` knob; throws a plain Error naming the bad one. */
export function checkExtraPermissions(names: readonly string[]): void {
  for (const name of names) {
    if (!EXTRA_PERMISSION_RE.test(name)) throw new Error(`extra permission "${name}" is not a permission name (A-Z, 0-9 and _, starting with a letter)`);
    if (isPermission(name)) throw new Error(`extra permission "${name}" is already one of the ${PERMISSIONS.length} permissions`);
  }
}

function invalid(msg: string, hint?: string): ApiFailure {
  return new ApiFailure(400, 'INVALID_REQUEST', msg, hint);
}

/** Parses `limit` and `cursor` of `GET /keys`; refuses any other parameter. */
export function parseListQuery(
  params: URLSearchParams,
  maxPageSize: number,
): { limit: number; after: KeyPosition | undefined } {
  for (const name of new Set(params.keys())) {
    if (name !== 'limit' && name !== 'cursor') throw invalid(`unknown query parameter "${name}"; GET /keys takes limit and cursor`);
    if (params.getAll(name).length > 1) throw invalid(`query parameter "${name}" is given more than once`);
  }
  // The contract allows 1..100; a server configured with a smaller page serves at most that many (the page is
  // clamped, as most paginated APIs do), so a client asking for the contract's maximum is never refused.
  const largest = Math.max(MAX_PAGE_SIZE, maxPageSize);
  let limit = maxPageSize;
  const limitText = params.get('limit');
  if (limitText !== null) {
    const asked = /^\d{1,9}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(asked >= 1 && asked <= largest)) {
      throw invalid(`limit must be a whole number from 1 to ${largest}, got "${limitText}"`);
    }
    limit = Math.min(asked, maxPageSize);
  }
  let after: KeyPosition | undefined;
  const cursorText = params.get('cursor');
  if (cursorText !== null && cursorText !== '') {
    after = decodeCursor(cursorText);
    if (!after) throw invalid('cursor is not a cursor this server issued', 'pass the next_cursor of the previous page unchanged');
  }
  return { limit, after };
}

/** Parses a JSON request body into an object; refuses anything else. */
export function parseJsonObject(data: Buffer | undefined): Record<string, unknown> {
  const text = data?.toString('utf8') ?? '';
  if (text.trim() === '') throw invalid('the request body is empty; expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

function refuseUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw invalid(
      `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
}

function description(value: unknown): string {
  if (typeof value !== 'string') throw invalid('description must be a string');
  if (value.length === 0) throw invalid('description must not be empty');
  // Code points, as the manifest and JSON Schema's maxLength count: 255 emoji fit, though they are 510 UTF-16 units.
  const length = descriptionLength(value);
  if (length > MAX_DESCRIPTION_LENGTH) {
    throw invalid(`description is ${length} characters long; the maximum is ${MAX_DESCRIPTION_LENGTH} (counted in Unicode code points)`);
  }
  return value;
}

function permissions(value: unknown, extra: readonly string[]): string[] {
  if (!Array.isArray(value)) throw invalid('permissions must be an array of permission names');
  value.forEach((p, i) => {
    if (typeof p !== 'string') throw invalid(`permissions[${i}] must be a string`);
    if (!isPermission(p) && !extra.includes(p)) {
      throw invalid(`permissions[${i}]: unknown permission "${p}"`, `valid permissions: ${[...PERMISSIONS, ...extra].join(', ')}`);
    }
  });
  return [...new Set(value as string[])].sort();
}

function active(value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid('active must be true or false');
  return value;
}

/**
 * Body of `POST /keys`. `extraPermissions` (a test-only knob) are accepted besides the 31, as a Scaleflex that
 * added a permission would.
 */
export function parseCreateBody(
  body: Record<string, unknown>,
  extraPermissions: readonly string[] = [],
): { description: string; permissions: string[]; active: boolean } {
  refuseUnknownFields(body, ['description', 'permissions', 'active']);
  if (!('description' in body)) throw invalid('description is required');
  if (!('permissions' in body)) throw invalid('permissions is required (an empty array gives a key no permissions)');
  return {
    description: description(body.description),
    permissions: permissions(body.permissions, extraPermissions),
    active: 'active' in body ? active(body.active) : true,
  };
}

/** Body of `PATCH /keys/{uuid}`: at least one of the three fields. */
export function parseUpdateBody(
  body: Record<string, unknown>,
  extraPermissions: readonly string[] = [],
): { description?: string; permissions?: string[]; active?: boolean } {
  refuseUnknownFields(body, ['description', 'permissions', 'active']);
  const out: { description?: string; permissions?: string[]; active?: boolean } = {};
  if ('description' in body) out.description = description(body.description);
  if ('permissions' in body) out.permissions = permissions(body.permissions, extraPermissions);
  if ('active' in body) out.active = active(body.active);
  if (Object.keys(out).length === 0) throw invalid('the body changes nothing; give at least one of description, permissions, active');
  return out;
}

/** Body of `POST /keys/status`. */
export function parseStatusBody(body: Record<string, unknown>, bulkMax: number): { uuids: string[]; active: boolean } {
  refuseUnknownFields(body, ['uuids', 'active']);
  if (!Array.isArray(body.uuids)) throw invalid('uuids must be an array of key uuids');
  if (body.uuids.length === 0) throw invalid('uuids must not be empty');
  if (body.uuids.length > bulkMax) {
    throw invalid(`uuids has ${body.uuids.length} entries; at most ${bulkMax} are accepted per request`, 'split the change into batches');
  }
  body.uuids.forEach((u, i) => {
    if (typeof u !== 'string' || u === '') throw invalid(`uuids[${i}] must be a non-empty string`);
  });
  if (!('active' in body)) throw invalid('active is required');
  return { uuids: [...new Set(body.uuids as string[])], active: active(body.active) };
}
