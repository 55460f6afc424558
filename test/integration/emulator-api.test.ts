/**
 * Contract tests: drive the emulator over real HTTP (port 0) and validate every answer, successes and each
 * error code, against the OpenAPI document's schemas.
 */
import * as http from 'node:http';
import SwaggerParser from '@apidevtools/swagger-parser';
import { type EmulatorHandle, startEmulator } from '../../src/emulator';
import { PERMISSIONS } from '../../src/permissions';
import { type Agent } from 'undici';
import { ContractChecker, loadOpenApi, newAgent, OPENAPI_FILE, ProjectClient, removeDir, tempStateDir } from './emulator-contract';

let dir: string;
let emulator: EmulatorHandle;
let agent: Agent;
let checker: ContractChecker;
let api: ProjectClient;
let admin: string;
const logLines: string[] = [];

beforeAll(async () => {
  dir = tempStateDir();
  emulator = await startEmulator({ stateDir: dir, port: 0, projects: ['demo', 'other'], log: (l) => logLines.push(l) });
  agent = newAgent();
  checker = await ContractChecker.load();
  api = new ProjectClient(`${emulator.url}/demo/v5`, agent, checker);
  admin = emulator.adminKey('demo');
});

afterAll(async () => {
  await agent?.close();
  await emulator?.close();
  removeDir(dir);
});

