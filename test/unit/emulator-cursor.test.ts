/** Cursor encoding, listing order and the microsecond timestamps of the emulator (pure). */
import { comparePositions, decodeCursor, encodeCursor, formatMicros, pageStart, parseMicros } from '../../src/emulator/cursor';

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';

describe('cursors', () => {
  test.each([
    { createdUs: 0, uuid: U1 },
    { createdUs: 1_795_686_426_768_123, uuid: U2 },
    { createdUs: Number.MAX_SAFE_INTEGER, uuid: U1 },
  ])('a cursor for %j decodes to the same position', (position) => {
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  test.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['random text', 'hello'],
    ['a bad uuid inside', Buffer.from('k1:5:not-a-uuid').toString('base64url')],
    ['a wrong prefix', Buffer.from(`k2:5:${U1}`).toString('base64url')],
    ['a negative time', Buffer.from(`k1:-5:${U1}`).toString('base64url')],
    ['too long', 'a'.repeat(500)],
  ])('a cursor that is %s is refused', (_name, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

describe('listing order', () => {
  test.each([
    [{ createdUs: 1, uuid: U2 }, { createdUs: 2, uuid: U1 }, -1],
    [{ createdUs: 2, uuid: U1 }, { createdUs: 1, uuid: U2 }, 1],
    [{ createdUs: 1, uuid: U1 }, { createdUs: 1, uuid: U2 }, -1],
    [{ createdUs: 1, uuid: U2 }, { createdUs: 1, uuid: U2 }, 0],
  ])('%j against %j compares as %i (time first, then uuid)', (a, b, expected) => {
    expect(Math.sign(comparePositions(a, b))).toBe(expected);
  });

  const keys = [10, 20, 20, 30, 40].map((createdUs, i) => ({ createdUs, uuid: i === 2 ? U2 : U1 }));
  test.each([
    ['no cursor starts at the beginning', undefined, 0],
    ['after the first key', { createdUs: 10, uuid: U1 }, 1],
    ['after the first of two keys with the same time', { createdUs: 20, uuid: U1 }, 2],
    ['after the second of two keys with the same time', { createdUs: 20, uuid: U2 }, 3],
    ['between keys (a position no key has)', { createdUs: 25, uuid: U1 }, 3],
    ['after the last key', { createdUs: 40, uuid: U1 }, 5],
    ['before every key', { createdUs: 1, uuid: U1 }, 0],
  ])('pageStart: %s', (_name, after, expected) => {
    expect(pageStart(keys, after)).toBe(expected);
  });
});

test('finding a page among 100,000 keys reads about log2(n) keys, not all of them', () => {
  const keys = Array.from({ length: 100_000 }, (_, i) => ({ createdUs: i * 10, uuid: U1 }));
  let reads = 0;
  const counted = new Proxy(keys, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) reads++;
      return Reflect.get(target, prop, receiver);
    },
  });
  expect(pageStart(counted, { createdUs: 500_000, uuid: U1 })).toBe(50_001);
  expect(reads).toBeLessThanOrEqual(18);
});

describe('timestamps', () => {
  test.each([
    [1_795_686_426_768_123, '2026-11-26T09:47:06.768123Z'],
    [0, '1970-01-01T00:00:00.000000Z'],
    [1_000_001, '1970-01-01T00:00:01.000001Z'],
  ])('%i microseconds format as %s and parse back', (us, iso) => {
    expect(formatMicros(us)).toBe(iso);
    expect(parseMicros(iso)).toBe(us);
  });

  test.each([
    ['2026-11-26T09:47:06Z', 1_795_686_426_000_000],
    ['2026-11-26T09:47:06.5Z', 1_795_686_426_500_000],
    ['not a date', Number.NaN],
  ])('parseMicros(%s)', (iso, us) => {
    expect(parseMicros(iso)).toBe(us);
  });
});
