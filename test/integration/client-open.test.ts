/**
 * Opening a client against the emulator (real HTTP on port 0): the self check and its messages, the
 * read-only client of plan/import, error mapping, retries that run out, and the trace format.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ApiUnreachableError,
  InsecureUrlError,
  InsufficientPermissionError,
  ReadOnlyClientError,
  ScaleflexApiError,
} from '../../src/errors';
import { KeysApiFactory, resolveCredentials, type OpenOptions } from '../../src/api';
import { redact } from '../../src/redact';
import { LeakRecorder, startTestEmulator, type TestEmulator } from './client-harness';

const recorder = new LeakRecorder();
const traces: string[] = [];
let emu: TestEmulator;
let factory: KeysApiFactory;
let readOnlyKey: string;
let noAccessKey: string;
let deactivatedKey: string;

const FAST = {
  timeouts: { connectMs: 1000, headersMs: 200, bodyMs: 200, requestMs: 1000 },
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 10_000 },
};

beforeAll(async () => {
  recorder.start();
  emu = await startTestEmulator({ stallMs: 300 });
  const [ro, none, off] = await emu.handle.seedKeys('demo', [
    { description: 'reader', permissions: ['ACCESS_READ'] },
    { description: 'assets only', permissions: ['OBJECTS_LIST'] },
    { description: 'retired admin', permissions: ['ACCESS_READ', 'ACCESS_MANAGE'], active: false },
  ]);
  readOnlyKey = ro!.secret;
  noAccessKey = none!.secret;
  deactivatedKey = off!.secret;
  factory = new KeysApiFactory({
    ...FAST,
    trace: (line) => {
      traces.push(line);
      recorder.trace(line);
    },
  });
});

afterAll(async () => {
  await factory.close();
  recorder.stop();
  await emu.close();
});

beforeEach(() => emu.handle.configure({ faultRate: 0 }));

type Over = Partial<{ project: string; apiUrl: string; apiKey: string; credentialSource: string; access: 'read' | 'manage'; purpose: string }>;

function opts(over: Over): OpenOptions {
  return {
    project: 'demo',
    apiUrl: emu.handle.url,
    apiKey: emu.handle.adminKey('demo'),
    credentialSource: 'SCALEFLEX_API_KEY_DEMO',
    access: 'manage',
    purpose: 'apply',
    ...over,
  };
}

async function openError(over: Over): Promise<Error> {
  try {
    await factory.open(opts(over));
  } catch (e) {
    return recorder.error(e) as Error;
  }
  throw new Error('open() succeeded');
}

test('a key with ACCESS_READ only opens for plan and import but not for apply or secrets pull', async () => {
  for (const command of ['plan', 'import'] as const) {
    const api = await factory.open(opts({ apiKey: readOnlyKey, access: 'read', purpose: command }));
    expect(api.readOnly).toBe(true);
    expect(api.selfKey.description).toBe('reader');
  }
  for (const command of ['apply', 'secrets pull'] as const) {
    const err = await openError({ apiKey: readOnlyKey, access: 'manage', purpose: command });
    expect(err).toBeInstanceOf(InsufficientPermissionError);
    expect(err.message).toBe(`the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_MANAGE, which ${command} needs`);
  }
});

test('a key without ACCESS_READ is refused even for plan, naming the permission and the command', async () => {
  const err = await openError({ apiKey: noAccessKey, access: 'read', purpose: 'plan', credentialSource: 'file ./demo.key' });
  expect(err).toBeInstanceOf(InsufficientPermissionError);
  expect(err.message).toBe('the key in file ./demo.key lacks ACCESS_READ, which plan needs');
  const apply = await openError({ apiKey: noAccessKey, access: 'manage', purpose: 'apply' });
  expect(apply.message).toBe('the key in SCALEFLEX_API_KEY_DEMO lacks ACCESS_READ and ACCESS_MANAGE, which apply needs');
});

test('a deactivated key is refused with a message naming where the key came from', async () => {
  const err = await openError({ apiKey: deactivatedKey, access: 'read', purpose: 'plan' });
  expect(err).toBeInstanceOf(InsufficientPermissionError);
  expect(err.message).toContain('the key in SCALEFLEX_API_KEY_DEMO is deactivated');
});

test('an unknown key is a KEY_INVALID error naming the credential source, and the key is never shown', async () => {
  const wrong = 'f'.repeat(40);
  const err = await openError({ apiKey: wrong, access: 'read', purpose: 'plan' });
  expect(err).toBeInstanceOf(ScaleflexApiError);
  const api = err as ScaleflexApiError;
  expect(api.status).toBe(401);
  expect(api.apiCode).toBe('KEY_INVALID');
  expect(api.message).toContain('the key in SCALEFLEX_API_KEY_DEMO is not a valid key of project demo');
  expect(api.requestId).toBeTruthy();
  expect(api.method).toBe('GET');
  expect(api.path).toBe('/demo/v5/keys/self');
  expect(JSON.stringify({ ...api, message: api.message })).not.toContain(wrong);
});

test('an unknown project says so', async () => {
  const err = await openError({ project: 'nope', access: 'read', purpose: 'plan' });
  expect(err).toBeInstanceOf(ScaleflexApiError);
  expect((err as ScaleflexApiError).apiCode).toBe('PROJECT_NOT_FOUND');
  expect(err.message).toContain('there is no project nope at');
});

test('plain http to a host that is not loopback is refused before any request', async () => {
  emu.handle.resetStats();
  const err = await openError({ apiUrl: 'http://api.example.com' });
  expect(err).toBeInstanceOf(InsecureUrlError);
  expect(emu.handle.stats().requests).toBe(0);
});

test('the read-only client refuses every mutating call without sending anything', async () => {
  const api = await factory.open(opts({ access: 'read', purpose: 'plan' }));
  emu.handle.resetStats();
  const self = api.selfKey.uuid;
  const attempts: Array<() => Promise<unknown>> = [
    () => api.create({ description: 'x', permissions: ['OBJECTS_LIST'] }),
    () => api.update(self, { description: 'y' }),
    () => api.setStatus([self], false),
    () => api.getSecret(self),
  ];
  for (const attempt of attempts) {
    const err = await attempt().catch((e: unknown) => recorder.error(e));
    expect(err).toBeInstanceOf(ReadOnlyClientError);
    expect((err as Error).message).toContain('plan opened a read-only client for project demo');
  }
  expect(emu.handle.stats().requests).toBe(0);
});

test('an answered API error carries status, code, msg, hint, request id, method and path', async () => {
  const api = await factory.open(opts({}));
  const err = (await api.get('00000000-0000-4000-8000-000000000000').catch((e: unknown) => recorder.error(e))) as ScaleflexApiError;
  expect(err).toBeInstanceOf(ScaleflexApiError);
  expect(err.status).toBe(404);
  expect(err.apiCode).toBe('NOT_FOUND');
  expect(err.msg).toBeTruthy();
  expect(err.hint).toBeTruthy();
  expect(err.requestId).toBeTruthy();
  expect(err.method).toBe('GET');
  expect(err.path).toBe('/demo/v5/keys/00000000-0000-4000-8000-000000000000');
  expect(err.message).toContain('404 NOT_FOUND');
});

test('a create answered with a client error is not retried', async () => {
  const api = await factory.open(opts({}));
  emu.handle.resetStats();
  const err = await api.create({ description: '', permissions: ['OBJECTS_LIST'] }).catch((e: unknown) => recorder.error(e));
  expect(err).toBeInstanceOf(ScaleflexApiError);
  expect((err as ScaleflexApiError).apiCode).toBe('INVALID_REQUEST');
  expect(emu.handle.stats().byRoute).toEqual({ 'POST /keys': 1 });
});

test('a create answered 503 is retried as is, without listing: the server did not commit it', async () => {
  const api = await factory.open(opts({}));
  emu.handle.resetStats();
  emu.handle.configure({ faultRate: 1, faults: ['http503'] });
  const err = await api.create({ description: 'refused', permissions: ['OBJECTS_LIST'] }).catch((e: unknown) => recorder.error(e));
  expect(err).toBeInstanceOf(ScaleflexApiError);
  expect((err as ScaleflexApiError).status).toBe(503);
  expect((err as Error).message).toContain('after 3 attempts');
  expect(emu.handle.stats().byRoute).toEqual({ 'POST /keys': 3 });
}, 15_000);

test('retries stop at the attempt limit: answered 500s become a ScaleflexApiError, resets an ApiUnreachableError', async () => {
  const api = await factory.open(opts({ access: 'read', purpose: 'plan' }));
  emu.handle.configure({ faultRate: 1, faults: ['http500'] });
  emu.handle.resetStats();
  const answered = await api.get(api.selfKey.uuid).catch((e: unknown) => recorder.error(e));
  expect(answered).toBeInstanceOf(ScaleflexApiError);
  expect((answered as ScaleflexApiError).status).toBe(500);
  expect(emu.handle.stats().requests).toBe(3);

  emu.handle.configure({ faultRate: 1, faults: ['reset'] });
  emu.handle.resetStats();
  const silent = await api.self().catch((e: unknown) => recorder.error(e));
  expect(silent).toBeInstanceOf(ApiUnreachableError);
  expect((silent as Error).message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+ after 3 attempts/);
  expect(emu.handle.stats().requests).toBe(3);
});

test('a stalled request times out and is retried, so a read still succeeds', async () => {
  const patient = new KeysApiFactory({
    ...FAST,
    timeouts: { ...FAST.timeouts, requestMs: 250 },
    retry: { ...FAST.retry, maxAttempts: 12 },
    trace: (line) => {
      traces.push(line);
      recorder.trace(line);
    },
  });
  try {
    const api = await patient.open(opts({ access: 'read', purpose: 'plan' }));
    // The server holds a stalled request for 5 s; the client gives an attempt 250 ms (headers 200 ms).
    emu.handle.configure({ faultRate: 0.5, faults: ['stall'], seed: 3, stallMs: 5000 });
    emu.handle.resetStats();
    const started = Date.now();
    for (let i = 0; i < 6; i++) expect((await api.self()).uuid).toBe(api.selfKey.uuid);
    expect(emu.handle.stats().faults.stall ?? 0).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(traces.some((l) => / (UND_ERR_HEADERS_TIMEOUT|SFK_ATTEMPT_DEADLINE) attempt=1 /.test(l))).toBe(true);
  } finally {
    await patient.close();
  }
});

test('creates under resets that did not commit, resets that did, and stalls leave exactly one key each', async () => {
  const api = await factory.open(opts({}));
  emu.handle.configure({ faultRate: 0.3, faults: ['reset', 'applied-then-reset', 'stall'], seed: 11, stallMs: 300 });
  const rich = new KeysApiFactory({ ...FAST, retry: { ...FAST.retry, maxAttempts: 12 }, trace: recorder.trace });
  try {
    const managed = await rich.open(opts({}));
    const made = await Promise.all(
      Array.from({ length: 40 }, (_, i) => managed.create({ description: `mixed ${i}`, permissions: ['LABELS_LIST'] })),
    ).catch((e: unknown) => {
      throw recorder.error(e);
    });
    emu.handle.configure({ faultRate: 0 });
    const live = [];
    for await (const key of api.list()) if (key.description.startsWith('mixed ')) live.push(key);
    expect(live.map((k) => k.description).sort()).toEqual(made.map((m) => m.key.description).sort());
    expect(new Set(live.map((k) => k.uuid))).toEqual(new Set(made.map((m) => m.key.uuid)));
    expect(Object.values(emu.handle.stats().faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
  } finally {
    await rich.close();
  }
}, 30_000);

test('a create that cannot even connect is retried and then fails plainly, without looking for the key', async () => {
  const gone = await startTestEmulator();
  const api = await factory.open(opts({ apiUrl: gone.handle.url, apiKey: gone.handle.adminKey('demo') }));
  await gone.close();
  const err = await api.create({ description: 'never sent', permissions: ['OBJECTS_LIST'] }).catch((e: unknown) => recorder.error(e));
  expect(err).toBeInstanceOf(ApiUnreachableError);
  expect((err as Error).message).toMatch(/^POST \/demo\/v5\/keys: no answer from .* after 3 attempts .*ECONNREFUSED/);
  expect(traces.filter((l) => l.startsWith('GET /demo/v5/keys ') && l.includes('ECONNREFUSED'))).toEqual([]);
});

test('a trace line says method, path, status, attempt and ms, and nothing else', () => {
  expect(traces.length).toBeGreaterThan(10);
  for (const line of traces) {
    expect(line).toMatch(/^(GET|POST|PATCH) \/[A-Za-z0-9/_-]+ ([0-9]{3}|[A-Z_]+) attempt=\d+ \d+ms$/);
  }
});

test('a key read from a file through resolveCredentials opens a client, and is redacted from then on', async () => {
  const file = path.join(emu.dir, 'demo.key');
  fs.writeFileSync(file, `${emu.handle.adminKey('demo')}\n`, { mode: 0o600 });
  const cred = resolveCredentials({ token: 'demo', credentials: { file: 'demo.key' } }, {}, emu.dir);
  expect(cred.source).toBe('file ./demo.key');
  const api = await factory.open(opts({ apiKey: cred.apiKey, credentialSource: cred.source }));
  expect(api.readOnly).toBe(false);
  expect(redact(`key=${cred.apiKey}`)).toBe('key=[REDACTED]');
});

test('nothing written to stdout/stderr, traced or put in an error message contains an issued secret', () => {
  expect(recorder.chunks.length).toBeGreaterThan(0);
  expect(recorder.leaks([...emu.handle.issuedSecrets(), 'f'.repeat(40)])).toEqual([]);
});
