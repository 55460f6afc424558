/** Unit tests of the one redaction mechanism: what is masked, and that it stays linear as secrets pile up. */
import { Redactor, maskSecret } from '../../src/redact';

describe('Redactor', () => {
  test.each([
    { name: 'a known secret anywhere in the text', secrets: ['0123456789abcdef'], text: 'key=0123456789abcdef;', expected: 'key=[REDACTED];' },
    { name: 'every occurrence', secrets: ['0123456789abcdef'], text: '0123456789abcdef 0123456789abcdef', expected: '[REDACTED] [REDACTED]' },
    { name: 'adjacent secrets', secrets: ['aaaaaaaa1111', 'bbbbbbbb2222'], text: 'aaaaaaaa1111bbbbbbbb2222', expected: '[REDACTED][REDACTED]' },
    { name: 'the longest of two secrets sharing a start', secrets: ['abcdefgh', 'abcdefghij'], text: 'xabcdefghijy', expected: 'x[REDACTED]y' },
    { name: 'the shorter one when the longer does not follow', secrets: ['abcdefgh', 'abcdefghij'], text: 'xabcdefghZ', expected: 'x[REDACTED]Z' },
    { name: 'nothing for strings shorter than 8 characters', secrets: ['short'], text: 'a short text', expected: 'a short text' },
    { name: 'a secret added with surrounding whitespace', secrets: ['  0123456789abcdef\n'], text: 'v 0123456789abcdef', expected: 'v [REDACTED]' },
    { name: 'regex characters literally', secrets: ['a.b*c+d?e(f)'], text: 'a.b*c+d?e(f) aXbbcdde(f)', expected: '[REDACTED] aXbbcdde(f)' },
    { name: 'text without any secret unchanged', secrets: ['0123456789abcdef'], text: 'nothing here', expected: 'nothing here' },
  ])('masks $name', ({ secrets, text, expected }) => {
    const r = new Redactor();
    for (const s of secrets) r.add(s);
    expect(r.redact(text)).toBe(expected);
  });

  test('counts secrets without exposing them, ignoring repeats and empty values', () => {
    const r = new Redactor();
    r.add('0123456789abcdef');
    r.add('0123456789abcdef');
    r.add(undefined);
    r.add('');
    expect(r.size).toBe(1);
  });

  test('adding 10,000 secrets with a redaction after each stays fast (no rebuild per secret)', () => {
    const r = new Redactor();
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) {
      r.add(`${i.toString(16).padStart(8, '0')}${'f'.repeat(24)}`);
      r.redact(`  + created "key ${i}" (uuid 12345678-aaaa-bbbb-cccc-1234567890ab)\n`);
    }
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.redact(`x ${(4242).toString(16).padStart(8, '0')}${'f'.repeat(24)} y`)).toBe('x [REDACTED] y');
  });
});

test('maskSecret shows only the last 4 characters', () => {
  expect(maskSecret('0123456789abcdef')).toBe('****cdef');
});
