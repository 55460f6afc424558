/** `whois`'s pure core: preview narrowing, the constant-time compare, stdin decisions, declarations and the manifest edit. */
import type { LiveKey } from '../../src/model';
import { planProject, checkGuards } from '../../src/reconcile';
import { DEFAULT_GUARD_OPTIONS } from '../../src/model';
import {
  declarationOf,
  isProtected,
  manifestEdit,
  MAX_SECRET_LENGTH,
  narrowCandidates,
  parseSecretInput,
  previewTail,
  quarantineSpec,
  sameSecret,
  secretSource,
} from '../../src/reconcile/whois';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

const withPreview = (key: LiveKey, secretPreview: string): LiveKey => ({ ...key, secretPreview });

describe('previewTail', () => {
  test.each([
    { preview: '****a1b2', tail: 'a1b2' },
    { preview: '*a1', tail: 'a1' },
    { preview: 'a1b2', tail: 'a1b2' },
    { preview: '****', tail: undefined },
    { preview: '', tail: undefined },
    { preview: '**a*b2', tail: undefined },
  ])('$preview has the visible tail $tail', ({ preview, tail }) => {
    expect(previewTail(preview)).toBe(tail);
  });
});

describe('narrowCandidates', () => {
  const secret = '0123456789abcdef0123456789ab1234';
  const keys = [
    withPreview(live('u1', 'fits'), '****1234'),
    withPreview(live('u2', 'other tail'), '****9999'),
    withPreview(live('u3', 'fits too'), '****1234'),
    withPreview(live('u4', 'preview without mask'), '1234'),
    withPreview(live('u5', 'unreadable'), '****'),
    withPreview(live('u6', 'same letters, other case'), '****AB12'),
  ];

  test('keeps only keys whose preview ends the secret, plus those whose preview shows nothing', () => {
    const { candidates, unreadablePreviews } = narrowCandidates(secret, keys);
    expect(candidates.map((k) => k.uuid)).toEqual(['u1', 'u3', 'u4', 'u5']);
    expect(unreadablePreviews).toBe(1);
  });

  test('a secret no preview fits has no candidates, so no secret would be fetched', () => {
    expect(narrowCandidates('ffffffff', keys.slice(0, 3)).candidates).toEqual([]);
  });

  test('the comparison of tails is case-sensitive', () => {
    expect(narrowCandidates('xxxxab12', keys).candidates.map((k) => k.uuid)).toEqual(['u5']);
  });
});

describe('sameSecret', () => {
  test.each([
    { a: 'abc', b: 'abc', same: true },
    { a: 'abc', b: 'abd', same: false },
    { a: 'abc', b: 'abcd', same: false },
    { a: '', b: '', same: true },
    { a: 'ABC', b: 'abc', same: false },
  ])('$a vs $b: $same', ({ a, b, same }) => {
    expect(sameSecret(a, b)).toBe(same);
  });
});

describe('secretSource', () => {
  test.each([
    { name: 'a pipe is read', tty: false, prompt: false, kind: 'stdin' },
    { name: 'a terminal without --prompt is refused (it would echo)', tty: true, prompt: false, kind: 'refuse' },
    { name: 'a terminal with --prompt is read without echo', tty: true, prompt: true, kind: 'prompt' },
    { name: '--prompt without a terminal is refused', tty: false, prompt: true, kind: 'refuse' },
  ])('$name', ({ tty, prompt, kind }) => {
    const source = secretSource(tty, prompt);
    expect(source.kind).toBe(kind);
    if (source.kind === 'refuse') expect(source.hint).toMatch(/pipe/);
  });
});

describe('parseSecretInput', () => {
  test.each([
    { name: 'one trailing newline is removed', text: 'abcdef\n', secret: 'abcdef' },
    { name: 'a CRLF is removed', text: 'abcdef\r\n', secret: 'abcdef' },
    { name: 'no newline is fine', text: 'abcdef', secret: 'abcdef' },
  ])('$name', ({ text, secret }) => {
    expect(parseSecretInput(text)).toEqual({ secret });
  });

  test.each([
    { name: 'empty', text: '', problem: /empty/ },
    { name: 'only a newline', text: '\n', problem: /empty/ },
    { name: 'two lines', text: 'abc\ndef\n', problem: /more than one line/ },
    { name: 'too long', text: 'a'.repeat(MAX_SECRET_LENGTH + 1), problem: /more than one secret/ },
  ])('$name input is refused without quoting it', ({ text, problem }) => {
    const r = parseSecretInput(text);
    expect('problem' in r && r.problem).toMatch(problem);
    if ('problem' in r && text.trim()) expect(r.problem).not.toContain(text.trim().slice(0, 8));
  });
});

