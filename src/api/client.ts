/**
 * The undici implementation of `KeysApi` (src/model.ts) and the factory that opens it. `open()` first asks
 * `GET /keys/self` and checks that the key may do what the caller's `access` needs. `read` access gets a
 * read-only client: a class whose only channel to the API can issue GETs of keys and nothing else, so a
 * mutation cannot happen through it whatever the caller does (plan, import). `manage` access gets the managing
 * client (apply, secrets pull). The API layer knows nothing of CLI commands: `purpose` is only a label for messages.
 *
 * `create` is the one call that is not idempotent; see `ManagingKeysApi.create` for how an ambiguous failure
 * (no answer) is resolved by listing instead of blindly retrying.
 */
import { ApiUnreachableError, InsufficientPermissionError, ReadOnlyClientError, ScaleflexApiError } from '../errors';
import type { CreateKeyInput, CreatedKey, KeysApi, LiveKey, UpdateKeyInput } from '../model';
import { redact, secrets } from '../redact';
import { createIdentity, findAdoptable, type AttemptStart } from './adoption';
import { NOT_SENT_ERROR_CODES, fullJitterDelay, type RetryPolicy } from './backoff';
import { MAX_PAGE_SIZE } from '../contract';
import { endpoints, type Endpoints } from './endpoints';
import { NoAnswerError, Transport, apiErrorFrom, apiKeyId, parseJson, type Answer, type ServerClock, type Timeouts, type TransportOptions } from './transport';
import { assertSafeApiUrl } from './url-safety';
import {
  WireShapeError,
  createBody,
  createdFromBody,
  keyFromBody,
  pageFromBody,
  secretFromBody,
  updateBody,
  updatedFromBody,
} from './wire';

/**
 * What a client may do: `read` (list and get keys; the client cannot mutate, by construction) or `manage`
 * (also create, update, change status and read secrets). Decides the permissions the key must hold.
 */
export type ApiAccess = 'read' | 'manage';

interface OpenTarget {
  project: string;
  apiUrl: string;
  apiKey: string;
  /** Where the key came from, for messages: e.g. `SCALEFLEX_API_KEY_DEMO` or `file ./demo.key`. */
  credentialSource: string;
  /**
   * Ask for the first page of keys together with `GET /keys/self` (default true), for a caller that lists next
   * (plan, apply, import); false for one that does not (secrets pull of known uuids), to save the request.
   */
  listAhead?: boolean;
}

export interface OpenOptions extends OpenTarget {
  access: ApiAccess;
  /** What the caller is doing, only for messages (e.g. `apply`: "…lacks ACCESS_MANAGE, which apply needs"). */
  purpose?: string;
}

export interface KeysApiFactoryOptions {
  /** Concurrent requests (connections) per API origin; default 8. */
  parallelism?: number;
  /** One line per request attempt (method, path, status, attempt, ms), already redacted. */
  trace?: (line: string) => void;
  /** Per-attempt timeouts; defaults connect 10 s, headers 30 s, body 30 s, whole attempt 60 s. */
  timeouts?: Partial<Timeouts>;
  /** Retry policy; defaults 10 attempts, backoff 200 ms doubling up to 20 s with full jitter, deadline 120 s. */
  retry?: Partial<RetryPolicy>;
  /** Source of randomness for jitter, [0, 1); tests pass a seeded one. */
  random?: () => number;
  /**
   * The overall deadline of one API call, retries and backoff included (ms); the CLI's `--timeout <seconds>`.
   * No attempt runs past it, and no retry starts that would end after it. Default 120 s (`retry.deadlineMs`).
   */
  deadlineMs?: number;
  /** The largest answer body read (bytes); default 8 MiB. */
  maxResponseBytes?: number;
  /** The most pages one listing follows; default MAX_LIST_PAGES. */
  maxListPages?: number;
}

/**
 * The most pages one listing of a project follows: 10,000 pages is 1,000,000 keys at the contract's 100 per page,
 * ten times the largest project supported (100,000 keys), so only a server that never stops reaches it.
 */
