/** Unit tests of the lines apply prints as each change completes (never a secret: events carry none). */
import { eventLine } from '../../src/cli/output';
import type { ApplyEvent, Change } from '../../src/reconcile';

const ref = { uuid: 'u-1', createdAt: '2026-01-01T00:00:00Z', secretPreview: '****abcd' };
const state = (description: string, permissions: string[], active = true) => ({ description, permissions, active }) as never;

const create: Change = { kind: 'create', after: state('CI uploader', ['FILE_UPLOAD']) };
const rename: Change = {
  kind: 'update', ...ref, before: state('old', ['OBJECTS_LIST']), after: state('new', ['OBJECTS_FETCH']),
  permissionsAdded: ['OBJECTS_FETCH'], permissionsRemoved: ['OBJECTS_LIST'],
};
const perms: Change = { ...rename, before: state('same', ['OBJECTS_LIST']), after: state('same', ['OBJECTS_LIST', 'FILE_UPLOAD']), permissionsAdded: ['FILE_UPLOAD'], permissionsRemoved: [] };
const activate: Change = { kind: 'activate', ...ref, before: state('k', [], false), after: state('k', []) };
const unmanaged: Change = { kind: 'deactivate', reason: 'unmanaged', ...ref, before: state('stray', []), after: state('stray', [], false) };
const declared: Change = { ...unmanaged, reason: 'declared-inactive' };

test.each<[string, ApplyEvent, string | undefined]>([
  ['a create with its new uuid', { project: 'p', change: create, status: 'done', uuid: 'new-uuid' }, '  + created "CI uploader" (uuid new-uuid)'],
  ['a rename with its permission diff', { project: 'p', change: rename, status: 'done' }, '  ~ renamed "old" -> "new" (uuid u-1): +OBJECTS_FETCH -OBJECTS_LIST'],
  ['a permission change', { project: 'p', change: perms, status: 'done' }, '  ~ updated "same" (uuid u-1): +FILE_UPLOAD'],
  ['an activation', { project: 'p', change: activate, status: 'done' }, '  ~ activated "k" (uuid u-1)'],
  ['an unmanaged deactivation', { project: 'p', change: unmanaged, status: 'done' }, '  - deactivated "stray" (uuid u-1), not in the manifest'],
  ['a declared deactivation', { project: 'p', change: declared, status: 'done' }, '  - deactivated "stray" (uuid u-1)'],
  ['a failure with its reason', { project: 'p', change: create, status: 'failed', error: new Error('boom') }, '  ! create "CI uploader" failed: boom'],
  ['a skipped change prints nothing (the summary lists it)', { project: 'p', change: activate, status: 'skipped' }, undefined],
])('%s', (_name, event, expected) => {
  expect(eventLine(event)).toBe(expected);
});