describe('declarationOf', () => {
  const k1 = live('u1', 'uploader', ['FILE_UPLOAD']);
  const k2 = live('u2', 'stray');

  test('a key an entry matches is declared by that entry', () => {
    const e = entry('uploader', ['FILE_UPLOAD']);
    expect(declarationOf(project([e]), [k1, k2], k1)).toEqual({ kind: 'declared', entry: e });
  });

  test('a key matched through a former description is declared', () => {
    const e = entry('new name', ['FILE_UPLOAD'], { formerDescriptions: ['uploader'] });
    expect(declarationOf(project([e]), [k1], k1)).toEqual({ kind: 'declared', entry: e });
  });

  test('a key no entry matches is undeclared, with the project policy', () => {
    expect(declarationOf(project([entry('uploader', ['FILE_UPLOAD'])], { unmanaged: 'ignore' }), [k1, k2], k2)).toEqual({ kind: 'undeclared', unmanaged: 'ignore' });
  });

  test('without a manifest project there is nothing to say', () => {
    expect(declarationOf(undefined, [k1], k1)).toEqual({ kind: 'no-manifest' });
  });

  test('every candidate of an ambiguity is ambiguous, the oldest too', () => {
    const a = live('a1', 'same', ['OBJECTS_LIST'], true, '2026-01-01T00:00:00.000Z');
    const b = live('a2', 'same', ['FILE_UPLOAD'], true, '2026-02-01T00:00:00.000Z');
    const e = entry('same');
    expect(declarationOf(project([e]), [a, b], a).kind).toBe('ambiguous');
    expect(declarationOf(project([e]), [a, b], b).kind).toBe('ambiguous');
  });

  test('the newer of two exact twins is a duplicate of the kept one', () => {
    const a = live('t1', 'twin', ['OBJECTS_LIST'], true, '2026-01-01T00:00:00.000Z');
    const b = live('t2', 'twin', ['OBJECTS_LIST'], true, '2026-01-01T00:00:10.000Z');
    const e = entry('twin');
    expect(declarationOf(project([e]), [a, b], b)).toEqual({ kind: 'twin', entry: e, kept: a });
    expect(declarationOf(project([e]), [a, b], a)).toEqual({ kind: 'declared', entry: e });
  });
});

describe('manifestEdit', () => {
  const key = live('3f2a9c4e-1111-2222-3333-444455556666', 'CI uploader', ['FILE_UPLOAD']);
  const source = { file: 'scaleflex-keys.yaml', line: 7, column: 9 };

  test('a declared active entry gets active: false, with its file:line:col', () => {
    const edit = manifestEdit('demo', key, { kind: 'declared', entry: entry('CI uploader', ['FILE_UPLOAD'], { source }) });
    expect(edit).toEqual({
      needed: true,
      at: 'scaleflex-keys.yaml:7:9',
      summary: 'set `active: false` on the entry for "CI uploader" in project demo',
      snippet: '      - description: "CI uploader"\n        active: false\n',
    });
  });

  test('an entry already inactive needs nothing', () => {
    const edit = manifestEdit('demo', key, { kind: 'declared', entry: entry('CI uploader', ['FILE_UPLOAD'], { source, active: false }) });
    expect(edit.needed).toBe(false);
    expect(edit.summary).toMatch(/already says active: false/);
  });

  test('an undeclared key under unmanaged: ignore gets an entry pinned by uuid', () => {
    const edit = manifestEdit('demo', { ...key, permissions: ['FILE_UPLOAD', 'NEW_PERMISSION'] }, { kind: 'undeclared', unmanaged: 'ignore' });
    expect(edit.needed).toBe(true);
    expect(edit.snippet).toBe(
      '      - description: "CI uploader"\n' +
        '        uuid: 3f2a9c4e-1111-2222-3333-444455556666\n' +
        '        permissions: [FILE_UPLOAD]  # also holds NEW_PERMISSION (kept as is)\n' +
        '        active: false\n',
    );
  });

  test('an undeclared key under unmanaged: deactivate needs nothing, and says why', () => {
    const edit = manifestEdit('demo', key, { kind: 'undeclared', unmanaged: 'deactivate' });
    expect(edit).toEqual({ needed: false, summary: expect.stringContaining('unmanaged: deactivate') });
  });

  test('a duplicate needs nothing: plans retire it', () => {
    const edit = manifestEdit('demo', key, { kind: 'twin', entry: entry('CI uploader'), kept: live('k', 'CI uploader') });
    expect(edit.needed).toBe(false);
    expect(edit.summary).toMatch(/retire/);
  });

  test('an ambiguous key gets a pinned entry and the advice to pin the other', () => {
    const edit = manifestEdit('demo', key, { kind: 'ambiguous', entry: entry('CI uploader', ['FILE_UPLOAD'], { source }) });
    expect(edit.needed).toBe(true);
    expect(edit.summary).toMatch(/pin/);
    expect(edit.snippet).toContain(`uuid: ${key.uuid}`);
  });

  test('with no manifest, the entry to add elsewhere is shown', () => {
    const edit = manifestEdit('demo', key, { kind: 'no-manifest' });
    expect(edit.needed).toBe(false);
    expect(edit.snippet).toContain('active: false');
  });
});

