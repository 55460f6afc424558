/**
 * The emulator's HTTP front: `node:http`, one handler per request. Order of work for a request: read the
 * body (1 MiB limit), identify the calling key, count it against the rate limit, maybe inject a fault, add
 * latency, then authenticate, authorize, validate and answer. Mutations are answered only after the journal
 * has made them durable; their authorization is decided again when the journal applies them (`KeyStore.apply`),
 * which makes it linearizable. Logs one line per request; never a secret or the key header.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KEY_HEADER, MAX_REQUEST_BODY_BYTES } from '../contract';
import { encodeCursor } from './cursor';
import { chooseFault, createRandom, type FaultKind, type Latency, latencyFor, type Random } from './faults';
import type { Journal } from './journal';
import { RateLimiter, type RateLimitResult } from './rate-limit';
import {
  ApiFailure,
  matchRoute,
  parseCreateBody,
  parseJsonObject,
  parseListQuery,
  parseStatusBody,
  parseUpdateBody,
  type Route,
} from './requests';
import { type ApplyResult, derivedFields, type KeyRecord, type Mutation, MUTATION_PERMISSION, type StoredKey } from './store';
import { keyToWire, listPageJson } from './wire';

/** Past this much, an oversized body is no longer drained politely: the connection is cut. */
const MAX_DRAIN_BYTES = 64 * MAX_REQUEST_BODY_BYTES;

/** Knobs that can change while the server runs. */
export interface ServerKnobs {
  seed: number;
  latencyMs: Latency | undefined;
  faultRate: number;
  faults: readonly FaultKind[];
  stallMs: number;
  rateLimit: number;
  maxPageSize: number;
  bulkMax: number;
  /** Permissions accepted besides the 31 (test-only). */
  extraPermissions: readonly string[];
}

export interface ServerStats {
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  /**
   * Per route, the total milliseconds spent answering beyond the injected latency (reading the body, the
   * journal's fsync, writing the answer): what the emulator itself adds to every round trip. Benchmarks add it
   * to the latency-only physical limit, so that a client is not charged for the server's own work.
   */
  serviceMs: Record<string, number>;
}

interface Answer {
  status: number;
  /** The JSON body, unless `payload` is given. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The body as sent, when it was serialized ahead (a read answered before its latency has passed, a list page). */
  payload?: Buffer;
}

function serialized(answer: Answer): Answer {
  return answer.payload ? answer : { ...answer, payload: Buffer.from(JSON.stringify(answer.body), 'utf8') };
}

/** A fresh secret: 32 lowercase hex characters from the system CSPRNG. */
export function newSecret(): string {
  return randomBytes(16).toString('hex');
}

/** A new key's record, with a creation time strictly after every earlier one unless one is given. */
export function newKeyRecord(
  journal: Journal,
  input: { description: string; permissions: readonly string[]; active: boolean },
  /** A creation time in the past (test seeding only); default: now, after every earlier one. */
  createdAt: string = journal.store.nextCreatedAt(),
): KeyRecord {
  const secret = newSecret();
  return {
    uuid: randomUUID(),
    description: input.description,
    permissions: [...input.permissions],
    active: input.active,
    created_at: createdAt,
    secret,
    ...derivedFields(createdAt, secret),
  };
}

function deactivated(caller: StoredKey): ApiFailure {
  return new ApiFailure(403, 'KEY_DEACTIVATED', `the key ${caller.uuid} is deactivated`, 'activate it again, or use an active key');
}

function denied(caller: StoredKey, permission: string, routeName: string): ApiFailure {
  return new ApiFailure(
    403,
    'PERMISSION_DENIED',
    `the key ${caller.uuid} lacks the ${permission} permission, which ${routeName} needs`,
    `grant ${permission} to this key, or use the project's admin key`,
  );
}

function errorBody(failure: ApiFailure): Record<string, unknown> {
  return { status: 'error', code: failure.code, msg: failure.msg, ...(failure.hint ? { hint: failure.hint } : {}) };
}

/** What a request without a body reads as. */
const NO_BODY = { aborted: false, tooLarge: false, data: Buffer.alloc(0) };

