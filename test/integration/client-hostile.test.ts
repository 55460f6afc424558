/**
 * The client against hostile or broken servers (a small HTTP server on port 0, one behaviour per project token):
 * endless distinct cursors, empty pages that keep handing out cursors, a repeated cursor, a 700 MB body, and a
 * name that does not resolve. Each ends quickly with a clear error, and none is reported as a success.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeysApiFactory, NoAnswerError } from '../../src/api';
import { MAX_LIST_PAGES } from '../../src/api/client';
import { ScaleflexApiError } from '../../src/errors';

const KEY = 'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh';
const wireKey = (n: number) => ({
  uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  description: `k${n}`,
  permissions: ['ACCESS_READ', 'ACCESS_MANAGE'],
  active: true,
  created_at: '2026-01-01T00:00:00Z',
});

let server: http.Server;
let url: string;
const requests = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const [, token] = u.pathname.split('/');
    requests.set(token!, (requests.get(token!) ?? 0) + 1);
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (u.pathname.endsWith('/keys/self')) return json({ key: wireKey(0) });
    const n = Number(u.searchParams.get('cursor') ?? '0');
    switch (token) {
      case 'endless':
        return json({ keys: [wireKey(n + 1)], next_cursor: String(n + 1) });
      case 'empty':
        return json({ keys: [], next_cursor: String(n + 1) });
      case 'repeat':
        return json({ keys: [wireKey(1)], next_cursor: 'same' });
      case 'huge': {
        // 700 MB, streamed: the client must stop reading long before the end.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 700 && res.write(chunk)) sent++;
          if (sent < 700) res.once('drain', pump);
          else res.end();
        };
        res.write('{"keys":[');
        pump();
        res.on('close', () => (sent = 700));
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function listError(factory: KeysApiFactory, project: string): Promise<ScaleflexApiError> {
  const api = await factory.open({ project, apiUrl: url, apiKey: KEY, credentialSource: 'SCALEFLEX_API_KEY', access: 'read', purpose: 'plan' });
  try {
    for await (const _ of api.list()) void _;
  } catch (e) {
    return e as ScaleflexApiError;
  }
  throw new Error('the listing ended as if it were complete');
}

test('a listing follows at most MAX_LIST_PAGES pages, far above 100,000 keys at 100 per page', () => {
  expect(MAX_LIST_PAGES * 100).toBeGreaterThanOrEqual(10 * 100_000);
});

test('endless distinct cursors end at the page bound with a clear error', async () => {
  const factory = new KeysApiFactory({ maxListPages: 50 });
  try {
    const err = await listError(factory, 'endless');
    expect(err).toBeInstanceOf(ScaleflexApiError);
    expect(err.apiCode).toBe('LISTING_ENDLESS');
    expect(err.message).toMatch(/50 pages without an end/);
    expect(requests.get('endless')).toBe(1 + 50);
  } finally {
    await factory.close();
  }
});

test('empty pages that keep handing out cursors end after a few pages', async () => {
  const factory = new KeysApiFactory();
  try {
    const err = await listError(factory, 'empty');
    expect(err.apiCode).toBe('LISTING_ENDLESS');
    expect(err.message).toMatch(/10 empty pages in a row/);
    expect(requests.get('empty')).toBe(1 + 10);
  } finally {
    await factory.close();
  }
});

test('a repeated cursor ends the listing at once', async () => {
  const factory = new KeysApiFactory();
  try {
    const err = await listError(factory, 'repeat');
    expect(err.apiCode).toBe('CURSOR_LOOP');
    expect(requests.get('repeat')).toBe(1 + 2);
  } finally {
    await factory.close();
  }
});

test('a 700 MB body is cut off at 8 MiB with an error that says so, and is not retried', async () => {
  const factory = new KeysApiFactory();
  const before = process.memoryUsage().rss;
  try {
    const started = Date.now();
    const err = await listError(factory, 'huge');
    expect(err).toBeInstanceOf(ScaleflexApiError);
    expect(err.apiCode).toBe('ANSWER_TOO_LARGE');
    expect(err.message).toMatch(/^GET \/huge\/v5\/keys: the answer from http:\/\/127\.0\.0\.1:\d+ \(200\) is larger than 8388608 bytes, so it was not read$/);
    expect(err.hint).toMatch(/--api-url/);
    expect(requests.get('huge')).toBe(1 + 1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  } finally {
    await factory.close();
  }
});

test('a name that does not resolve fails at the first attempt, with a hint naming real settings', async () => {
  const factory = new KeysApiFactory();
  try {
    const started = Date.now();
    let err: unknown;
    try {
      await factory.open({ project: 'demo', apiUrl: 'https://scaleflex-keys-test.invalid', apiKey: KEY, credentialSource: 'SCALEFLEX_API_KEY', access: 'read' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NoAnswerError);
    expect((err as NoAnswerError).attempts).toBe(1);
    expect((err as NoAnswerError).message).toMatch(/after 1 attempt in/);
    expect((err as NoAnswerError).hint).toMatch(/--api-url/);
    expect((err as NoAnswerError).hint).toMatch(/--timeout <seconds>/);
    expect((err as NoAnswerError).hint).not.toMatch(/raise the timeouts/);
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    await factory.close();
  }
});

test('the overall deadline (--timeout) ends a call that would otherwise retry for longer', async () => {
  const stall = http.createServer(() => undefined);
  await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
  const factory = new KeysApiFactory({ deadlineMs: 1_000 });
  try {
    const started = Date.now();
    const err = await factory
      .open({ project: 'demo', apiUrl: `http://127.0.0.1:${(stall.address() as AddressInfo).port}`, apiKey: KEY, credentialSource: 'SCALEFLEX_API_KEY', access: 'read' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoAnswerError);
    expect(Date.now() - started).toBeLessThan(2_500);
  } finally {
    await factory.close();
    stall.closeAllConnections();
    await new Promise((resolve) => stall.close(resolve));
  }
});