export const MAX_LIST_PAGES = 10_000;

/** Consecutive empty pages that still carry a cursor before a listing is judged endless (the contract sends none). */
export const MAX_EMPTY_PAGES = 10;

/** A client for one project, opened and checked. */
export interface OpenedKeysApi extends KeysApi {
  /** The key the client authenticates with, as `GET /keys/self` reported it when opened. */
  readonly selfKey: LiveKey;
  /** Whether mutations are refused (plan, import). */
  readonly readOnly: boolean;
}

/** The access and message label an `OpenOptions` asks for. */
export function accessOf(opts: OpenOptions): { access: ApiAccess; purpose: string } {
  return { access: opts.access, purpose: opts.purpose ?? defaultPurpose(opts.access) };
}

function defaultPurpose(access: ApiAccess): string {
  return access === 'read' ? 'reading keys' : 'managing keys';
}

/** Which permissions a key needs for an access. */
export function requiredPermissions(access: ApiAccess): readonly string[] {
  return access === 'read' ? ['ACCESS_READ'] : ['ACCESS_READ', 'ACCESS_MANAGE'];
}

/**
 * Checks a self key against an access; returns the error to throw, or undefined when the key will do.
 * `purpose` names what the caller does, in the message (default: "reading keys" / "managing keys").
 */
export function checkSelfKey(self: LiveKey, access: ApiAccess, credentialSource: string, purpose = defaultPurpose(access)): InsufficientPermissionError | undefined {
  if (!self.active) {
    return new InsufficientPermissionError(`the key in ${credentialSource} is deactivated, so ${purpose} cannot use it`, {
      hint: 'activate the key in Scaleflex DAM (Settings > Project > Access > API keys) or use another admin key',
    });
  }
  const held = new Set<string>(self.permissions);
  const missing = requiredPermissions(access).filter((p) => !held.has(p));
  if (missing.length === 0) return undefined;
  return new InsufficientPermissionError(
    `the key in ${credentialSource} lacks ${missing.join(' and ')}, which ${purpose} needs`,
    { hint: `give the key ${missing.join(' and ')} in Scaleflex DAM (Settings > Project > Access > API keys), or use a key that holds ${missing.length === 1 ? 'it' : 'them'}` },
  );
}

/** What a client knows about its project: where, with which key, and what it has seen. */
class ProjectChannel {
  /** Every uuid seen, with the order in which it was first seen (for resolving ambiguous creates). */
  readonly seen = new Map<string, number>();
  private seenCounter = 0;
  /** The newest created_at seen (ms since epoch, the server's clock). */
  newestCreatedAt = Number.NEGATIVE_INFINITY;
  /** The page size to ask for; lowered if the server says its maximum is smaller. */
  pageSize = MAX_PAGE_SIZE;
  /** The most pages a listing follows. */
  maxListPages = MAX_LIST_PAGES;
  readonly ep: Endpoints;
  readonly clock: ServerClock;
  private readonly keyId: string;

  constructor(
    private readonly transport: Transport,
    readonly origin: string,
    private readonly prefix: string,
    private readonly apiKey: string,
    readonly project: string,
    readonly credentialSource: string,
  ) {
    this.ep = endpoints(project);
    this.clock = transport.clock(origin);
    this.keyId = apiKeyId(apiKey);
  }

  get policy(): RetryPolicy {
    return this.transport.policy;
  }

  get random(): () => number {
    return this.transport.random;
  }

  /** Records a key as seen. */
  observe(key: LiveKey): LiveKey {
    if (!this.seen.has(key.uuid)) this.seen.set(key.uuid, ++this.seenCounter);
    const at = Date.parse(key.createdAt);
    if (at > this.newestCreatedAt) this.newestCreatedAt = at;
    return key;
  }

  /** The current position in the seen order: keys seen later have a larger number. */
  get seenMark(): number {
    return this.seenCounter;
  }