function readBody(req: http.IncomingMessage): Promise<{ aborted: boolean; tooLarge: boolean; data?: Buffer }> {
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112, section 6.3): it is answered
  // without waiting for the stream's end, and node:http drains the empty stream after the answer has left.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return Promise.resolve(NO_BODY);
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    let tooLarge = declared > MAX_REQUEST_BODY_BYTES;
    // A declared length over the limit is refused at once, without waiting for a body that may never come; the
    // rest is drained (up to a bound) and the connection closed after the 413.
    if (tooLarge) resolve({ aborted: false, tooLarge });
    let size = 0;
    const chunks: Buffer[] = [];
    let done = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
      if (size > MAX_DRAIN_BYTES) req.destroy();
    });
    req.on('end', () => {
      done = true;
      resolve(tooLarge ? { aborted: false, tooLarge } : { aborted: false, tooLarge, data: Buffer.concat(chunks) });
    });
    req.on('close', () => {
      if (!done) resolve({ aborted: true, tooLarge });
    });
    req.on('error', () => undefined);
  });
}

/** The HTTP server over one journal-backed store. */
export class EmulatorServer {
  readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faultRandom: Random;
  private latencyRandom: Random;
  private readonly limiter: RateLimiter;
  private counters: ServerStats = { requests: 0, byRoute: {}, byStatus: {}, faults: {}, serviceMs: {} };
  private closing = false;