describe('the OpenAPI document', () => {
  test('passes swagger-parser validation as OpenAPI 3.1', async () => {
    const api31 = (await SwaggerParser.validate(OPENAPI_FILE)) as { openapi: string };
    expect(api31.openapi).toMatch(/^3\.1\./);
  });

  test('declares the X-Filerobot-Key header scheme and every error code', () => {
    const doc = loadOpenApi();
    expect(doc.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Filerobot-Key' }));
    expect(doc.components.schemas.ErrorCode.enum).toEqual(
      expect.arrayContaining(['INVALID_REQUEST', 'KEY_INVALID', 'KEY_DEACTIVATED', 'PERMISSION_DENIED', 'NOT_FOUND', 'PROJECT_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'INTERNAL', 'UNAVAILABLE']),
    );
    expect(doc.components.schemas.Permission.enum).toEqual([...PERMISSIONS]);
  });
});

describe('successful calls', () => {
  test('GET /keys/self returns the calling key with all 31 permissions for the bootstrap admin', async () => {
    const res = await api.call('GET', '/keys/self', { key: admin });
    expect(res.status).toBe(200);
    expect(res.body.key.permissions).toHaveLength(31);
    expect(res.body.key.secret_preview).toBe(`****${admin.slice(-4)}`);
    expect(JSON.stringify(res.body)).not.toContain(admin);
  });

  test('POST /keys creates a key, answers 201 with its 32-hex secret, and the key can then be read, renamed and copied', async () => {
    const created = await api.call('POST', '/keys', { key: admin, body: { description: '  spaced  ', permissions: ['OBJECTS_LIST', 'ACCESS_READ'] } });
    expect(created.status).toBe(201);
    const { key } = created.body;
    expect(key.secret).toMatch(/^[0-9a-f]{32}$/);
    expect(key.secret_preview).toBe(`****${key.secret.slice(-4)}`);
    expect(key.description).toBe('  spaced  ');
    expect(key.active).toBe(true);

    const read = await api.call('GET', `/keys/${key.uuid}`, { key: admin });
    expect(read.status).toBe(200);
    const { secret: _secret, ...withoutSecret } = key;
    expect(read.body.key).toEqual(withoutSecret);

    const patched = await api.call('PATCH', `/keys/${key.uuid}`, { key: admin, body: { description: 'renamed', permissions: ['LABELS_LIST'] } });
    expect(patched.status).toBe(200);
    expect(patched.body.key).toEqual(expect.objectContaining({ description: 'renamed', permissions: ['LABELS_LIST'], active: true }));

    const secret = await api.call('GET', `/keys/${key.uuid}/secret`, { key: admin });
    expect(secret.status).toBe(200);
    expect(secret.body.secret).toBe(key.secret);

    const self = await api.call('GET', '/keys/self', { key: key.secret });
    expect(self.body.key.uuid).toBe(key.uuid);
  });

  test('two keys may share a description: the server does not enforce uniqueness', async () => {
    const a = await api.call('POST', '/keys', { key: admin, body: { description: 'test', permissions: [] } });
    const b = await api.call('POST', '/keys', { key: admin, body: { description: 'test', permissions: [] } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.key.uuid).not.toBe(b.body.key.uuid);
    expect(b.body.key.created_at > a.body.key.created_at).toBe(true);
  });

  test('POST /keys/status deactivates and reactivates in bulk and counts the keys that changed', async () => {
    const seeded = await emulator.seedKeys('demo', [
      { description: 'bulk-1', permissions: ['OBJECTS_LIST'] },
      { description: 'bulk-2', permissions: ['OBJECTS_LIST'], active: false },
    ]);
    const uuids = seeded.map((s) => s.uuid);
    const off = await api.call('POST', '/keys/status', { key: admin, body: { uuids, active: false } });
    expect(off.status).toBe(200);
    expect(off.body.updated).toBe(1);
    const on = await api.call('POST', '/keys/status', { key: admin, body: { uuids, active: true } });
    expect(on.body.updated).toBe(2);
    for (const uuid of uuids) expect((await api.call('GET', `/keys/${uuid}`, { key: admin })).body.key.active).toBe(true);
  });

  test('GET /keys lists every key in (created_at, uuid) order, honouring limit', async () => {
    const all: any[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await api.call('GET', `/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: admin });
      expect(res.status).toBe(200);
      expect(res.body.keys.length).toBeLessThanOrEqual(2);
      all.push(...res.body.keys);
      cursor = res.body.next_cursor;
    } while (cursor);
    const sorted = [...all].sort((x, y) => (x.created_at === y.created_at ? (x.uuid < y.uuid ? -1 : 1) : x.created_at < y.created_at ? -1 : 1));
    expect(all.map((k) => k.uuid)).toEqual(sorted.map((k) => k.uuid));
    const whole = await api.call('GET', '/keys', { key: admin });
    expect(whole.body.keys.map((k: any) => k.uuid)).toEqual(all.map((k) => k.uuid));
    expect(whole.body.next_cursor).toBeNull();
  });
});

describe('authentication and authorization', () => {
  test('a missing X-Filerobot-Key header answers 401 KEY_INVALID naming the header', async () => {
    const res = await api.call('GET', '/keys/self');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(expect.objectContaining({ status: 'error', code: 'KEY_INVALID' }));
    expect(res.body.msg).toMatch(/X-Filerobot-Key header is missing/);
  });

  test('an unknown key answers 401 KEY_INVALID saying it is not a key of the project', async () => {
    const res = await api.call('GET', '/keys', { key: 'f'.repeat(32) });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('KEY_INVALID');
    expect(res.body.msg).toMatch(/not a key of project "demo"/);
    expect(res.body.msg).not.toContain('f'.repeat(32));
  });

  test('a key of another project is unknown here', async () => {
    const res = await api.call('GET', '/keys/self', { key: emulator.adminKey('other') });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('KEY_INVALID');
  });

  test('a deactivated key answers 403 KEY_DEACTIVATED naming the key', async () => {
    const [k] = await emulator.seedKeys('demo', [{ description: 'sleeping', permissions: ['ACCESS_READ'], active: false }]);
    const res = await api.call('GET', '/keys/self', { key: k!.secret });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('KEY_DEACTIVATED');
    expect(res.body.msg).toContain(k!.uuid);
    expect(res.body.msg).toMatch(/deactivated/);
  });

  test.each([
    ['GET', '/keys', 'ACCESS_READ', []],
    ['POST', '/keys', 'ACCESS_MANAGE', ['ACCESS_READ']],
    ['POST', '/keys/status', 'ACCESS_MANAGE', ['ACCESS_READ']],
  ] as const)('%s %s without %s answers 403 PERMISSION_DENIED naming the permission', async (method, p, needed, perms) => {
    const [k] = await emulator.seedKeys('demo', [{ description: 'weak', permissions: [...perms] }]);
    const res = await api.call(method, p, { key: k!.secret, ...(method === 'POST' ? { body: {} } : {}) });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
    expect(res.body.msg).toContain(needed);
  });

  test('GET /keys/{uuid}, PATCH and GET secret need ACCESS_READ, ACCESS_MANAGE and ACCESS_MANAGE', async () => {
    const [weak] = await emulator.seedKeys('demo', [{ description: 'weak2', permissions: [] }]);
    const [reader] = await emulator.seedKeys('demo', [{ description: 'reader', permissions: ['ACCESS_READ'] }]);
    const target = weak!.uuid;
    expect((await api.call('GET', `/keys/${target}`, { key: weak!.secret })).body.msg).toContain('ACCESS_READ');
    expect((await api.call('PATCH', `/keys/${target}`, { key: reader!.secret, body: { active: false } })).body.msg).toContain('ACCESS_MANAGE');
    const secret = await api.call('GET', `/keys/${target}/secret`, { key: reader!.secret });
    expect(secret.status).toBe(403);
    expect(secret.body.msg).toContain('ACCESS_MANAGE');
    expect((await api.call('GET', '/keys/self', { key: weak!.secret })).status).toBe(200);
  });

  test('an unknown project answers 404 PROJECT_NOT_FOUND', async () => {
    const other = new ProjectClient(`${emulator.url}/nope/v5`, agent, checker);
    const res = await other.call('GET', '/keys', { key: admin });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('PROJECT_NOT_FOUND');
    expect(res.body.msg).toContain('nope');
  });
});

describe('validation', () => {
  const bad: [string, unknown, RegExp][] = [
    ['an unknown permission', { description: 'x', permissions: ['FLY'] }, /permissions\[0\]: unknown permission "FLY"/],
    ['an empty description', { description: '', permissions: [] }, /description must not be empty/],
    ['a description over 255 characters', { description: 'x'.repeat(256), permissions: [] }, /description is 256 characters long; the maximum is 255/],
    ['an unknown field', { description: 'x', permissions: [], colour: 'red' }, /unknown field "colour"/],
    ['no permissions', { description: 'x' }, /permissions is required/],
    ['a non-boolean active', { description: 'x', permissions: [], active: 'yes' }, /active must be true or false/],
  ];
  test.each(bad)('POST /keys with %s answers 400 INVALID_REQUEST naming the field', async (_name, body, msg) => {
    const before = (await api.call('GET', '/keys', { key: admin })).body.keys.length;
    const res = await api.call('POST', '/keys', { key: admin, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
    expect(res.body.msg).toMatch(msg);
    expect((await api.call('GET', '/keys', { key: admin })).body.keys.length).toBe(before);
  });

  test('a description of exactly 255 characters is accepted', async () => {
    const res = await api.call('POST', '/keys', { key: admin, body: { description: 'y'.repeat(255), permissions: [] } });
    expect(res.status).toBe(201);
  });

  test('description length counts code points: 255 emoji are accepted (and kept whole), 256 are refused', async () => {
    const ok = await api.call('POST', '/keys', { key: admin, body: { description: '😀'.repeat(255), permissions: [] } });
    expect(ok.status).toBe(201);
    expect(ok.body.key.description).toBe('😀'.repeat(255));
    const patched = await api.call('PATCH', `/keys/${ok.body.key.uuid}`, { key: admin, body: { description: '🔑'.repeat(255) } });
    expect(patched.status).toBe(200);
    for (const [method, p] of [['POST', '/keys'], ['PATCH', `/keys/${ok.body.key.uuid}`]] as const) {
      const res = await api.call(method, p, { key: admin, body: { description: '😀'.repeat(256), ...(method === 'POST' ? { permissions: [] } : {}) } });
      expect(res.status).toBe(400);
      expect(res.body.msg).toMatch(/description is 256 characters long; the maximum is 255 \(counted in Unicode code points\)/);
    }
  });

  test('a body that is not JSON answers 400', async () => {
    const res = await api.call('POST', '/keys', { key: admin, raw: '{nope', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(/not valid JSON/);
  });

  test.each([
    ['limit=0', /limit must be a whole number from 1 to 100/],
    ['limit=101', /limit must be a whole number from 1 to 100/],
    ['limit=abc', /limit/],
    ['cursor=not-a-cursor', /cursor is not a cursor this server issued/],
    ['order=desc', /unknown query parameter "order"/],
  ])('GET /keys?%s answers 400 naming the parameter', async (query, msg) => {
    const res = await api.call('GET', `/keys?${query}`, { key: admin });
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(msg);
  });

  test('PATCH with an empty body object changes nothing and says so', async () => {
    const res = await api.call('PATCH', `/keys/${(await emulator.seedKeys('demo', [{ description: 'p', permissions: [] }]))[0]!.uuid}`, {
      key: admin,
      body: {},
    });
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(/at least one of description, permissions, active/);
  });

  test('POST /keys/status with more than 100 uuids answers 400 naming the limit', async () => {
    const uuids = Array.from({ length: 101 }, (_, i) => `u-${i}`);
    const res = await api.call('POST', '/keys/status', { key: admin, body: { uuids, active: false } });
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(/uuids has 101 entries; at most 100/);
  });

  test('POST /keys/status is all or nothing: one unknown uuid answers 404 naming it and changes no key', async () => {
    const seeded = await emulator.seedKeys('demo', [
      { description: 'aon-1', permissions: [] },
      { description: 'aon-2', permissions: [] },
    ]);
    const missing = '00000000-0000-4000-8000-000000000000';
    const res = await api.call('POST', '/keys/status', { key: admin, body: { uuids: [seeded[0]!.uuid, missing, seeded[1]!.uuid], active: false } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect(res.body.msg).toContain(missing);
    expect(res.body.msg).toMatch(/nothing was changed/);
    for (const s of seeded) expect((await api.call('GET', `/keys/${s.uuid}`, { key: admin })).body.key.active).toBe(true);
  });

  test.each([
    ['GET', '/keys/00000000-0000-4000-8000-000000000001'],
    ['PATCH', '/keys/00000000-0000-4000-8000-000000000001'],
    ['GET', '/keys/00000000-0000-4000-8000-000000000001/secret'],
  ])('%s %s for an unknown uuid answers 404 NOT_FOUND naming it', async (method, p) => {
    const res = await api.call(method, p, { key: admin, ...(method === 'PATCH' ? { body: { active: false } } : {}) });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect(res.body.msg).toContain('00000000-0000-4000-8000-000000000001');
  });

  test('DELETE is not an endpoint: keys are never deleted', async () => {
    const raw = new ProjectClient(`${emulator.url}/demo/v5`, agent);
    const [k] = await emulator.seedKeys('demo', [{ description: 'keep', permissions: [] }]);
    const res = await raw.call('DELETE', `/keys/${k!.uuid}`, { key: admin });
    expect(res.status).toBe(404);
    expect(res.body.hint).toMatch(/never deleted/);
    expect((await api.call('GET', `/keys/${k!.uuid}`, { key: admin })).status).toBe(200);
  });

  test('a body over 1 MiB answers 413 PAYLOAD_TOO_LARGE and creates nothing', async () => {
    const before = emulator.issuedSecrets().length;
    const huge = { description: 'x', permissions: [], pad: 'z'.repeat(1024 * 1024) };
    const res = await api.call('POST', '/keys', { key: admin, body: huge });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(emulator.issuedSecrets().length).toBe(before);
  });

  test('a declared Content-Length over 1 MiB is answered 413 at once, before any body arrives', async () => {
    const url = new URL(`${emulator.url}/demo/v5/keys`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'X-Filerobot-Key': admin, 'Content-Type': 'application/json', 'Content-Length': String(5_000_000) } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('{');  // and nothing more: the server must not wait for the other 4,999,999 bytes
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('a body just under 1 MiB is read (and refused only for its content)', async () => {
    const body = JSON.stringify({ description: 'x', permissions: [], pad: '' });
    const pad = 1024 * 1024 - body.length;
    const res = await api.call('POST', '/keys', { key: admin, body: { description: 'x', permissions: [], pad: 'z'.repeat(pad) } });
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(/unknown field "pad"/);
  });
});

describe('the document and the server agree on request bodies', () => {
  const cases: [string, string, unknown][] = [
    ['POST', '/keys', { description: 'ok', permissions: ['ACCESS_READ'] }],
    ['POST', '/keys', { description: 'ok', permissions: [], active: false }],
    ['POST', '/keys', { description: '', permissions: [] }],
    ['POST', '/keys', { description: 'x'.repeat(256), permissions: [] }],
    ['POST', '/keys', { description: 'ok', permissions: ['FLY'] }],
    ['POST', '/keys', { description: 'ok' }],
    ['POST', '/keys', { description: 'ok', permissions: [], extra: true }],
    ['PATCH', '/keys/{uuid}', { active: false }],
    ['PATCH', '/keys/{uuid}', {}],
    ['PATCH', '/keys/{uuid}', { description: 'x'.repeat(256) }],
    ['POST', '/keys/status', { uuids: ['{uuid}'], active: true }],
    ['POST', '/keys/status', { uuids: [], active: true }],
    ['POST', '/keys/status', { uuids: ['{uuid}'] }],
    ['POST', '/keys/status', { uuids: Array.from({ length: 101 }, () => '{uuid}'), active: true }],
  ];
  test.each(cases)('%s %s %j: the schema accepts it exactly when the server does', async (method, template, body) => {
    const [target] = await emulator.seedKeys('demo', [{ description: 'agree', permissions: [] }]);
    const fill = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll('{uuid}', target!.uuid));
    const res = await api.call(method, template.replace('{uuid}', target!.uuid), { key: admin, body: fill(body) });
    const schemaSays = checker.requestValidator(method, template)(fill(body));
    expect(res.status < 300).toBe(schemaSays);
  });
});

describe('headers and logs', () => {
  test('every answer, success or error, carries RateLimit-* and a unique X-Request-Id', async () => {
    const answers = await Promise.all([
      api.call('GET', '/keys/self', { key: admin }),
      api.call('GET', '/keys/self'),
      api.call('GET', '/keys?limit=0', { key: admin }),
    ]);
    const ids = answers.map((a) => a.headers['x-request-id']);
    expect(new Set(ids).size).toBe(3);
    for (const a of answers) {
      expect(a.headers['ratelimit-limit']).toMatch(/^\d+$/);
      expect(a.headers['ratelimit-remaining']).toMatch(/^\d+$/);
      expect(a.headers['ratelimit-reset']).toMatch(/^\d+$/);
    }
  });

  test('the log has one line per request (method, path, status, ms, request id) and never a secret', async () => {
    logLines.length = 0;
    const res = await api.call('GET', '/keys/self', { key: admin });
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toBe(`GET /demo/v5/keys/self 200 ${logLines[0]!.split(' ')[3]} ${res.headers['x-request-id']}`);
    expect(logLines[0]).toMatch(/^GET \/demo\/v5\/keys\/self 200 \d+ms [0-9a-f-]{36}$/);
  });

  afterAll(() => {
    const text = logLines.join('\n');
    for (const s of emulator.issuedSecrets()) expect(text).not.toContain(s);
  });
});

describe('contract coverage', () => {
  test('every error code of the contract was produced and validated in this file', () => {
    const statuses = [...checker.seen.keys()].map((k) => k.split(' ').pop());
    for (const status of ['200', '201', '400', '401', '403', '404', '413']) expect(statuses).toContain(status);
  });
});
