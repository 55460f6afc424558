/** Which key an ambiguous create made: pure, table-driven, including clock skew between client and server. */
import { CLOCK_SLACK_MS, createdNotBefore, findAdoptable, type AttemptStart } from '../../src/api/adoption';
import type { LiveKey, Permission } from '../../src/model';

const T = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function key(uuid: string, createdAt: number, over: Partial<LiveKey> = {}): LiveKey {
  return { uuid, description: 'ci', permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] as Permission[], active: true, createdAt: iso(createdAt), secretPreview: '****', ...over };
}

const wanted = { description: 'ci', permissions: ['FILE_UPLOAD', 'OBJECTS_LIST'] as Permission[] };
// The attempt began when the client had seen 10 keys, the newest created at T - 60 s, and the server's clock read T.
const start: AttemptStart = { seenMark: 10, newestCreatedAt: T - 60_000, serverTime: T };

test.each([
  { name: 'an identical key created after the attempt began is adopted', listed: [{ key: key('a', T + 5), firstSeen: 11 }], expected: 'a' },
  { name: 'permission order does not matter', listed: [{ key: key('a', T + 5, { permissions: ['OBJECTS_LIST', 'FILE_UPLOAD'] as Permission[] }), firstSeen: 11 }], expected: 'a' },
  { name: 'a key seen before the attempt is never adopted, however new', listed: [{ key: key('a', T + 5), firstSeen: 10 }], expected: undefined },
  { name: 'an unseen identical key created well before the attempt is someone else\'s', listed: [{ key: key('a', T - 10_000), firstSeen: 11 }], expected: undefined },
  { name: 'a key within the slack before the attempt is adopted (Date has one-second resolution)', listed: [{ key: key('a', T - 1500), firstSeen: 11 }], expected: 'a' },
  { name: 'other permissions are not the key asked for', listed: [{ key: key('a', T + 5, { permissions: ['OBJECTS_LIST'] as Permission[] }), firstSeen: 11 }], expected: undefined },
  { name: 'another description is not the key asked for', listed: [{ key: key('a', T + 5, { description: 'ci ' }), firstSeen: 11 }], expected: undefined },
  { name: 'a deactivated key is not an active key asked for', listed: [{ key: key('a', T + 5, { active: false }), firstSeen: 11 }], expected: undefined },
  {
    name: 'of two candidates the older is adopted',
    listed: [
      { key: key('b', T + 900), firstSeen: 12 },
      { key: key('a', T + 100), firstSeen: 11 },
    ],
    expected: 'a',
  },
])('$name', ({ listed, expected }) => {
  expect(findAdoptable(listed, wanted, start)?.uuid).toBe(expected);
});

test.each([
  { name: 'the server time, when later than any key seen', start: { seenMark: 0, newestCreatedAt: T - 60_000, serverTime: T }, expected: T - CLOCK_SLACK_MS },
  { name: 'the newest key seen, when later than the server time', start: { seenMark: 0, newestCreatedAt: T + 3000, serverTime: T }, expected: T + 3000 - CLOCK_SLACK_MS },
  { name: 'the newest key seen, when no Date was ever received', start: { seenMark: 0, newestCreatedAt: T, serverTime: undefined }, expected: T - CLOCK_SLACK_MS },
  { name: 'no bound at all when nothing is known', start: { seenMark: 0, newestCreatedAt: Number.NEGATIVE_INFINITY, serverTime: undefined }, expected: Number.NEGATIVE_INFINITY },
])('the created_at bound is $name', ({ start: s, expected }) => {
  expect(createdNotBefore(s)).toBe(expected);
});

test.each([
  { skew: 'three hours ahead', localNow: T + 3 * 3600_000 },
  { skew: 'three hours behind', localNow: T - 3 * 3600_000 },
])('a client clock $skew of the server changes nothing: only server times are compared', ({ localNow }) => {
  const now = jest.spyOn(Date, 'now').mockReturnValue(localNow);
  try {
    const listed = [
      { key: key('old', T - 10_000), firstSeen: 11 },
      { key: key('mine', T + 5), firstSeen: 12 },
    ];
    expect(findAdoptable(listed, wanted, start)?.uuid).toBe('mine');
  } finally {
    now.mockRestore();
  }
});
