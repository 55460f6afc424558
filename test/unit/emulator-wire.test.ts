/** The wire form of keys: a list page built as text is the JSON.stringify of the key objects, byte for byte (pure). */
import type { StoredKey } from '../../src/emulator/store';
import { keyToWire, listPageJson } from '../../src/emulator/wire';

function key(n: number, description: string, permissions: string[], active = true): StoredKey {
  const hex = String(n).padStart(12, '0');
  return {
    uuid: `11111111-1111-4111-8111-${hex}`,
    description,
    permissions,
    active,
    createdAt: `2026-01-02T03:04:05.${String(n).padStart(6, '0')}Z`,
    createdUs: 1_767_323_045_000_000 + n,
    secret: `0123456789abcdef0123456789ab${hex.slice(-4)}`,
  };
}

const KEYS = [
  key(1, 'plain', ['OBJECTS_LIST']),
  key(2, 'quotes " and \\ backslashes', ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST'], false),
  key(3, 'new\nline, tab\t, control \u0001 and DEL \u007f', []),
  key(4, 'accents é, CJK 鍵, emoji 🔑, a lone surrogate \ud800 and U+2028 \u2028', ['X_EXTRA_1']),
];

test.each([
  ['a page with more to come', KEYS, 'azE6MTIzOjExMTExMTExLTExMTEtNDExMS04MTExLTExMTExMTExMTExMQ'],
  ['the last page', KEYS.slice(0, 1), null],
  ['an empty page', [], null],
])('%s is the JSON.stringify of its keys in wire form', (_name, keys, nextCursor) => {
  const expected = JSON.stringify({ status: 'success', keys: keys.map(keyToWire), next_cursor: nextCursor });
  expect(listPageJson(keys, nextCursor)).toBe(expected);
});