  /** Sends a call; returns the answer whatever its status (NoAnswerError when there is none). */
  async send(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body: string | undefined,
    retry: 'idempotent' | 'answered-only',
    companion = false,
  ): Promise<Answer> {
    return this.transport.send({
      origin: this.origin,
      path: this.prefix + path,
      method,
      apiKey: this.apiKey,
      keyId: this.keyId,
      ...(body === undefined ? {} : { body }),
      retry,
      ...(companion ? { companion } : {}),
    });
  }

  /** The JSON body of a 2xx answer; a ScaleflexApiError for any other. */
  expectOk(method: string, path: string, answer: Answer): unknown {
    if (answer.status >= 200 && answer.status < 300) {
      const json = parseJson(answer.text);
      if (json === undefined) throw this.shapeError(method, path, answer, 'the answer is not JSON');
      return json;
    }
    throw this.errorFor(method, path, answer);
  }

  /** The ScaleflexApiError for a failed answer. */
  errorFor(method: string, path: string, answer: Answer): ScaleflexApiError {
    return apiErrorFrom({ method, path: this.prefix + path }, answer, { project: this.project, credentialSource: this.credentialSource });
  }

  /** Parses a 2xx body with `parse`, turning a shape mismatch into a ScaleflexApiError. */
  decode<T>(method: string, path: string, answer: Answer, parse: (body: unknown) => T): T {
    const body = this.expectOk(method, path, answer);
    try {
      return parse(body);
    } catch (e) {
      if (e instanceof WireShapeError) throw this.shapeError(method, path, answer, e.message);
      throw e;
    }
  }

  private shapeError(method: string, path: string, answer: Answer, msg: string): ScaleflexApiError {
    return new ScaleflexApiError({
      status: answer.status,
      apiCode: 'UNEXPECTED_ANSWER',
      msg,
      hint: 'the API URL may point at something that is not the Scaleflex API; check --api-url / SCALEFLEX_API_URL',
      ...(answer.requestId ? { requestId: answer.requestId } : {}),
      method,
      path: (this.prefix + path).split('?')[0]!,
    });
  }

  /** A GET of JSON, retried as idempotent (`companion`: see CallSpec). */
  async get<T>(path: string, parse: (body: unknown) => T, companion = false): Promise<T> {
    return this.decode('GET', path, await this.send('GET', path, undefined, 'idempotent', companion), parse);
  }
}

/** The only thing a read-only client can do with the API: GET keys. */
interface ReadChannel {
  readonly project: string;
  readonly ep: Endpoints;
  pageSize: number;
  readonly maxListPages: number;
  observe(key: LiveKey): LiveKey;
  get<T>(path: string, parse: (body: unknown) => T): Promise<T>;
  send(method: 'GET', path: string, body: undefined, retry: 'idempotent'): Promise<Answer>;
  decode<T>(method: string, path: string, answer: Answer, parse: (body: unknown) => T): T;
}

/** A view of a channel that can only GET (by construction: it holds no way to send anything else). */
function readOnlyView(channel: ProjectChannel): ReadChannel {
  return {
    project: channel.project,
    ep: channel.ep,
    get pageSize() {
      return channel.pageSize;
    },
    set pageSize(n: number) {
      channel.pageSize = n;
    },
    maxListPages: channel.maxListPages,
    observe: (key) => channel.observe(key),
    get: (path, parse) => channel.get(path, parse),
    send: (_method, path) => channel.send('GET', path, undefined, 'idempotent'),
    decode: (method, path, answer, parse) => channel.decode(method, path, answer, parse),
  };
}

/** The calls every client has: self, list, get. */
abstract class KeysApiReader implements OpenedKeysApi {
  abstract readonly readOnly: boolean;
  /** The first page of keys, asked for by `open()` alongside the self check; used once by the first `list()`. */
  private firstPage: { path: string; answer: Promise<Answer> } | undefined;

