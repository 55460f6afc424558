/**
 * The API's wire forms (snake_case JSON) and their mapping to the domain's `LiveKey` (camelCase): the one
 * place where the two spellings meet. Answers are checked for shape here, so a server that sends something
 * else fails with a clear message instead of an undefined deep inside the reconciler.
 */
import type { LiveKey, Permission } from '../model';

/** A key as the API sends it. */
export interface WireKey {
  uuid: string;
  description: string;
  permissions: string[];
  active: boolean;
  created_at: string;
  secret_preview: string;
  /** Present only in the answer to a create. */
  secret?: string;
}

/** The body of an error answer. */
export interface WireError {
  status: 'error';
  code: string;
  msg: string;
  hint?: string;
}

/** Thrown (and turned into a ScaleflexApiError by the transport) when an answer does not have the contract's shape. */
export class WireShapeError extends Error {
  override name = 'WireShapeError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a wire key's shape and maps it to a frozen `LiveKey`. */
export function toLiveKey(v: unknown): LiveKey {
  if (
    !isObject(v) ||
    typeof v.uuid !== 'string' ||
    typeof v.description !== 'string' ||
    !Array.isArray(v.permissions) ||
    !v.permissions.every((p) => typeof p === 'string') ||
    typeof v.active !== 'boolean' ||
    typeof v.created_at !== 'string'
  ) {
    throw new WireShapeError('the answer does not hold a key in the expected shape');
  }
  return Object.freeze({
    uuid: v.uuid,
    description: v.description,
    permissions: Object.freeze([...(v.permissions as Permission[])]),
    active: v.active,
    createdAt: v.created_at,
    secretPreview: typeof v.secret_preview === 'string' ? v.secret_preview : '',
  });
}

/** `{key: Key}` -> LiveKey. */
export function keyFromBody(body: unknown): LiveKey {
  if (!isObject(body)) throw new WireShapeError('the answer is not a JSON object');
  return toLiveKey(body.key);
}

/** `{key: Key & {secret}}` -> the key and its secret. */
export function createdFromBody(body: unknown): { key: LiveKey; secret: string } {
  if (!isObject(body) || !isObject(body.key) || typeof body.key.secret !== 'string' || !body.key.secret) {
    throw new WireShapeError('the answer to a create does not hold the new key and its secret');
  }
  return { key: toLiveKey(body.key), secret: body.key.secret };
}

/** `{keys, next_cursor}` -> one page. */
export function pageFromBody(body: unknown): { keys: LiveKey[]; nextCursor: string | null } {
  if (!isObject(body) || !Array.isArray(body.keys)) throw new WireShapeError('the answer does not hold a page of keys');
  const next = body.next_cursor;
  if (next !== null && next !== undefined && typeof next !== 'string') {
    throw new WireShapeError('the answer holds a next_cursor that is not a string');
  }
  return { keys: body.keys.map(toLiveKey), nextCursor: next ? next : null };
}

/** `{updated: n}` -> n. */
export function updatedFromBody(body: unknown): number {
  if (!isObject(body) || typeof body.updated !== 'number') throw new WireShapeError('the answer does not say how many keys were updated');
  return body.updated;
}

/** `{secret}` -> the secret. */
export function secretFromBody(body: unknown): string {
  if (!isObject(body) || typeof body.secret !== 'string' || !body.secret) throw new WireShapeError('the answer does not hold a secret');
  return body.secret;
}

/** The error body of a failed answer, or undefined when the body is not the contract's error form. */
export function errorFromBody(body: unknown): WireError | undefined {
  if (!isObject(body) || typeof body.code !== 'string') return undefined;
  return {
    status: 'error',
    code: body.code,
    msg: typeof body.msg === 'string' ? body.msg : '',
    ...(typeof body.hint === 'string' ? { hint: body.hint } : {}),
  };
}

/** The wire body of a create. */
export function createBody(input: { description: string; permissions: readonly string[]; active?: boolean }): string {
  return JSON.stringify({
    description: input.description,
    permissions: [...input.permissions],
    ...(input.active === undefined ? {} : { active: input.active }),
  });
}

/** The wire body of an update: only the fields given. */
export function updateBody(input: { description?: string; permissions?: readonly string[]; active?: boolean }): string {
  const body: Record<string, unknown> = {};
  if (input.description !== undefined) body.description = input.description;
  if (input.permissions !== undefined) body.permissions = [...input.permissions];
  if (input.active !== undefined) body.active = input.active;
  return JSON.stringify(body);
}
