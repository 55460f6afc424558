/**
 * The manifest's `rotate:` and `expires:`: what they become in the DesiredState (inheritance, parsing) and every
 * invalid form reported at its line and column; `validate`'s warning for a past `expires`.
 */
import { parseManifestText } from '../../src/manifest';
import { pastExpiryWarnings } from '../../src/reconcile/rotation';

const lines = (...ls: string[]) => `${ls.join('\n')}\n`;
const DAY = 86_400_000;

test('rotate is inherited from the project unless the key has its own or pins a uuid; expires becomes an ISO date-time', () => {
  const { state, diagnostics } = parseManifestText(
    lines(
      'version: 1',
      'projects:',
      '  - token: demo',
      '    rotate: { every: 90d, overlap: 7d }',
      '    keys:',
      '      - description: inherits',
      '        permissions: [OBJECTS_LIST]',
      '        expires: 2027-03-01',
      '      - description: own',
      '        permissions: [OBJECTS_LIST]',
      '        rotate: { every: 2w, overlap: 1d }',
      '        expires: 2027-03-01T12:00:00+01:00',
      '      - description: pinned',
      '        permissions: [OBJECTS_LIST]',
      '        uuid: 0b5c3a0e-1111-4222-8333-444455556666',
    ),
    'm.yaml',
  );
  expect(diagnostics).toEqual([]);
  const [inherits, own, pinned] = state!.projects[0]!.keys;
  expect(inherits).toMatchObject({ rotate: { everyMs: 90 * DAY, overlapMs: 7 * DAY, every: '90d', overlap: '7d' }, expires: '2027-03-01T00:00:00.000Z' });
  expect(own).toMatchObject({ rotate: { everyMs: 14 * DAY, overlapMs: DAY }, expires: '2027-03-01T11:00:00.000Z' });
  expect(pinned!.rotate).toBeUndefined();
  expect(state!.projects[0]!.rotate).toMatchObject({ every: '90d' });
});

test.each([
  { name: 'overlap as long as every', key: ['        rotate: { every: 7d, overlap: 7d }'], at: '7:39', words: ['overlap "7d" must be shorter than rotate.every "7d"'] },
  { name: 'rotate on a pinned entry', key: ['        uuid: 0b5c3a0e-1111-4222-8333-444455556666', '        rotate: { every: 90d, overlap: 7d }'], at: '8:17', words: ['pins a uuid and cannot rotate'] },
  { name: 'a date that does not exist', key: ['        expires: 2027-02-30'], at: '7:18', words: ['expires "2027-02-30" is not a date'] },
  { name: 'words for a date', key: ['        expires: next tuesday'], at: '7:18', words: ['is not a date'] },
  { name: 'a duration in hours', key: ['        rotate: { every: 48h, overlap: 1d }'], at: '7:26', words: ['every'] },
  { name: 'a rotate without overlap', key: ['        rotate: { every: 90d }'], at: '7:17', words: ['overlap'] },
])('$name is an error at its line', ({ key, at, words }) => {
  const { state, diagnostics } = parseManifestText(
    lines('version: 1', 'projects:', '  - token: demo', '    keys:', '      - description: ci', '        permissions: [OBJECTS_LIST]', ...key),
    'm.yaml',
  );
  expect(state).toBeUndefined();
  expect(diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column}`)).toEqual([at]);
  for (const w of words) expect(diagnostics[0]!.message).toContain(w);
});

test('a past expires on an active entry is a warning, not an error; an inactive one or a future one says nothing', () => {
  const { state } = parseManifestText(
    lines(
      'version: 1',
      'projects:',
      '  - token: demo',
      '    keys:',
      '      - description: past',
      '        permissions: [OBJECTS_LIST]',
      '        expires: 2020-01-01',
      '      - description: off already',
      '        permissions: [OBJECTS_LIST]',
      '        active: false',
      '        expires: 2020-01-01',
      '      - description: future',
      '        permissions: [OBJECTS_LIST]',
      '        expires: 2999-01-01',
    ),
    'm.yaml',
  );
  const warnings = pastExpiryWarnings(state!, new Date('2026-12-10T00:00:00Z'));
  expect(warnings.map((d) => `${d.line}:${d.column} ${d.severity}`)).toEqual(['5:9 warning']);
  expect(warnings[0]!.message).toContain('key "past" of project "demo" expired at 2020-01-01T00:00:00.000Z');
});