  constructor(
    private readonly journal: Journal,
    private readonly knobs: ServerKnobs,
    private readonly log: ((line: string) => void) | undefined,
  ) {
    this.faultRandom = createRandom(knobs.seed);
    this.latencyRandom = createRandom(knobs.seed ^ 0x5bd1e995);
    this.limiter = new RateLimiter(knobs.rateLimit);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.internalError(res, error));
    });
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Starts listening; resolves to the base URL (without a project). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (!address || typeof address === 'string') return reject(new Error('the emulator has no TCP address'));
        const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shownHost}:${address.port}`);
      });
    });
  }

  /** Changes knobs at run time; a new seed restarts both random sequences, a new rate refills every bucket. */
  configure(patch: Partial<ServerKnobs>): void {
    Object.assign(this.knobs, patch);
    if (patch.seed !== undefined) {
      this.faultRandom = createRandom(this.knobs.seed);
      this.latencyRandom = createRandom(this.knobs.seed ^ 0x5bd1e995);
    }
    if (patch.rateLimit !== undefined) this.limiter.configure(patch.rateLimit);
  }

  stats(): ServerStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = { requests: 0, byRoute: {}, byStatus: {}, faults: {}, serviceMs: {} };
  }

  /** Stops listening and cuts every open connection (stalled ones included). */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  private bump(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    let url: URL;
    try {
      url = new URL(rawUrl.startsWith('/') ? `http://emulator.invalid${rawUrl}` : rawUrl);
    } catch {
      url = new URL('http://emulator.invalid/');
    }
    const logPath = url.pathname + url.search;
    const route = matchRoute(method, url.pathname);
    this.counters.requests += 1;
    this.bump(this.counters.byRoute, route.name === 'other' ? 'other' : route.name);

    let delay = 0;
    const finish = (status: string): void => {
      this.bump(this.counters.byStatus, status);
      const key = route.name === 'other' ? 'other' : route.name;
      this.counters.serviceMs[key] = (this.counters.serviceMs[key] ?? 0) + Math.max(0, performance.now() - started - delay);
      this.log?.(`${method} ${logPath} ${status} ${Math.round(performance.now() - started)}ms ${requestId}`);
    };

    const body = await readBody(req);
    if (body.aborted) return finish('aborted');

    const project = route.token === undefined ? undefined : this.journal.store.project(route.token);
    const secret = req.headers[KEY_HEADER];
    const secretText = typeof secret === 'string' ? secret : undefined;
    const caller = project && secretText ? this.journal.store.findBySecret(project.token, secretText) : undefined;
    const limit = this.limiter.take(caller ? `${project!.token}/${caller.uuid}` : 'anonymous');

    const fault = limit.allowed ? chooseFault(this.faultRandom, { rate: this.knobs.faultRate, kinds: this.knobs.faults }, route.mutation) : undefined;
    delay = latencyFor(this.latencyRandom, this.knobs.latencyMs);
    // The latency is the request's whole time on the wire, counted from its arrival, not added after the
    // emulator's own work: a read is answered from the state it arrives to and its answer leaves when the latency
    // has passed; a mutation is applied after it, so that concurrent calls meet in the order a network gives them.
    const early = route.mutation || fault !== undefined ? undefined : this.answer(route, method, url, secretText, caller, body, limit, fault).then(serialized);
    early?.catch(() => undefined); // awaited below, unless the server closes first
    const remaining = started + delay - performance.now();
    if (delay > 0 && remaining > 0) await this.sleep(remaining);
    if (this.closing) return finish('closed');
    if (fault) this.bump(this.counters.faults, fault);

    if (fault === 'reset') {
      this.cut(res);
      return finish('reset');
    }
    if (fault === 'stall') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.cut(res);
      }, this.knobs.stallMs);
      this.timers.add(timer);
      res.socket?.once('close', () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      });
      return finish('stall');
    }

    const answer = await (early ?? this.answer(route, method, url, secretText, caller, body, limit, fault));

    if (fault === 'applied-then-reset') {
      this.cut(res);
      return finish('reset-after-apply');
    }
    this.send(res, answer, requestId, limit);
    finish(String(answer.status));
  }

  /** The answer to a call that was neither cut nor stalled: an injected or rate-limit failure, or the call's own. */
  private async answer(
    route: Route,
    method: string,
    url: URL,
    secretText: string | undefined,
    caller: StoredKey | undefined,
    body: { tooLarge: boolean; data?: Buffer },
    limit: RateLimitResult,
    fault: FaultKind | undefined,
  ): Promise<Answer> {
    let answer: Answer;
    if (!limit.allowed) {
      answer = this.failure(
        new ApiFailure(429, 'RATE_LIMITED', `rate limit of ${limit.limit} requests per second for this key exceeded`, `retry after ${limit.retryAfterSeconds} s`),
        { 'Retry-After': String(limit.retryAfterSeconds) },
      );
    } else if (fault === 'http500') {
      answer = this.failure(new ApiFailure(500, 'INTERNAL', 'internal error (injected by the emulator)', 'retry the request'));
    } else if (fault === 'http503') {
      answer = this.failure(new ApiFailure(503, 'UNAVAILABLE', 'service unavailable (injected by the emulator)', 'retry the request'), {
        'Retry-After': '1',
      });
    } else if (fault === 'http429') {
      answer = this.failure(new ApiFailure(429, 'RATE_LIMITED', 'too many requests (injected by the emulator)', 'retry after 1 s'), {
        'Retry-After': '1',
      });
    } else if (body.tooLarge) {
      answer = this.failure(new ApiFailure(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`));
      answer.headers = { ...answer.headers, Connection: 'close' };
    } else {
      try {
        answer = await this.dispatch(route, method, url, secretText, caller, body.data);
      } catch (error) {
        if (!(error instanceof ApiFailure)) throw error;
        answer = this.failure(error);
      }
    }
    return answer;
  }

  private failure(failure: ApiFailure, headers?: Record<string, string>): Answer {
    return { status: failure.status, body: errorBody(failure), ...(headers ? { headers } : {}) };
  }

  private send(res: http.ServerResponse, answer: Answer, requestId: string, limit: RateLimitResult): void {
    if (res.destroyed || res.writableEnded) return;
    const payload = answer.payload ?? serialized(answer).payload!;
    res.writeHead(answer.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(payload.length),
      'Cache-Control': 'no-store',
      'X-Request-Id': requestId,
      'RateLimit-Limit': String(limit.limit),
      'RateLimit-Remaining': String(limit.remaining),
      'RateLimit-Reset': String(limit.resetSeconds),
      ...answer.headers,
    });
    res.end(payload);
  }

  /** Cuts the connection with a TCP reset, so the client sees ECONNRESET rather than a clean close. */
  private cut(res: http.ServerResponse): void {
    const socket = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
    if (!socket || socket.destroyed) return;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private internalError(res: http.ServerResponse, error: unknown): void {
    this.log?.(`emulator: internal error: ${(error as Error)?.message ?? String(error)}`);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ status: 'error', code: 'INTERNAL', msg: 'internal error in the emulator' });
    res.writeHead(500, {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Request-Id': randomUUID(),
      'RateLimit-Limit': '0',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '0',
    });
    res.end(body);
  }

  private async dispatch(
    route: Route,
    method: string,
    url: URL,
    secret: string | undefined,
    caller: StoredKey | undefined,
    data: Buffer | undefined,
  ): Promise<Answer> {
    const store = this.journal.store;
    if (route.token === undefined) {
      throw new ApiFailure(404, 'NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`, 'the API lives under /{projectToken}/v5/keys');
    }
    const project = store.project(route.token);
    if (!project) {
      throw new ApiFailure(404, 'PROJECT_NOT_FOUND', `no project with token "${route.token}"`, 'check the project token in the URL');
    }
    if (secret === undefined || secret === '') {
      throw new ApiFailure(401, 'KEY_INVALID', 'no API key: the X-Filerobot-Key header is missing', 'send the key in the X-Filerobot-Key header');
    }
    if (!caller) {
      throw new ApiFailure(
        401,
        'KEY_INVALID',
        `the key in X-Filerobot-Key is not a key of project "${project.token}"`,
        'check that the key belongs to this project and was copied whole',
      );
    }
    if (!caller.active) throw deactivated(caller);
    if (!route.known) {
      const hint = method === 'DELETE' ? 'keys are never deleted; deactivate them with POST /keys/status' : undefined;
      throw new ApiFailure(404, 'NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`, hint);
    }
    if (route.permission && !caller.permissions.includes(route.permission)) throw denied(caller, route.permission, route.name);
    // The checks above answer early; for a mutation the deciding check is made again when the journal applies it
    // (KeyStore.apply), in the same synchronous step as the change, because the caller may lose its rights to
    // a mutation that is applied while this one waits for its fsync.
    const commit = async (mutation: Mutation): Promise<ApplyResult> => {
      const result = await this.journal.commit(mutation);
      if (result.refused === 'KEY_DEACTIVATED') throw deactivated(caller);
      if (result.refused === 'PERMISSION_DENIED') throw denied(caller, MUTATION_PERMISSION, route.name);
      return result;
    };
    const mustKey = (uuid: string): StoredKey => {
      const key = project.get(uuid);
      if (!key) throw new ApiFailure(404, 'NOT_FOUND', `no key with uuid "${uuid}" in project "${project.token}"`);
      return key;
    };

    switch (route.name) {
      case 'GET /keys/self':
        return { status: 200, body: { status: 'success', key: keyToWire(caller) } };
      case 'GET /keys': {
        const { limit, after } = parseListQuery(url.searchParams, this.knobs.maxPageSize);
        const page = project.page(after, limit);
        const last = page.keys[page.keys.length - 1];
        return { status: 200, payload: Buffer.from(listPageJson(page.keys, page.more && last ? encodeCursor(last) : null), 'utf8') };
      }
      case 'GET /keys/{uuid}':
        return { status: 200, body: { status: 'success', key: keyToWire(mustKey(route.uuid!)) } };
      case 'GET /keys/{uuid}/secret':
        return { status: 200, body: { status: 'success', secret: mustKey(route.uuid!).secret } };
      case 'POST /keys': {
        const input = parseCreateBody(parseJsonObject(data), this.knobs.extraPermissions);
        const record = newKeyRecord(this.journal, input);
        await commit({ op: 'create', project: project.token, key: record, by: caller.uuid });
        const key = project.get(record.uuid)!;
        return { status: 201, body: { status: 'success', key: { ...keyToWire(key), secret: key.secret } } };
      }
      case 'PATCH /keys/{uuid}': {
        const key = mustKey(route.uuid!);
        const input = parseUpdateBody(parseJsonObject(data), this.knobs.extraPermissions);
        await commit({ op: 'update', project: project.token, uuid: key.uuid, ...input, by: caller.uuid });
        return { status: 200, body: { status: 'success', key: keyToWire(key) } };
      }
      case 'POST /keys/status': {
        const input = parseStatusBody(parseJsonObject(data), this.knobs.bulkMax);
        const unknown = input.uuids.filter((uuid) => !project.get(uuid));
        if (unknown.length > 0) {
          throw new ApiFailure(
            404,
            'NOT_FOUND',
            `no key with uuid ${unknown.slice(0, 5).map((u) => `"${u}"`).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} in project "${project.token}"; nothing was changed`,
          );
        }
        // Committed even when no key would change now: what changes is decided when it is applied, in order.
        const result = await commit({ op: 'status', project: project.token, uuids: input.uuids, active: input.active, by: caller.uuid });
        return { status: 200, body: { status: 'success', updated: result.updated ?? 0 } };
      }
      default:
        throw new ApiFailure(404, 'NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`);
    }
  }
}
