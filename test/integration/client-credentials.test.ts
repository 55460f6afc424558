/**
 * A manifest that names a credential it may not use, or an API origin the operator did not allow, stops the run
 * before any request: a server on port 0 counts the connections it receives, and sees none.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeysApiFactory, assertAllowedApiUrl, resolveCredentials } from '../../src/api';
import { CredentialsError, InsecureUrlError } from '../../src/errors';
import { operatorTrust } from '../../src/trust';

let server: net.Server;
let connections = 0;
let url: string;
let dir: string;
const factory = new KeysApiFactory({ retry: { maxAttempts: 1 } });
const SECRET = 'ssssssssssssssssssssssssssssssss';

beforeAll(async () => {
  server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfk-cred-'));
  fs.writeFileSync(path.join(dir, 'open.key'), `${SECRET}\n`);
  fs.chmodSync(path.join(dir, 'open.key'), 0o644);
  fs.writeFileSync(path.join(dir, 'big.key'), 'k'.repeat(5 * 1024), { mode: 0o600 });
  fs.symlinkSync('/etc/hostname', path.join(dir, 'out.key'));
  fs.mkdirSync(path.join(dir, 'd.key'));
  execFileSync('mkfifo', [path.join(dir, 'fifo.key')]);
});
afterAll(async () => {
  await factory.close();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the CLI does per project: check the manifest's URL, resolve the key, open. */
async function session(project: { apiUrl?: string; credentials: { env?: string; file?: string } }, env: NodeJS.ProcessEnv): Promise<unknown> {
  const trust = operatorTrust(env);
  try {
    const apiUrl = project.apiUrl ?? url;
    if (project.apiUrl) assertAllowedApiUrl(apiUrl, trust, 'manifest.yaml apiUrl');
    const cred = resolveCredentials({ token: 'demo', credentials: project.credentials }, env, dir, trust);
    await factory.open({ project: 'demo', apiUrl, apiKey: cred.apiKey, credentialSource: cred.source, access: 'read', purpose: 'plan' });
  } catch (e) {
    return e;
  }
  throw new Error('opened');
}

test.each([
  { name: 'a 0644 file', credentials: { file: 'open.key' }, error: CredentialsError },
  { name: 'a symlink out of the tree', credentials: { file: 'out.key' }, error: CredentialsError },
  { name: 'a ../ path', credentials: { file: '../x/open.key' }, error: CredentialsError },
  { name: 'a FIFO', credentials: { file: 'fifo.key' }, error: CredentialsError },
  { name: 'a directory', credentials: { file: 'd.key' }, error: CredentialsError },
  { name: 'a 5 KiB file', credentials: { file: 'big.key' }, error: CredentialsError },
  { name: 'a foreign variable name', credentials: { env: 'SOME_CI_TOKEN' }, error: CredentialsError },
  { name: 'an API origin the operator did not allow', apiUrl: 'https://attacker.example', credentials: { env: 'SCALEFLEX_API_KEY_DEMO' }, error: InsecureUrlError },
])('$name stops the run before any connection', async ({ credentials, apiUrl, error }) => {
  const err = await session({ credentials, ...(apiUrl ? { apiUrl } : {}) }, { SOME_CI_TOKEN: SECRET, SCALEFLEX_API_KEY_DEMO: SECRET });
  expect(err).toBeInstanceOf(error);
  expect(String((err as Error).message)).not.toContain(SECRET);
  expect(connections).toBe(0);
});

test('the counting server does count: an allowed credential connects', async () => {
  fs.chmodSync(path.join(dir, 'open.key'), 0o600);
  await session({ credentials: { file: 'open.key' } }, {});
  expect(connections).toBeGreaterThan(0);
});