  /**
   * Hands the client the first page `open()` fetched ahead (see `KeysApiFactory.open`). It is used only by a
   * `list()` that starts right after `open()` resolves (before the event loop turns: no I/O in between), so
   * the page is as fresh as the self check the caller just awaited; after that it is dropped, and a later
   * listing (after keys changed, say) asks the server again.
   */
  adoptFirstPage(path: string, answer: Promise<Answer>): void {
    const page = { path, answer };
    this.firstPage = page;
    setImmediate(() => {
      if (this.firstPage === page) this.firstPage = undefined;
    });
  }

  constructor(
    protected readonly reader: ReadChannel,
    readonly selfKey: LiveKey,
  ) {}

  get project(): string {
    return this.reader.project;
  }

  async self(): Promise<LiveKey> {
    return this.reader.observe(await this.reader.get(this.reader.ep.self, keyFromBody));
  }

  async get(uuid: string): Promise<LiveKey> {
    return this.reader.observe(await this.reader.get(this.reader.ep.key(uuid), keyFromBody));
  }

  /**
   * Every key of the project, following cursors at the largest page size. If the server refuses the page
   * size and names a smaller maximum, the client adopts it (one extra request, once per project).
   */
  async *list(): AsyncIterable<LiveKey> {
    const cursors = new Set<string>();
    let emptyRun = 0;
    let cursor: string | null = null;
    let path = this.reader.ep.listKeys(this.reader.pageSize, cursor);
    const ahead = this.firstPage;
    this.firstPage = undefined;
    let answer = ahead?.path === path ? ahead.answer : this.reader.send('GET', path, undefined, 'idempotent');
    for (let pages = 0; ; pages++) {
      const endless = (msg: string) =>
        new ScaleflexApiError({
          status: 200,
          apiCode: 'LISTING_ENDLESS',
          msg,
          hint: 'the API URL may point at something that is not the Scaleflex API (check --api-url / SCALEFLEX_API_URL); if it is, report the request id to Scaleflex',
          method: 'GET',
          path: path.split('?')[0]!,
        });
      if (pages >= this.reader.maxListPages) {
        throw endless(`the API kept returning cursors: ${pages} pages without an end, more than any project holds`);
      }
      const received = await answer;
      const smaller = received.status === 400 ? smallerPageSize(received.text, this.reader.pageSize) : undefined;
      if (smaller !== undefined) {
        this.reader.pageSize = smaller;
        path = this.reader.ep.listKeys(smaller, cursor);
        answer = this.reader.send('GET', path, undefined, 'idempotent');
        continue;
      }
      const page = this.reader.decode('GET', path, received, pageFromBody);
      // What ends the listing is decided before this page's keys are handed out, so that the next page can be
      // asked for first: cursor pages are a chain of round trips, and the caller's work on these keys (and the
      // client's own) then overlaps the next one instead of lengthening the chain. An error found here is
      // still thrown only after the page's keys, as the pages before it were.
      let stop: ScaleflexApiError | undefined;
      if (page.nextCursor) {
        emptyRun = page.keys.length === 0 ? emptyRun + 1 : 0;
        if (emptyRun >= MAX_EMPTY_PAGES) {
          stop = endless(`the API returned ${emptyRun} empty pages in a row, each with a new cursor, so listing would never end`);
        } else if (cursors.has(page.nextCursor)) {
          stop = new ScaleflexApiError({
            status: received.status,
            apiCode: 'CURSOR_LOOP',
            msg: 'the API returned a cursor it had already returned, so listing would never end',
            method: 'GET',
            path: path.split('?')[0]!,
            ...(received.requestId ? { requestId: received.requestId } : {}),
          });
        } else if (pages + 1 < this.reader.maxListPages) {
          cursors.add(page.nextCursor);
          cursor = page.nextCursor;
          path = this.reader.ep.listKeys(this.reader.pageSize, cursor);
          answer = this.reader.send('GET', path, undefined, 'idempotent');
          // Awaited on the next turn of the loop; a caller that stops iterating early leaves it unread.
          answer.catch(() => undefined);
        }
      }
      for (const key of page.keys) yield this.reader.observe(key);
      if (stop) throw stop;
      if (!page.nextCursor) return;
    }
  }

