/** Mapping answers to errors and wire keys to LiveKey; the self-key check's messages. Pure, no server. */
import { accessOf, checkSelfKey, requiredPermissions, smallerPageSize } from '../../src/api/client';
import { apiErrorFrom, type Answer } from '../../src/api/transport';
import { pageFromBody, toLiveKey } from '../../src/api/wire';
import { ScaleflexApiError } from '../../src/errors';
import type { LiveKey } from '../../src/model';
import { secrets } from '../../src/redact';

const ctx = { project: 'demo', credentialSource: 'SCALEFLEX_API_KEY_DEMO' };

function answer(status: number, body: unknown, over: Partial<Answer> = {}): Answer {
  return { status, headers: {}, text: typeof body === 'string' ? body : JSON.stringify(body), requestId: 'req-1', attempts: 1, elapsedMs: 5, ...over };
}

test.each([
  { status: 403, body: { status: 'error', code: 'PERMISSION_DENIED', msg: 'needs ACCESS_MANAGE' }, apiCode: 'PERMISSION_DENIED', hint: /SCALEFLEX_API_KEY_DEMO/ },
  { status: 404, body: { status: 'error', code: 'NOT_FOUND', msg: 'no key' }, apiCode: 'NOT_FOUND', hint: /run plan again/ },
  { status: 400, body: { status: 'error', code: 'INVALID_REQUEST', msg: 'bad', hint: 'fix the field' }, apiCode: 'INVALID_REQUEST', hint: /^fix the field$/ },
  { status: 502, body: '<html>bad gateway</html>', apiCode: 'HTTP_502', hint: /safe to repeat/ },
])('a $status answer becomes a ScaleflexApiError with code $apiCode', ({ status, body, apiCode, hint }) => {
  const err = apiErrorFrom({ method: 'PATCH', path: '/demo/v5/keys/u1?x=1' }, answer(status, body), ctx);
  expect(err).toBeInstanceOf(ScaleflexApiError);
  expect(err).toMatchObject({ status, apiCode, method: 'PATCH', path: '/demo/v5/keys/u1', requestId: 'req-1', code: 'API_ERROR' });
  expect(err.hint).toMatch(hint);
  expect(err.message).toContain(`PATCH /demo/v5/keys/u1 failed: ${status} ${apiCode}`);
  expect(err.message).toContain('(request id req-1)');
});

test('the message says how many attempts were made when there were retries', () => {
  const err = apiErrorFrom({ method: 'GET', path: '/demo/v5/keys' }, answer(503, { code: 'UNAVAILABLE', msg: 'down' }, { attempts: 4, elapsedMs: 3210 }), ctx);
  expect(err.message).toBe('GET /demo/v5/keys failed after 4 attempts in 3.2 s: 503 UNAVAILABLE: down (request id req-1)');
});

test('a secret known to the redactor never reaches an error built from an answer', () => {
  const secret = '0123456789abcdef0123456789abcdef';
  secrets.add(secret);
  const err = apiErrorFrom({ method: 'GET', path: '/demo/v5/keys' }, answer(400, { code: 'INVALID_REQUEST', msg: `bad key ${secret}`, hint: `not ${secret}` }), ctx);
  expect(JSON.stringify({ ...err, message: err.message })).not.toContain(secret);
  expect(err.msg).toBe('bad key [REDACTED]');
});

const self = (permissions: string[], active = true): LiveKey =>
  ({ uuid: 'u', description: 'admin', permissions, active, createdAt: '2026-01-01T00:00:00Z', secretPreview: '****abcd' }) as LiveKey;

