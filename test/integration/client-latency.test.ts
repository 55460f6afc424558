/**
 * The self check costs no round trip of its own: `open()` asks for the first page of keys together with
 * `GET /keys/self`, and a `list()` right after it uses that page. A server on port 0 answers every request
 * after a fixed delay and records the order of requests.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeysApiFactory } from '../../src/api';
import { ScaleflexApiError } from '../../src/errors';

const DELAY_MS = 150;
const KEY = 'llllllllllllllllllllllllllllllll';
let server: http.Server;
let url: string;
let log: string[] = [];
let keyCount = 3;
const wireKey = (n: number) => ({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, description: `k${n}`, permissions: ['ACCESS_READ'], active: true, created_at: '2026-01-01T00:00:00Z' });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    log.push(u.pathname);
    // Project "stall": the 6th list request never gets an answer (a hung backend), the others answer quickly.
    if (u.pathname === '/stall/v5/keys' && log.filter((p) => p === u.pathname).length === 6) return;
    setTimeout(() => {
      res.writeHead(req.headers['x-filerobot-key'] === KEY ? 200 : 401, { 'content-type': 'application/json' });
      if (req.headers['x-filerobot-key'] !== KEY) return res.end(JSON.stringify({ status: 'error', code: 'KEY_INVALID', msg: 'unknown key' }));
      if (u.pathname.endsWith('/keys/self')) return res.end(JSON.stringify({ key: wireKey(0) }));
      res.end(JSON.stringify({ keys: Array.from({ length: keyCount }, (_, i) => wireKey(i + 1)), next_cursor: null }));
    }, DELAY_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  log = [];
  keyCount = 3;
});

const open = (factory: KeysApiFactory, apiKey = KEY) =>
  factory.open({ project: 'demo', apiUrl: url, apiKey, credentialSource: 'SCALEFLEX_API_KEY_DEMO', access: 'read', purpose: 'plan' });

test('open and a one-page listing take one round trip, not two', async () => {
  const factory = new KeysApiFactory();
  try {
    // Warm up (connections, lazy module loading), then measure an open as the CLI makes it, per project.
    for await (const _ of (await open(factory)).list()) void _;
    await new Promise((resolve) => setTimeout(resolve, 50));
    log = [];
    const started = Date.now();
    const api = await open(factory);
    const keys = [];
    for await (const k of api.list()) keys.push(k);
    const elapsed = Date.now() - started;
    expect(keys).toHaveLength(3);
    expect(log.sort()).toEqual(['/demo/v5/keys', '/demo/v5/keys/self']);
    expect(elapsed).toBeLessThan(DELAY_MS * 1.8);
  } finally {
    await factory.close();
  }
});

test('a failing self check wins over the page asked for with it, with the same message as before', async () => {
  const factory = new KeysApiFactory();
  try {
    const err = await open(factory, 'w'.repeat(32)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScaleflexApiError);
    expect((err as Error).message).toMatch(/^the key in SCALEFLEX_API_KEY_DEMO is not a valid key of project demo at http:\/\/127\.0\.0\.1:\d+ \(401 KEY_INVALID\)$/);
  } finally {
    await factory.close();
  }
});

test('a listing that starts after other I/O asks the server again instead of using the early page', async () => {
  const factory = new KeysApiFactory();
  try {
    const api = await open(factory);
    keyCount = 5;
    await new Promise((resolve) => setTimeout(resolve, 10));
    const keys = [];
    for await (const k of api.list()) keys.push(k);
    expect(keys).toHaveLength(5);
    expect(log.filter((p) => p === '/demo/v5/keys')).toHaveLength(2);
  } finally {
    await factory.close();
  }
});

test('listAhead: false asks for no page', async () => {
  const factory = new KeysApiFactory();
  try {
    await factory.open({ project: 'demo', apiUrl: url, apiKey: KEY, credentialSource: 'X', access: 'manage', listAhead: false }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 50));
    expect(log).toEqual(['/demo/v5/keys/self']);
  } finally {
    await factory.close();
  }
});

test('a stalled read is asked again after a short timeout learnt from its peers, not the 30 s header timeout', async () => {
  const factory = new KeysApiFactory();
  try {
    const api = await factory.open({ project: 'stall', apiUrl: url, apiKey: KEY, credentialSource: 'X', access: 'read', purpose: 'plan' });
    for (let i = 0; i < 5; i++) for await (const _ of api.list()) void _;
    const started = Date.now();
    const keys = [];
    for await (const k of api.list()) keys.push(k);
    expect(keys).toHaveLength(3);
    expect(log.filter((p) => p === '/stall/v5/keys')).toHaveLength(7);
    // 4 x p95 (~150 ms) then the retry: well under the fixed 30 s.
    expect(Date.now() - started).toBeLessThan(3_000);
  } finally {
    await factory.close();
  }
});
