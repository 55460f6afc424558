/**
 * Diagnostic output formats (text, json, GitHub annotations) and the "did you mean" suggestions. Pure.
 */
import type { Diagnostic } from '../../src/errors';
import { formatDiagnostics, parseManifestText } from '../../src/manifest';
import { secrets } from '../../src/redact';
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

describe('structured locations', () => {
  const duplicate = [
    'version: 1',
    'projects:',
    '  - token: demo',
    '    keys:',
    '      - description: test',
    '        permissions: [OBJECTS_LIST]',
    '      - description: test',
    '        permissions: [OBJECTS_LIST]',
    '',
  ].join('\n');

  test('a duplicate carries the first place as `related`, and the text reads as the README shows it', () => {
    const [d] = parseManifestText(duplicate, 'm.yaml').diagnostics;
    expect(d?.related).toEqual([{ file: 'm.yaml', line: 5, column: 22, message: 'first declared here' }]);
    expect(formatDiagnostics([d!], 'text')).toContain('declared at line 5, column 22 and at line 7, column 22;');
  });

  test('json: `related` (and `construct`) appear only when present, after the six fields', () => {
    const [d] = JSON.parse(formatDiagnostics(parseManifestText(duplicate, 'm.yaml').diagnostics, 'json'));
    expect(Object.keys(d)).toEqual(['file', 'line', 'column', 'severity', 'message', 'path', 'related']);
    expect(d.related).toEqual([{ file: 'm.yaml', line: 5, column: 22, message: 'first declared here' }]);
    const withConstruct = { ...diags[0]!, construct: 'stack/demo/a' };
    expect(Object.keys(JSON.parse(formatDiagnostics([withConstruct], 'json'))[0])).toEqual([
      'file', 'line', 'column', 'severity', 'message', 'path', 'construct',
    ]);
  });

  test('text and github name the construct from the structured field', () => {
    const withConstruct: Diagnostic = { ...diags[0]!, construct: 'stack/demo/a' };
    expect(formatDiagnostics([withConstruct], 'text')).toBe(
      'scaleflex-keys.yaml:7:23: error: [stack/demo/a] unknown permission "FILE_UPLOD"; did you mean "FILE_UPLOAD"?\n',
    );
    expect(formatDiagnostics([withConstruct], 'github')).toContain('::[stack/demo/a] unknown permission');
  });
});

describe('secrets are masked in every format', () => {
  const secret = '0123456789abcdef0123456789abcdef';
  const leaky: Diagnostic = { file: 'f', line: 1, column: 1, severity: 'error', message: `Unexpected scalar token ${secret}`, path: '', related: [{ file: 'f', line: 2, column: 1, message: `near ${secret}` }] };
  test.each(['text', 'json', 'github'] as const)('%s', (format) => {
    const out = formatDiagnostics([leaky], format);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  test('a secret the redactor knows is masked even when it is not hex', () => {
    const known = 'not-hex-but-a-registered-secret-value';
    secrets.add(known);
    const out = formatDiagnostics([{ ...leaky, message: `token ${known}` }], 'text');
    expect(out).not.toContain(known);
  });
});
