/** Route matching, request validation and the key store of the emulator (pure). */
import { ApiFailure, matchRoute, parseCreateBody, parseListQuery, parseStatusBody, parseUpdateBody } from '../../src/emulator/requests';
import { KeyStore } from '../../src/emulator/store';
import { encodeCursor } from '../../src/emulator/cursor';

const U = '11111111-1111-4111-8111-111111111111';

test.each([
  ['GET', '/demo/v5/keys', 'GET /keys', 'ACCESS_READ'],
  ['POST', '/demo/v5/keys', 'POST /keys', 'ACCESS_MANAGE'],
  ['GET', '/demo/v5/keys/self', 'GET /keys/self', undefined],
  ['POST', '/demo/v5/keys/status', 'POST /keys/status', 'ACCESS_MANAGE'],
  ['GET', `/demo/v5/keys/${U}`, 'GET /keys/{uuid}', 'ACCESS_READ'],
  ['PATCH', `/demo/v5/keys/${U}`, 'PATCH /keys/{uuid}', 'ACCESS_MANAGE'],
  ['GET', `/demo/v5/keys/${U}/secret`, 'GET /keys/{uuid}/secret', 'ACCESS_MANAGE'],
  ['DELETE', `/demo/v5/keys/${U}`, 'other', undefined],
  ['GET', '/demo/v4/keys', 'other', undefined],
  ['GET', '/demo/v5/keys/', 'other', undefined],
  ['PUT', '/demo/v5/keys/self', 'other', undefined],
])('%s %s routes to %s needing %s', (method, p, name, permission) => {
  const route = matchRoute(method, p);
  expect(route.name).toBe(name);
  expect(route.permission).toBe(permission);
});

function failure(fn: () => unknown): ApiFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiFailure) return error;
    throw error;
  }
  throw new Error('expected an ApiFailure');
}

describe('body validation names the field', () => {
  test.each([
    [{ description: 'x', permissions: ['NOPE'] }, /permissions\[0\]: unknown permission "NOPE"/],
    [{ description: '', permissions: [] }, /description must not be empty/],
    [{ description: 'x'.repeat(256), permissions: [] }, /maximum is 255/],
    [{ description: '😀'.repeat(256), permissions: [] }, /description is 256 characters long/],
    [{ description: 3, permissions: [] }, /description must be a string/],
    [{ permissions: [] }, /description is required/],
    [{ description: 'x', permissions: 'ACCESS_READ' }, /permissions must be an array/],
    [{ description: 'x', permissions: [], extra: 1 }, /unknown field "extra"/],
  ])('create %j', (body, msg) => {
    const f = failure(() => parseCreateBody(body as Record<string, unknown>));
    expect(f.status).toBe(400);
    expect(f.code).toBe('INVALID_REQUEST');
    expect(f.msg).toMatch(msg);
  });

  test('255 emoji (510 UTF-16 units) are a description of 255 code points: accepted', () => {
    expect(parseCreateBody({ description: '😀'.repeat(255), permissions: [] }).description).toBe('😀'.repeat(255));
  });

  test('a valid create keeps the description as given and sorts unique permissions', () => {
    expect(parseCreateBody({ description: ' a ', permissions: ['OBJECTS_LIST', 'ACCESS_READ', 'OBJECTS_LIST'] })).toEqual({
      description: ' a ',
      permissions: ['ACCESS_READ', 'OBJECTS_LIST'],
      active: true,
    });
  });

  test.each([
    [{}, /at least one of/],
    [{ active: 1 }, /active must be true or false/],
    [{ uuid: U }, /unknown field "uuid"/],
  ])('update %j', (body, msg) => {
    expect(failure(() => parseUpdateBody(body)).msg).toMatch(msg);
  });

  test.each([
    [{ uuids: [], active: true }, 100, /must not be empty/],
    [{ uuids: ['a', 'b', 'c'], active: true }, 2, /uuids has 3 entries; at most 2/],
    [{ uuids: ['a'] }, 100, /active is required/],
    [{ uuids: [''], active: true }, 100, /uuids\[0\]/],
    [{ uuids: 'a', active: true }, 100, /uuids must be an array/],
  ])('status %j with bulk max %i', (body, bulkMax, msg) => {
    expect(failure(() => parseStatusBody(body as Record<string, unknown>, bulkMax)).msg).toMatch(msg);
  });

  test.each([
    ['limit=0', /limit/],
    ['limit=1&limit=2', /more than once/],
    ['cursor=xyz', /cursor/],
    ['foo=1', /unknown query parameter "foo"/],
  ])('list query %s', (query, msg) => {
    expect(failure(() => parseListQuery(new URLSearchParams(query), 100)).msg).toMatch(msg);
  });

  test('a valid list query gives the limit and the position after the cursor', () => {
    const cursor = encodeCursor({ createdUs: 5, uuid: U });
    expect(parseListQuery(new URLSearchParams(`limit=3&cursor=${cursor}`), 100)).toEqual({ limit: 3, after: { createdUs: 5, uuid: U } });
    expect(parseListQuery(new URLSearchParams(''), 50)).toEqual({ limit: 50, after: undefined });
  });
});