  abstract create(input: CreateKeyInput): Promise<CreatedKey>;
  abstract update(uuid: string, input: UpdateKeyInput): Promise<LiveKey>;
  abstract setStatus(uuids: readonly string[], active: boolean): Promise<number>;
  abstract getSecret(uuid: string): Promise<string>;
}

/** A 400 about `limit` that names a maximum below the one asked for: that maximum. */
export function smallerPageSize(errorText: string, asked: number): number | undefined {
  const body = parseJson(errorText) as { code?: unknown; msg?: unknown } | undefined;
  if (!body || body.code !== 'INVALID_REQUEST' || typeof body.msg !== 'string' || !/\blimit\b/i.test(body.msg)) return undefined;
  const numbers = (body.msg.match(/\d+/g) ?? []).map(Number).filter((n) => n >= 1 && n < asked);
  return numbers.length ? Math.max(...numbers) : undefined;
}

/** The client `plan` and `import` get: reads only; every mutating call is refused before any I/O. */
export class ReadOnlyKeysApi extends KeysApiReader {
  readonly readOnly = true;

  constructor(
    reader: ReadChannel,
    selfKey: LiveKey,
    private readonly purpose: string,
  ) {
    super(reader, selfKey);
  }

  private refuse(call: string): never {
    throw new ReadOnlyClientError(`${call} refused: ${this.purpose} opened a read-only client for project ${this.project}`, {
      hint: 'only a client opened with manage access (apply, secrets pull) may change keys or read secrets',
    });
  }

  async create(): Promise<CreatedKey> {
    return this.refuse('create');
  }
  async update(): Promise<LiveKey> {
    return this.refuse('update');
  }
  async setStatus(): Promise<number> {
    return this.refuse('setStatus');
  }
  async getSecret(): Promise<string> {
    return this.refuse('getSecret');
  }
}

