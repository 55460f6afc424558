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
    { name: 'a secret in upper case', secrets: ['0123456789abcdef0123456789abcdef'], text: 'k=0123456789ABCDEF0123456789ABCDEF.', expected: 'k=[REDACTED].' },
    { name: 'a secret in mixed case, added in upper case', secrets: ['ABCDEFGH12345678'], text: 'k=aBcDeFgH12345678', expected: 'k=[REDACTED]' },
    { name: 'a prefix of 16 characters of a secret', secrets: ['0123456789abcdef0123456789abcdef'], text: 'k=0123456789abcdef...', expected: 'k=[REDACTED]...' },
    { name: 'a long prefix in another case', secrets: ['0123456789abcdef0123456789abcdef'], text: 'k=0123456789ABCDEF01234 (cut)', expected: 'k=[REDACTED] (cut)' },
    { name: 'nothing for a prefix of 15 characters', secrets: ['0123456789abcdef0123456789abcdef'], text: 'k=0123456789abcde!', expected: 'k=0123456789abcde!' },
    { name: 'a whole short secret, but not its shorter prefixes', secrets: ['aaaaaaaa1111'], text: 'aaaaaaaa111 AAAAAAAA1111', expected: 'aaaaaaaa111 [REDACTED]' },
  ])('masks $name', ({ secrets, text, expected }) => {
    const r = new Redactor();
    for (const s of secrets) r.add(s);
    expect(r.redact(text)).toBe(expected);
  });

  test('redacting text made of near-misses of long secrets stays linear', () => {
    const r = new Redactor();
    const secret = 'q'.repeat(15) + 'x' + 'z'.repeat(4096);
    r.add(secret);
    r.add('q'.repeat(8) + 'w'.repeat(4096));
    const text = 'q'.repeat(200_000);
    const started = Date.now();
    // Every position starts a 15-character near-miss of the first secret and an 8-character one of the second.
    expect(r.redact(text) === text).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
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