describe('quarantineSpec, planned and guarded like any change', () => {
  const target = live('u1', 'leaked', ['FILE_UPLOAD', 'OBJECTS_LIST']);
  const other = live('u2', 'bystander');
  const plan = (key: LiveKey, declaration: Parameters<typeof quarantineSpec>[2], keys: LiveKey[] = [ADMIN, target, other]) =>
    planProject({ desired: quarantineSpec('demo', key, declaration), live: keys, selfKey: ADMIN, apiUrl: 'http://api.invalid' });

  test('plans exactly one deactivation, of that key, and nothing else', () => {
    const p = plan(target, { kind: 'undeclared', unmanaged: 'ignore' });
    expect(p.changes.map((c) => [c.kind, 'uuid' in c ? c.uuid : ''])).toEqual([['deactivate', 'u1']]);
    expect(checkGuards(p, { ...DEFAULT_GUARD_OPTIONS, selfUuid: ADMIN.uuid }, [ADMIN, target, other])).toEqual([]);
  });

  test('unknown permissions are left out of the entry and kept by the plan (no update)', () => {
    const odd = { ...target, permissions: [...target.permissions, 'NEW_PERMISSION'] };
    const p = plan(odd, { kind: 'undeclared', unmanaged: 'ignore' }, [ADMIN, odd]);
    expect(p.changes.map((c) => c.kind)).toEqual(['deactivate']);
  });

  test('the key the tool runs with is refused by the self-lockout guard', () => {
    const p = plan(ADMIN, { kind: 'undeclared', unmanaged: 'ignore' });
    expect(checkGuards(p, { ...DEFAULT_GUARD_OPTIONS, selfUuid: ADMIN.uuid }, [ADMIN, target]).map((v) => v.guard)).toContain('self-lockout');
  });

  test('a key a protected entry declares is refused by the protected-key guard', () => {
    const declaration = { kind: 'declared' as const, entry: entry('leaked', ['FILE_UPLOAD', 'OBJECTS_LIST'], { protected: true }) };
    expect(isProtected(declaration)).toBe(true);
    const p = plan(target, declaration);
    expect(checkGuards(p, { ...DEFAULT_GUARD_OPTIONS, selfUuid: ADMIN.uuid }, [ADMIN, target]).map((v) => v.guard)).toEqual(['protected-key']);
  });

  test.each([
    { kind: 'declared' as const, protectedKey: true },
    { kind: 'ambiguous' as const, protectedKey: true },
    { kind: 'twin' as const, protectedKey: false },
  ])('a $kind key whose entry is protected: protected $protectedKey', ({ kind, protectedKey }) => {
    const e = entry('leaked', ['OBJECTS_LIST'], { protected: true });
    const declaration = kind === 'twin' ? { kind, entry: e, kept: other } : { kind, entry: e };
    expect(isProtected(declaration)).toBe(protectedKey);
  });

  test('an inactive key plans nothing', () => {
    const off = { ...target, active: false };
    expect(plan(off, { kind: 'undeclared', unmanaged: 'ignore' }, [ADMIN, off]).changes).toEqual([]);
  });
});
