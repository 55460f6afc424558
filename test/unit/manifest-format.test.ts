/**
 * Diagnostic output formats (text, json, GitHub annotations) and the "did you mean" suggestions. Pure.
 */
import type { Diagnostic } from '../../src/errors';
import { formatDiagnostics } from '../../src/manifest';
import { nearest } from '../../src/manifest/suggest';

const diags: Diagnostic[] = [
  { file: 'scaleflex-keys.yaml', line: 7, column: 23, severity: 'error', message: 'unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?', path: '/projects/0/keys/0/permissions/0' },
  { file: 'dir,with:odd%name.yaml', line: 2, column: 1, severity: 'warning', message: 'line one\nline two 100%', path: '' },
];

test('text: one `<file>:<line>:<col>: <severity>: <message>` line per diagnostic', () => {
  expect(formatDiagnostics(diags, 'text')).toBe(
    'scaleflex-keys.yaml:7:23: error: unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?\n' +
      'dir,with:odd%name.yaml:2:1: warning: line one\nline two 100%\n',
  );
});

test('json: an array of {file, line, column, severity, message, path}', () => {
  const parsed = JSON.parse(formatDiagnostics(diags, 'json'));
  expect(parsed).toEqual(diags);
  expect(Object.keys(parsed[0])).toEqual(['file', 'line', 'column', 'severity', 'message', 'path']);
  expect(formatDiagnostics([], 'json').trim()).toBe('[]');
});

test('github: workflow commands with escaped properties and data', () => {
  expect(formatDiagnostics(diags, 'github')).toBe(
    '::error file=scaleflex-keys.yaml,line=7,col=23::unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?\n' +
      '::warning file=dir%2Cwith%3Aodd%25name.yaml,line=2,col=1::line one%0Aline two 100%25\n',
  );
  expect(formatDiagnostics([], 'github')).toBe('');
});

describe('nearest valid name', () => {
  const fields = ['version', 'permissionSets', 'projects'];
  const permissions = ['FILE_UPLOAD', 'FILE_DELETE', 'OBJECTS_LIST', 'OBJECTS_FETCH'];
  test.each([
    ['FILE_UPLOD', 'FILE_UPLOAD', permissions],
    ['file_upload', 'FILE_UPLOAD', permissions],
    ['File_Upload', 'FILE_UPLOAD', permissions],
    ['OBJECT_LIST', 'OBJECTS_LIST', permissions],
    ['projcts', 'projects', fields],
    ['Projects', 'projects', fields],
    ['permissionsets', 'permissionSets', fields],
    ['verison', 'version', fields],
    ['EVERYTHING', undefined, permissions],
    ['x', undefined, fields],
    ['teams', undefined, fields],
  ])('%j suggests %j', (input, expected, candidates) => {
    expect(nearest(input, candidates as string[])).toBe(expected);
  });
});