test.each([
  { access: 'read', purpose: 'plan', perms: ['ACCESS_READ'], message: undefined },
  { access: 'read', purpose: 'import', perms: ['ACCESS_READ'], message: undefined },
  { access: 'manage', purpose: 'apply', perms: ['ACCESS_READ', 'ACCESS_MANAGE'], message: undefined },
  { access: 'manage', purpose: 'apply', perms: ['ACCESS_READ'], message: 'the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_MANAGE, which apply needs' },
  { access: 'manage', purpose: 'secrets pull', perms: ['ACCESS_READ'], message: 'the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_MANAGE, which secrets pull needs' },
  { access: 'read', purpose: 'plan', perms: ['ACCESS_MANAGE'], message: 'the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_READ, which plan needs' },
  { access: 'manage', purpose: 'apply', perms: [], message: 'the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_READ and ACCESS_MANAGE, which apply needs' },
  { access: 'manage', purpose: undefined, perms: ['ACCESS_READ'], message: 'the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_MANAGE, which managing keys needs' },
] as const)('$access access (purpose $purpose) with a key holding [$perms] is refused: $message', ({ access, purpose, perms, message }) => {
  const err = checkSelfKey(self([...perms]), access, 'SCALEFLEX_API_KEY_DEMO', purpose);
  expect(err?.message).toBe(message);
  if (err) expect(err.code).toBe('KEY_LACKS_PERMISSION');
});

test('a deactivated key is refused whatever it holds', () => {
  expect(checkSelfKey(self(['ACCESS_READ', 'ACCESS_MANAGE'], false), 'read', 'file ./k', 'plan')?.message).toBe(
    'the key in file ./k is deactivated, so plan cannot use it',
  );
});

test('read access needs ACCESS_READ; manage access also needs ACCESS_MANAGE', () => {
  expect(requiredPermissions('read')).toEqual(['ACCESS_READ']);
  expect(requiredPermissions('manage')).toEqual(['ACCESS_READ', 'ACCESS_MANAGE']);
});

test.each([
  { command: 'plan', access: 'read' },
  { command: 'import', access: 'read' },
  { command: 'apply', access: 'manage' },
  { command: 'secrets pull', access: 'manage' },
] as const)('$command opens with $access access, labelled $command in messages', ({ command, access }) => {
  expect(accessOf({ project: 'demo', apiUrl: 'http://127.0.0.1:1', apiKey: 'k', credentialSource: 'X', access, purpose: command })).toEqual({ access, purpose: command });
});

test.each([
  { text: '{"status":"error","code":"INVALID_REQUEST","msg":"limit must be a whole number from 1 to 50, got \\"100\\""}', expected: 50 },
  { text: '{"status":"error","code":"INVALID_REQUEST","msg":"limit must be at most 25"}', expected: 25 },
  { text: '{"status":"error","code":"INVALID_REQUEST","msg":"cursor is not a cursor this server issued"}', expected: undefined },
  { text: '{"status":"error","code":"KEY_INVALID","msg":"limit 50"}', expected: undefined },
  { text: 'not json', expected: undefined },
])('smallerPageSize finds the maximum a server names: $expected', ({ text, expected }) => {
  expect(smallerPageSize(text, 100)).toBe(expected);
});

test('the wire form maps to LiveKey in camelCase, without the secret', () => {
  const key = toLiveKey({
    uuid: 'u1',
    description: 'CI',
    permissions: ['OBJECTS_LIST'],
    active: true,
    created_at: '2026-01-01T00:00:00.000Z',
    secret_preview: '****abcd',
    secret: 'ffffffffffffffffffffffffffffffff',
  });
  expect(key).toEqual({ uuid: 'u1', description: 'CI', permissions: ['OBJECTS_LIST'], active: true, createdAt: '2026-01-01T00:00:00.000Z', secretPreview: '****abcd' });
  expect(Object.isFrozen(key)).toBe(true);
});

test.each([
  { name: 'a key without uuid', body: { keys: [{ description: 'x' }], next_cursor: null } },
  { name: 'keys that are not a list', body: { keys: {}, next_cursor: null } },
  { name: 'a numeric cursor', body: { keys: [], next_cursor: 5 } },
])('a page with $name is refused', ({ body }) => {
  expect(() => pageFromBody(body)).toThrow(/expected shape|page of keys|next_cursor/);
});
