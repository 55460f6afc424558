/**
 * A rotation's new secret goes where the key's `deliver:` says, like a created key's: `plan` shows the successor's
 * sink on the rotate change (text and JSON), `apply` (scheduled) and `rotate` (on demand) hand the successor's
 * secret — not the retiring key's — to an exec stand-in on stdin, and no `--secrets-out` is needed. The built CLI
 * against the emulator; every byte it printed is scanned for secrets at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callApi, expectNoSecretInOutput, liveKeys, runCli, startTestApi, tempDir, type TestApi } from '../helpers/cli';

let api: TestApi;
let dir: string;
let received: string;
const PERMS = ['FILE_UPLOAD', 'OBJECTS_LIST'];
const OLD = '2026-06-01T00:00:00Z';

beforeAll(async () => {
  api = await startTestApi(['rotdeliv', 'rotcmd']);
  dir = tempDir();
  received = path.join(dir, 'received');
  fs.mkdirSync(received);
  // Stand-in secret store: one file per delivery, named after its argv, holding exactly what came on stdin.
  fs.writeFileSync(
    path.join(dir, 'store.js'),
    `const fs = require('node:fs');\nconst chunks = [];\nprocess.stdin.on('data', (c) => chunks.push(c));\n` +
      `process.stdin.on('end', () => { fs.writeFileSync(${JSON.stringify(received)} + '/' + process.argv.slice(2).join('_') + '-' + process.pid, Buffer.concat(chunks)); });\n`,
  );
});
afterAll(async () => {
  expectNoSecretInOutput(api.handle);
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function manifest(token: string): string {
  const file = `${token}.yaml`;
  fs.writeFileSync(
    path.join(dir, file),
    `version: 1\nprojects:\n  - token: ${token}\n    unmanaged: ignore\n    deliver:\n      - exec: [node, store.js, "{name}"]\n    keys:\n` +
      `      - description: CI uploader\n        permissions: [${PERMS.join(', ')}]\n        rotate: { every: 90d, overlap: 7d }\n`,
  );
  return file;
}

const cli = (token: string, args: string[]) => runCli(args, { env: api.env(token), cwd: dir });
const secretOf = async (token: string, uuid: string) => ((await callApi(api.handle, token, 'GET', `/keys/${uuid}/secret`)) as { secret: string }).secret;

function deliveredTo(name: string): string[] {
  return fs
    .readdirSync(received)
    .filter((f) => f.startsWith(`${name}-`))
    .map((f) => fs.readFileSync(path.join(received, f), 'utf8'));
}

test('a due rotation shows and delivers the successor secret to the key sinks, with no --secrets-out', async () => {
  const [old] = await api.handle.seedKeys('rotdeliv', [{ description: 'CI uploader', permissions: PERMS, createdAt: OLD }] as Parameters<typeof api.handle.seedKeys>[1]);
  const file = manifest('rotdeliv');
  const now = '2026-12-10T12:00:00Z';

  const plan = await cli('rotdeliv', ['plan', '-f', file, '--now', now]);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain('→ exec node store.js SCALEFLEX_KEY_ROTDELIV_CI_UPLOADER (stdin)');
  const json = await cli('rotdeliv', ['plan', '-f', file, '--now', now, '--format', 'json']);
  const rotate = (JSON.parse(json.stdout) as { projects: { changes: { kind: string; deliveries?: unknown }[] }[] }).projects[0]!.changes.find((c) => c.kind === 'rotate');
  expect(rotate?.deliveries).toEqual([{ kind: 'exec', argv: ['node', 'store.js', 'SCALEFLEX_KEY_ROTDELIV_CI_UPLOADER'] }]);

  const applied = await cli('rotdeliv', ['apply', '-f', file, '--now', now, '--auto-approve']);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  const successor = (await liveKeys(api.handle, 'rotdeliv')).find((k) => k.description === 'CI uploader')!;
  expect(successor.uuid).not.toBe(old!.uuid);
  expect(deliveredTo('SCALEFLEX_KEY_ROTDELIV_CI_UPLOADER')).toEqual([await secretOf('rotdeliv', successor.uuid)]);
});

test('rotate on demand delivers the successor secret to the key sinks', async () => {
  await api.handle.seedKeys('rotcmd', [{ description: 'CI uploader', permissions: PERMS }]);
  const file = manifest('rotcmd');
  const rotated = await cli('rotcmd', ['rotate', '-f', file, '--project', 'rotcmd', '--description', 'CI uploader', '--auto-approve']);
  expect(rotated.code).toBe(0);
  const successor = (await liveKeys(api.handle, 'rotcmd')).find((k) => k.description === 'CI uploader')!;
  expect(deliveredTo('SCALEFLEX_KEY_ROTCMD_CI_UPLOADER')).toEqual([await secretOf('rotcmd', successor.uuid)]);
});