describe('the key store', () => {
  function storeWithKeys(): KeyStore {
    const store = new KeyStore();
    const key = (uuid: string, secret: string) => ({
      uuid,
      description: uuid,
      permissions: [],
      active: true,
      created_at: store.nextCreatedAt(1_000),
      secret,
    });
    store.apply({ seq: 1, op: 'project', project: 'p', admin: key('00000000-0000-4000-8000-000000000000', 'a'.repeat(32)) });
    store.apply({ seq: 2, op: 'create', project: 'p', key: key('00000000-0000-4000-8000-000000000001', 'b'.repeat(32)) });
    store.apply({ seq: 3, op: 'create', project: 'p', key: key('00000000-0000-4000-8000-000000000002', 'c'.repeat(32)) });
    return store;
  }

  test('creation times handed out in the same millisecond are still strictly increasing', () => {
    const store = storeWithKeys();
    const times = store.project('p')!.keys.map((k) => k.createdUs);
    expect(times).toEqual([1_000_000, 1_000_001, 1_000_002]);
  });

  test('findBySecret finds a key of its own project only, and nothing for a near miss', () => {
    const store = storeWithKeys();
    expect(store.findBySecret('p', 'b'.repeat(32))?.uuid).toBe('00000000-0000-4000-8000-000000000001');
    expect(store.findBySecret('p', `${'b'.repeat(31)}c`)).toBeUndefined();
    expect(store.findBySecret('other', 'b'.repeat(32))).toBeUndefined();
  });

  test('a status record that names an unknown key throws before changing anything', () => {
    const store = storeWithKeys();
    expect(() =>
      store.apply({ seq: 4, op: 'status', project: 'p', uuids: ['00000000-0000-4000-8000-000000000001', 'nope'], active: false }),
    ).toThrow(/unknown key nope/);
    expect(store.project('p')!.get('00000000-0000-4000-8000-000000000001')!.active).toBe(true);
  });

  test('a format 1 snapshot (one object per key, no stored created_us or secret hash) as older versions wrote it still loads', () => {
    const old = {
      format: 1 as const,
      seq: 7,
      projects: {
        p: {
          admin_uuid: '00000000-0000-4000-8000-000000000000',
          keys: [
            { uuid: '00000000-0000-4000-8000-000000000000', description: 'admin', permissions: ['ACCESS_MANAGE'], active: true, created_at: '2026-01-02T03:04:05.000001Z', secret: 'a'.repeat(32) },
            { uuid: '00000000-0000-4000-8000-000000000001', description: 'k', permissions: [], active: false, created_at: '2026-01-02T03:04:05.123Z', secret: 'b'.repeat(32) },
          ],
        },
      },
    };
    const store = KeyStore.fromSnapshot(old);
    expect(store.project('p')!.keys.map((k) => k.createdUs)).toEqual([Date.parse('2026-01-02T03:04:05Z') * 1000 + 1, Date.parse('2026-01-02T03:04:05Z') * 1000 + 123_000]);
    expect(store.findBySecret('p', 'b'.repeat(32))?.uuid).toBe('00000000-0000-4000-8000-000000000001');
    // Written back in format 2, it loads to the same keys.
    const again = KeyStore.fromSnapshot(JSON.parse(JSON.stringify(store.toSnapshot())));
    expect(again.toSnapshot()).toEqual(store.toSnapshot());
    expect(store.toSnapshot().format).toBe(2);
    expect(again.findBySecret('p', 'a'.repeat(32))?.description).toBe('admin');
  });

  test('a snapshot round trip keeps every key, in order, with the same sequence number', () => {
    const store = storeWithKeys();
    const copy = KeyStore.fromSnapshot(JSON.parse(JSON.stringify(store.toSnapshot())));
    expect(copy.toSnapshot()).toEqual(store.toSnapshot());
    expect(copy.seq).toBe(3);
  });

  test('a page is a slice after the cursor position and says whether more follow', () => {
    const project = storeWithKeys().project('p')!;
    const first = project.page(undefined, 2);
    expect(first.keys.map((k) => k.uuid.slice(-1))).toEqual(['0', '1']);
    expect(first.more).toBe(true);
    const second = project.page(first.keys[1], 2);
    expect(second.keys.map((k) => k.uuid.slice(-1))).toEqual(['2']);
    expect(second.more).toBe(false);
  });
});