/** The client `apply` and `secrets pull` get. */
export class ManagingKeysApi extends KeysApiReader {
  readonly readOnly = false;
  /** Creates of the same (description, permissions, active) run one after another; see `create`. */
  private readonly createQueues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly channel: ProjectChannel,
    selfKey: LiveKey,
  ) {
    super(readOnlyView(channel), selfKey);
  }

  async update(uuid: string, input: UpdateKeyInput): Promise<LiveKey> {
    const path = this.channel.ep.key(uuid);
    const answer = await this.channel.send('PATCH', path, updateBody(input), 'idempotent');
    return this.channel.observe(this.channel.decode('PATCH', path, answer, keyFromBody));
  }

  async setStatus(uuids: readonly string[], active: boolean): Promise<number> {
    if (uuids.length === 0) return 0;
    const path = this.channel.ep.keyStatus;
    // Setting a state is idempotent (the second time it changes nothing), so it is retried like a GET.
    const answer = await this.channel.send('POST', path, JSON.stringify({ uuids: [...uuids], active }), 'idempotent');
    return this.channel.decode('POST', path, answer, updatedFromBody);
  }

  async getSecret(uuid: string): Promise<string> {
    const secret = await this.channel.get(this.channel.ep.keySecret(uuid), secretFromBody);
    secrets.add(secret);
    return secret;
  }

  /**
   * Creates a key. `POST /keys` is not idempotent, so only failures that were answered before the server did
   * any work are retried blindly: 429 (the rate limiter answers before the handler runs) and 503 (the service
   * refused the request). A failure with no answer (reset, timeout) or a 500/502/504 (the server or a gateway
   * may have failed after the commit) is ambiguous: the client lists the project and adopts a key with the same
   * description, permissions and active state that it had not seen before the attempt began and that was
   * created after it began, by the server's clock (so client/server clock skew does not matter); only if there
   * is none does it create again. An adopted key's secret is fetched, so the result is the same either way.
   *
   * "Created after the attempt began" is judged by the server's clock only (`./adoption`): the later of the
   * newest `created_at` seen before the attempt and the server's `Date` at the attempt's start, minus a small
   * slack. Creates of identical keys within one client run one at a time, so one cannot adopt the key another
   * is still waiting for.
   */
  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const identity = createIdentity(input);
    const previous = this.createQueues.get(identity) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => this.createResolvingAmbiguity(input));
    this.createQueues.set(identity, mine);
    try {
      return await mine;
    } finally {
      if (this.createQueues.get(identity) === mine) this.createQueues.delete(identity);
    }
  }

  private async createResolvingAmbiguity(input: CreateKeyInput): Promise<CreatedKey> {
    const path = this.channel.ep.createKey;
    const policy = this.channel.policy;
    const startedAt = Date.now();
    let lastProblem = '';
    for (let round = 1; ; round++) {
      const before: AttemptStart = {
        seenMark: this.channel.seenMark,
        newestCreatedAt: this.channel.newestCreatedAt,
        serverTime: this.channel.clock.serverTime(Date.now()),
      };
      let answer: Answer | undefined;
      try {
        answer = await this.channel.send('POST', path, createBody(input), 'answered-only');
      } catch (e) {
        if (!(e instanceof ApiUnreachableError)) throw e;
        // Could not even connect, on every attempt: the server never saw the create, so nothing to look for.
        if (e instanceof NoAnswerError && NOT_SENT_ERROR_CODES.includes(e.networkCode)) throw e;
        lastProblem = e.message;
      }
      if (answer && answer.status >= 200 && answer.status < 300) {
        const created = this.channel.decode('POST', path, answer, createdFromBody);
        secrets.add(created.secret);
        return { key: this.channel.observe(created.key), secret: created.secret };
      }
      if (answer && ![500, 502, 504].includes(answer.status)) {
        throw this.channel.errorFor('POST', path, answer);
      }
      if (answer) lastProblem = `POST ${path} answered ${answer.status}`;
      let adopted: LiveKey | undefined;
      try {
        adopted = await this.findCreatedBy(input, before);
      } catch (e) {
        if (!(e instanceof ScaleflexApiError || e instanceof ApiUnreachableError)) throw e;
        throw new ApiUnreachableError(
          redact(
            `creating key "${input.description}" in project ${this.project}: the create got no clear answer (${lastProblem}), ` +
              `and listing the project to see whether it was made failed too: ${e.message}`,
          ),
          { hint: 'run plan to see whether the key exists; apply again creates only what is still missing' },
        );
      }
      if (adopted) {
        const secret = await this.getSecret(adopted.uuid);
        return { key: adopted, secret };
      }
      const delay = fullJitterDelay(round, policy, this.channel.random);
      if (round >= policy.maxAttempts || Date.now() + delay - startedAt > policy.deadlineMs) {
        throw new ApiUnreachableError(
          redact(
            `creating key "${input.description}" in project ${this.project} failed ${round} times without a clear answer ` +
              `(last: ${lastProblem}); a listing shows that no such key was created`,
          ),
          { hint: 'check that the API is reachable, then run apply again: it will create only what is still missing' },
        );
      }
      await sleep(delay);
    }
  }

  /** The key an ambiguous create made, if it made one (see `create`). */
  private async findCreatedBy(input: CreateKeyInput, start: AttemptStart): Promise<LiveKey | undefined> {
    const listed: { key: LiveKey; firstSeen: number }[] = [];
    for await (const key of this.list()) listed.push({ key, firstSeen: this.channel.seen.get(key.uuid)! });
    return findAdoptable(listed, input, start);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens clients; holds the one undici Agent (a keep-alive Pool per origin) that every project on an origin
 * shares, and the per-key token buckets.
 */
export class KeysApiFactory {
  private readonly transport: Transport;

  constructor(opts: KeysApiFactoryOptions = {}) {
    const transportOpts: TransportOptions = {
      ...(opts.parallelism === undefined ? {} : { parallelism: opts.parallelism }),
      ...(opts.trace ? { trace: opts.trace } : {}),
      ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
      ...(opts.retry || opts.deadlineMs !== undefined
        ? { retry: { ...opts.retry, ...(opts.deadlineMs === undefined ? {} : { deadlineMs: opts.deadlineMs }) } }
        : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.maxResponseBytes === undefined ? {} : { maxResponseBytes: opts.maxResponseBytes }),
    };
    this.transport = new Transport(transportOpts);
    this.maxListPages = opts.maxListPages ?? MAX_LIST_PAGES;
  }

  private readonly maxListPages: number;

  /**
   * Opens a client for one project: checks the URL (https unless loopback), registers the key with the
   * redactor, calls `GET /keys/self` and checks the key is active and holds what the command needs.
   * @throws InsecureUrlError, InsufficientPermissionError, ScaleflexApiError, ApiUnreachableError
   */
  async open(opts: OpenOptions): Promise<OpenedKeysApi> {
    const { access, purpose } = accessOf(opts);
    const url = assertSafeApiUrl(opts.apiUrl);
    secrets.add(opts.apiKey);
    const channel = new ProjectChannel(
      this.transport,
      url.origin,
      url.pathname.replace(/\/+$/, ''),
      opts.apiKey,
      opts.project,
      opts.credentialSource,
    );
    channel.maxListPages = this.maxListPages;
    // The first page of keys is asked for together with the self check, so a plan costs no extra round trip
    // per project. It is a GET of keys, which the key is about to be allowed anyway; if the self check fails,
    // its error is the one thrown and the page is dropped unread.
    const firstPath = channel.ep.listKeys(channel.pageSize, null);
    const firstPage = opts.listAhead === false ? undefined : channel.send('GET', firstPath, undefined, 'idempotent');
    firstPage?.catch(() => undefined);
    let self: LiveKey;
    try {
      // A companion of the first page when that is sent too: the pair costs one round of the origin's parallelism.
      self = channel.observe(await channel.get(channel.ep.self, keyFromBody, firstPage !== undefined));
    } catch (e) {
      throw selfError(e, opts, purpose, url.origin);
    }
    const refused = checkSelfKey(self, access, opts.credentialSource, purpose);
    if (refused) throw refused;
    const api = access === 'read' ? new ReadOnlyKeysApi(readOnlyView(channel), self, purpose) : new ManagingKeysApi(channel, self);
    if (firstPage) api.adoptFirstPage(firstPath, firstPage);
    return api;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Rewrites the errors of the first call so that they name the credential's source and the project. */
function selfError(e: unknown, opts: OpenTarget, purpose: string, origin: string): unknown {
  if (!(e instanceof ScaleflexApiError)) return e;
  const where = `project ${opts.project} at ${origin}`;
  switch (e.apiCode) {
    case 'KEY_INVALID':
      return new ScaleflexApiError({
        ...errorInit(e),
        message: redact(`the key in ${opts.credentialSource} is not a valid key of ${where} (${e.status} KEY_INVALID)`),
        hint: `put the project's admin key in ${opts.credentialSource}: Scaleflex DAM > Settings > Project > Access > API keys`,
      });
    case 'KEY_DEACTIVATED':
      return new InsufficientPermissionError(
        redact(`the key in ${opts.credentialSource} is deactivated (${where}), so ${purpose} cannot use it`),
        { hint: 'activate the key in Scaleflex DAM (Settings > Project > Access > API keys) or use another admin key' },
      );
    case 'PROJECT_NOT_FOUND':
      return new ScaleflexApiError({
        ...errorInit(e),
        message: redact(`there is no project ${opts.project} at ${origin} (${e.status} PROJECT_NOT_FOUND: ${e.msg})`),
        hint: 'check the project token in the manifest and the API URL (--api-url, apiUrl, SCALEFLEX_API_URL)',
      });
    default:
      return e;
  }
}

function errorInit(e: ScaleflexApiError) {
  return {
    status: e.status,
    apiCode: e.apiCode,
    msg: e.msg,
    ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
    method: e.method,
    path: e.path,
  };
}

